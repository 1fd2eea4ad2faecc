//! Supervising a live chat (contract §9.3) over real WebSockets and HTTP, on SQLite and
//! PostgreSQL: a manager of the chat's queue monitors it, whispers to its analyst, joins and
//! leaves; the whisper never reaches the user by any path (live, resume, `last_seq` in `hello`
//! and HTTP, the HTTP transcript, the call history); nobody else may supervise, and they are
//! answered exactly as for a chat that does not exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use common::ws::WsClient;
use serde_json::{Value, json};
use switchboard::domain::Role;

const QUIET: Duration = Duration::from_millis(400);
const WHISPER: &str = "psst: offer a reboot";

/// A queue `sd` (auto) with analyst alice and manager boss; emma's chat is with alice.
async fn live_chat(app: &TestApp) -> (WsClient, WsClient, WsClient, String, String) {
    app.provision(
        "sd",
        "auto",
        &[("alice", "analyst"), ("boss", "manager")],
        3,
    )
    .await;
    let alice = app.available("alice").await;
    let boss = app.ws(&app.token("boss", Role::Manager)).await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "sd", "subject": "VPN"}))
        .await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    let call_id = started["call_id"].as_str().unwrap().to_string();
    emma.expect("chat_accepted").await;
    (alice, boss, emma, chat_id, call_id)
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames.iter().filter_map(|m| m["seq"].as_i64()).collect()
}

async fn a_whisper_never_reaches_the_user(app: TestApp) {
    let (mut alice, mut boss, mut emma, chat_id, call_id) = live_chat(&app).await;
    alice.expect("chat_assigned").await;
    emma.ok(
        json!({"type": "send", "chat_id": chat_id, "body": "VPN is down", "client_msg_id": "e1"}),
    )
    .await;
    alice.expect("message").await;

    // The manager monitors: the chat and its transcript so far, and nobody is told.
    let monitored = boss
        .ok(json!({"type": "monitor", "chat_id": chat_id}))
        .await;
    assert_eq!(monitored["chat"]["chat_id"], chat_id);
    assert_eq!(seqs(monitored["transcript"].as_array().unwrap()), vec![1]);
    emma.expect_none("participant_joined", QUIET).await;

    // A whisper takes seq 2, stored internal, idempotent; the analyst sees it, the user never.
    let ack = boss
        .ok(json!({"type": "whisper", "chat_id": chat_id, "body": WHISPER, "client_msg_id": "b1"}))
        .await;
    assert_eq!(ack["seq"], 2);
    let again = boss
        .ok(json!({"type": "whisper", "chat_id": chat_id, "body": WHISPER, "client_msg_id": "b1"}))
        .await;
    assert_eq!(again["seq"], 2, "a repeated whisper is stored once");
    let got = alice.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["visibility"].as_str()),
        (Some(2), Some("internal"))
    );
    assert_eq!(got["body"], WHISPER);
    // The analyst whispers back: the monitor sees it.
    alice
        .ok(json!({"type": "whisper", "chat_id": chat_id, "body": "will do", "client_msg_id": "a0"}))
        .await;
    assert_eq!(boss.expect("message").await["seq"], 3);
    // The user's message after it is seq 4 for everyone: the monitor gets it too.
    alice
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "Try a reboot", "client_msg_id": "a1"}))
        .await;
    let visible = emma.expect("message").await;
    assert_eq!(
        (visible["seq"].as_i64(), visible["visibility"].as_str()),
        (Some(4), Some("all"))
    );
    assert_eq!(boss.expect("message").await["seq"], 4);
    alice
        .ok(json!({"type": "typing", "chat_id": chat_id}))
        .await;
    boss.expect("typing").await;
    assert!(
        !emma.inbox.iter().any(|f| f["visibility"] == "internal"),
        "the user received a whisper: {:?}",
        emma.inbox
    );

    // Resume: the user is replayed seq 1 and 4 only and told last_seq 4; staff get everything.
    boss.ok(
        json!({"type": "whisper", "chat_id": chat_id, "body": "one more", "client_msg_id": "b2"}),
    )
    .await;
    alice.expect_where(|f| f["seq"] == 5).await;
    let mut emma2 = app.ws(&app.token("emma", Role::User)).await;
    assert_eq!(
        emma2.hello["chats"][0]["last_seq"], 4,
        "hello: {}",
        emma2.hello
    );
    emma2.inbox.clear();
    let resumed = emma2
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 0}))
        .await;
    assert_eq!(resumed["last_seq"], 4);
    let replayed: Vec<Value> = emma2
        .inbox
        .drain(..)
        .filter(|f| f["type"] == "message")
        .collect();
    assert_eq!(seqs(&replayed), vec![1, 4]);
    let mut boss2 = app.ws(&app.token("boss", Role::Manager)).await;
    assert_eq!(boss2.hello["monitoring"], json!([chat_id]));
    boss2.inbox.clear();
    let resumed = boss2
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 0}))
        .await;
    assert_eq!(resumed["last_seq"], 5);
    let replayed: Vec<Value> = boss2
        .inbox
        .drain(..)
        .filter(|f| f["type"] == "message")
        .collect();
    assert_eq!(
        seqs(&replayed),
        vec![1, 2, 3, 4, 5],
        "monitors resume whispers too"
    );
    boss2.close().await;

    // HTTP: the user's transcript and last_seq leave the whispers out; the analyst's do not.
    let emma_token = app.token("emma", Role::User);
    let (status, detail) = app
        .get(&format!("/api/v1/chats/{chat_id}"), &emma_token)
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(seqs(detail["transcript"].as_array().unwrap()), vec![1, 4]);
    assert_eq!(detail["chat"]["last_seq"], 4);
    let (_, page) = app.get("/api/v1/chats?filter=answered", &emma_token).await;
    assert_eq!(page["chats"][0]["last_seq"], 4, "{page}");
    let (_, detail) = app
        .get(
            &format!("/api/v1/chats/{chat_id}"),
            &app.token("alice", Role::Analyst),
        )
        .await;
    assert_eq!(
        seqs(detail["transcript"].as_array().unwrap()),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(detail["chat"]["last_seq"], 5);

    // Join and leave are announced to everyone in the chat; a joined manager may send.
    boss.ok(json!({"type": "join", "chat_id": chat_id})).await;
    let joined = emma.expect("participant_joined").await;
    assert_eq!(joined["who"], json!({"id": "boss", "name": "Boss Test"}));
    assert_eq!(joined["role"], "manager");
    alice.expect("participant_joined").await;
    boss.ok(
        json!({"type": "send", "chat_id": chat_id, "body": "I'm here too", "client_msg_id": "b3"}),
    )
    .await;
    assert_eq!(emma.expect("message").await["body"], "I'm here too");
    boss.ok(json!({"type": "leave", "chat_id": chat_id})).await;
    assert_eq!(emma.expect("participant_left").await["who"]["id"], "boss");
    boss.fails(
        json!({"type": "send", "chat_id": chat_id, "body": "still here?"}),
        "not_found",
    )
    .await;

    // The end reaches the monitor; the call history as the user reads it has no whisper, nor
    // does the user's resume of the ended chat.
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    boss.expect("chat_closed").await;
    let call = wait_for_history(&app, &call_id, &emma_token).await;
    let contents = call["history"][0]["contents"].as_str().unwrap();
    assert!(contents.contains("Try a reboot"), "{contents}");
    assert!(
        !contents.contains(WHISPER) && !contents.contains("will do"),
        "{contents}"
    );
    emma.inbox.clear();
    let resumed = emma
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 0}))
        .await;
    assert_eq!(
        resumed["last_seq"], 6,
        "seq 6 is the joined manager's message: {resumed}"
    );
    let replayed: Vec<Value> = emma
        .inbox
        .drain(..)
        .filter(|f| f["type"] == "message")
        .collect();
    assert_eq!(seqs(&replayed), vec![1, 4, 6]);
    assert!(
        !emma
            .inbox
            .iter()
            .chain(emma2.inbox.iter())
            .any(|f| f["visibility"] == "internal")
    );

    // As stored: the whispers are internal.
    let stored: Vec<(i64, String)> = app
        .messages(&chat_id)
        .await
        .into_iter()
        .map(|m| (m.seq, m.visibility))
        .collect();
    let internal: Vec<i64> = stored
        .iter()
        .filter(|(_, v)| v == "internal")
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(internal, vec![2, 3, 5], "{stored:?}");
}

async fn wait_for_history(app: &TestApp, call_id: &str, token: &str) -> Value {
    for _ in 0..50 {
        let (status, call) = app.get(&format!("/api/v1/calls/{call_id}"), token).await;
        assert_eq!(status, 200, "{call}");
        if !call["history"].as_array().unwrap().is_empty() {
            return call;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call's history was not written");
}

/// What `frame` says, with the chat id in its message replaced by `X`.
fn shape(frame: &Value, chat_id: &str) -> (String, String) {
    (
        frame["code"].as_str().unwrap_or_default().to_string(),
        frame["message"]
            .as_str()
            .unwrap_or_default()
            .replace(chat_id, "X"),
    )
}

async fn only_managers_of_the_queue_and_admins_supervise(app: TestApp) {
    let (mut alice, _boss, mut emma, chat_id, _) = live_chat(&app).await;
    app.provision(
        "other",
        "auto",
        &[("otherboss", "manager"), ("colleague", "analyst")],
        3,
    )
    .await;
    // A colleague in the chat's own queue, who is not its analyst.
    app.provision("sd", "auto", &[("peer", "analyst")], 3).await;
    alice.expect("chat_assigned").await;
    let missing = uuid::Uuid::now_v7().to_string();
    let outsiders = [
        ("otherboss", Role::Manager),
        ("colleague", Role::Analyst),
        ("peer", Role::Analyst),
        ("emma", Role::User),
    ];
    for (who, role) in outsiders {
        let mut ws = app.ws(&app.token(who, role)).await;
        for kind in ["monitor", "join", "whisper", "unmonitor", "leave"] {
            let cmd = |id: &str| json!({"type": kind, "chat_id": id, "body": WHISPER, "client_msg_id": format!("{who}-{kind}")});
            let real = ws.try_cmd(cmd(&chat_id)).await.unwrap();
            let absent = ws.try_cmd(cmd(&missing)).await.unwrap();
            if role == Role::User && kind != "whisper" {
                // Users may not send staff commands at all.
                assert_eq!(
                    real["code"], absent["code"],
                    "{who} {kind}: {real} / {absent}"
                );
                continue;
            }
            assert_eq!(real["type"], "error", "{who} {kind}: {real}");
            assert_eq!(
                shape(&real, &chat_id),
                shape(&absent, &missing),
                "{who} {kind} must look like a missing chat"
            );
            if role != Role::User {
                assert_eq!(real["code"], "not_found", "{who} {kind}: {real}");
            }
        }
        ws.close().await;
    }
    emma.expect_none("participant_joined", QUIET).await;
    alice.expect_none("message", QUIET).await;
    assert!(
        app.messages(&chat_id).await.is_empty(),
        "nothing was stored"
    );

    // An admin may.
    let mut admin = app.ws(&app.admin()).await;
    admin
        .ok(json!({"type": "monitor", "chat_id": chat_id}))
        .await;
    admin
        .ok(json!({"type": "whisper", "chat_id": chat_id, "body": "admin here", "client_msg_id": "ad1"}))
        .await;
    assert_eq!(alice.expect("message").await["visibility"], "internal");
    admin.ok(json!({"type": "join", "chat_id": chat_id})).await;
    assert_eq!(emma.expect("participant_joined").await["role"], "admin");
    emma.expect_none("message", QUIET).await;
}

on_both_databases!(
    a_whisper_never_reaches_the_user,
    only_managers_of_the_queue_and_admins_supervise,
);
