//! Nothing acknowledged is lost, across a crash and across a graceful restart, with the real
//! binary as a child process: `kill -9` while many chats send, then every message a client saw
//! acked is stored exactly once, in seq order with no gaps; SIGTERM closes sockets with 1012 and
//! exits cleanly, and the restarted engine has the waiting chats in their order and the active
//! chat with its analyst and its whole transcript. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::process::ServerProcess;
use common::ws::WsClient;
use common::{Db, TestApp, TestDb};
use futures_util::future::join_all;
use serde_json::json;
use switchboard::domain::Role;

const USERS: usize = 8;

/// Sends messages one after another until the connection dies or the server refuses one
/// (`unavailable` while it stops); returns the (client_msg_id, seq) acked and the id in flight.
async fn chatter(
    ws: &mut WsClient,
    chat_id: &str,
    user: usize,
) -> (Vec<(String, i64)>, Option<String>) {
    let mut acked = Vec::new();
    for i in 0.. {
        let client_msg_id = format!("u{user}-{i}");
        let send = json!({"type": "send", "chat_id": chat_id, "body": format!("message {i}"), "client_msg_id": client_msg_id});
        match ws.try_cmd(send).await {
            Some(reply) if reply["type"] == "ok" => {
                acked.push((client_msg_id, reply["seq"].as_i64().unwrap()))
            }
            Some(reply) if reply["code"] == "unavailable" => return (acked, Some(client_msg_id)),
            Some(reply) => panic!("send refused: {reply}"),
            None => return (acked, Some(client_msg_id)),
        }
    }
    unreachable!()
}

async fn kill_9_loses_no_acked_message(kind: Db) {
    let db = TestDb::create(kind).await.unwrap();
    let url = db.url.clone();
    let mut server = ServerProcess::start(&url, &[]);
    let mut app = TestApp::attach(db, kind, &server.base).await;
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst")],
        USERS as i32,
    )
    .await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut users = Vec::new();
    for u in 0..USERS {
        let mut ws = app.ws(&app.token(&format!("user{u}"), Role::User)).await;
        let ok = ws
            .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
            .await;
        users.push((ws, ok["chat_id"].as_str().unwrap().to_string()));
    }

    let senders = join_all(
        users
            .iter_mut()
            .enumerate()
            .map(|(u, (ws, chat))| chatter(ws, chat, u)),
    );
    let killer = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.kill_9();
    };
    let (logs, ()) = tokio::join!(senders, killer);
    assert!(
        logs.iter().all(|(acked, _)| !acked.is_empty()),
        "every client got acks before the crash"
    );

    let restarted = ServerProcess::start(&url, &[]);
    app.repoint(&restarted.base);
    for (u, ((acked, in_flight), (_, chat_id))) in logs.iter().zip(&users).enumerate() {
        let rows = app.messages(chat_id).await;
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(
            seqs,
            (1..=rows.len() as i64).collect::<Vec<_>>(),
            "user {u}: seqs 1..n, no gap, no repeat"
        );
        let by_id: HashMap<&str, i64> = rows
            .iter()
            .filter_map(|r| Some((r.client_msg_id.as_deref()?, r.seq)))
            .collect();
        assert_eq!(
            by_id.len(),
            rows.len(),
            "user {u}: each client_msg_id stored once"
        );
        for (client_msg_id, seq) in acked {
            assert_eq!(
                by_id.get(client_msg_id.as_str()),
                Some(seq),
                "user {u}: acked {client_msg_id} stored as seq {seq}"
            );
        }
        // Nothing is stored that was never sent: at most the acked ones and the one in flight.
        assert!(
            rows.len() <= acked.len() + usize::from(in_flight.is_some()),
            "user {u}: {} stored, {} acked, in flight {in_flight:?}",
            rows.len(),
            acked.len()
        );
        assert!(
            by_id
                .keys()
                .all(|id| in_flight.as_deref() == Some(*id) || acked.iter().any(|(a, _)| a == id)),
            "user {u}: every stored message was acked or in flight"
        );
        // The message in flight at the crash may or may not have landed; sending it again
        // after the restart stores it exactly once.
        let mut ws = app.ws(&app.token(&format!("user{u}"), Role::User)).await;
        let resend = json!({"type": "send", "chat_id": chat_id, "body": "again", "client_msg_id": in_flight.clone().unwrap()});
        let first = ws.ok(resend.clone()).await;
        assert_eq!(ws.ok(resend).await["seq"], first["seq"]);
        // A message acked before the crash, sent again: the restarted chat knows its id.
        let (early_id, early_seq) = &acked[0];
        let again =
            json!({"type": "send", "chat_id": chat_id, "body": "again", "client_msg_id": early_id});
        assert_eq!(
            ws.ok(again).await["seq"],
            *early_seq,
            "user {u}: repeat of {early_id}"
        );
        let rows = app.messages(chat_id).await;
        assert_eq!(
            rows.iter()
                .filter(|r| r.client_msg_id == *in_flight)
                .count(),
            1
        );
        let ids: HashSet<_> = rows.iter().map(|r| r.client_msg_id.clone()).collect();
        assert_eq!(ids.len(), rows.len(), "user {u}: every id stored once");
    }
}

async fn sigterm_then_restart_keeps_queue_order_and_transcripts(kind: Db) {
    let db = TestDb::create(kind).await.unwrap();
    let url = db.url.clone();
    let long_grace = [("ROUTING__RECONNECT_GRACE_SECS", "60")];
    let mut server = ServerProcess::start(&url, &long_grace);
    let mut app = TestApp::attach(db, kind, &server.base).await;
    app.provision("access", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut users = Vec::new();
    for name in ["first", "second", "third"] {
        let mut ws = app.ws(&app.token(name, Role::User)).await;
        let ok = ws
            .ok(json!({"type": "start_chat", "queue_id": "access"}))
            .await;
        users.push((ws, ok["chat_id"].as_str().unwrap().to_string()));
    }
    let active = users[0].1.clone();
    alice.ok(json!({"type": "accept", "chat_id": active})).await;
    for i in 1..=3 {
        users[0]
            .0
            .ok(json!({"type": "send", "chat_id": active, "body": format!("before {i}")}))
            .await;
    }

    // SIGTERM while every user is still sending: whatever was acked is stored.
    let senders = join_all(
        users
            .iter_mut()
            .enumerate()
            .map(|(u, (ws, chat))| chatter(ws, chat, u)),
    );
    let stop = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.send_sigterm();
        server.exited().await
    };
    let (logs, status) = tokio::join!(senders, stop);
    assert!(status.success(), "clean exit: {status:?}");
    assert!(
        logs.iter()
            .all(|(acked, in_flight)| !acked.is_empty() && in_flight.is_some()),
        "every user was still sending when SIGTERM came: {logs:?}"
    );
    assert_eq!(alice.closed_with().await, Some(1012));
    assert_eq!(users[1].0.closed_with().await, Some(1012));

    let restarted = ServerProcess::start(&url, &long_grace);
    app.repoint(&restarted.base);
    for (u, ((acked, in_flight), (_, chat_id))) in logs.iter().zip(&users).enumerate() {
        let rows = app.messages(chat_id).await;
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());
        let by_id: HashMap<&str, i64> = rows
            .iter()
            .filter_map(|r| Some((r.client_msg_id.as_deref()?, r.seq)))
            .collect();
        for (client_msg_id, seq) in acked {
            assert_eq!(
                by_id.get(client_msg_id.as_str()),
                Some(seq),
                "user {u}: acked {client_msg_id} stored as seq {seq}"
            );
        }
        assert!(
            by_id.len() <= acked.len() + 1,
            "user {u}: {} stored, {} acked, in flight {in_flight:?}",
            by_id.len(),
            acked.len()
        );
    }
    let transcript = app.messages(&active).await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    assert_eq!(
        alice.hello["analyst"]["status"], "available",
        "back within grace: status kept"
    );
    assert_eq!(alice.hello["chats"][0]["chat_id"], active);
    assert_eq!(alice.hello["chats"][0]["last_seq"], transcript.len());
    let queued: Vec<String> = vec![
        alice.expect("chat_queued").await["chat"]["chat_id"]
            .as_str()
            .unwrap()
            .to_string(),
        alice.expect("chat_queued").await["chat"]["chat_id"]
            .as_str()
            .unwrap()
            .to_string(),
    ];
    assert_eq!(
        queued,
        [users[1].1.clone(), users[2].1.clone()],
        "waiting chats keep their order"
    );
    for (i, name) in ["second", "third"].iter().enumerate() {
        let ws = app.ws(&app.token(name, Role::User)).await;
        assert_eq!(ws.hello["chats"][0]["position"], i + 1);
    }
    let mut first = app.ws(&app.token("first", Role::User)).await;
    first
        .ok(json!({"type": "resume", "chat_id": active, "after_seq": 0}))
        .await;
    let bodies: Vec<String> = first
        .inbox
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["body"].as_str().unwrap().to_string())
        .collect();
    let stored: Vec<&str> = transcript.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, stored);
    assert_eq!(&bodies[..3], ["before 1", "before 2", "before 3"]);
    first
        .ok(json!({"type": "send", "chat_id": active, "body": "after"}))
        .await;
    let got = alice.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["body"].as_str()),
        (Some(transcript.len() as i64 + 1), Some("after"))
    );
}

for_each_database!(
    kill_9_loses_no_acked_message,
    sigterm_then_restart_keeps_queue_order_and_transcripts,
);
