//! The routing engine end to end over real WebSockets (contract §3 and §4): users start chats,
//! routing hands them out (auto, offer, manual), analyst and user talk, chats close, and the
//! transcript lands in the call's history. Every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TestApp;
use common::ws::WsClient;
use entities::chats;
use futures_util::future::join_all;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use switchboard::domain::Role;

async fn analyst(app: &TestApp, id: &str, available: bool) -> WsClient {
    let mut ws = app.ws(&app.token(id, Role::Analyst)).await;
    if available {
        ws.ok(json!({"type": "set_status", "status": "available"}))
            .await;
        ws.expect("status_changed").await;
    }
    ws
}

async fn user(app: &TestApp, id: &str) -> WsClient {
    app.ws(&app.token(id, Role::User)).await
}

/// Starts a chat and returns its ok frame.
async fn start(ws: &mut WsClient, queue: &str) -> Value {
    ws.ok(json!({"type": "start_chat", "queue_id": queue, "subject": "Printer on fire"}))
        .await
}

async fn auto_routed_conversation_lands_in_call_history(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut emma = user(&app, "emma").await;
    assert_eq!(emma.hello["role"], "user");
    assert_eq!(emma.hello["chats"], json!([]));

    let started = start(&mut emma, "service-desk").await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    let call_id = started["call_id"].as_str().unwrap().to_string();
    assert_eq!(started["position"], Value::Null, "answered at once");

    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], chat_id);
    assert_eq!(assigned["chat"]["state"], "active");
    assert_eq!(
        assigned["chat"]["user"],
        json!({"id": "emma", "name": "Emma Test"})
    );
    let accepted = emma.expect("chat_accepted").await;
    assert_eq!(
        accepted["analyst"],
        json!({"id": "alice", "name": "Alice Test"})
    );

    let ack = emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "My printer is on fire", "client_msg_id": "e1"})).await;
    assert_eq!(ack["seq"], 1);
    let got = alice.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["body"].as_str()),
        (Some(1), Some("My printer is on fire"))
    );
    assert_eq!(
        got["from"],
        json!({"role": "user", "id": "emma", "name": "Emma Test"})
    );
    let ack = alice.ok(json!({"type": "send", "chat_id": chat_id, "body": "Step away from the printer", "client_msg_id": "a1"})).await;
    assert_eq!(ack["seq"], 2);
    assert_eq!(
        emma.expect("message").await["body"],
        "Step away from the printer"
    );

    alice
        .ok(json!({"type": "typing", "chat_id": chat_id}))
        .await;
    let typing = emma.expect("typing").await;
    assert_eq!(typing["from"], json!({"id": "alice", "name": "Alice Test"}));

    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    let closed = emma.expect("chat_closed").await;
    assert_eq!(closed["reason"], "closed_by_analyst");
    assert_eq!(closed["by"]["id"], "alice");
    alice.expect("chat_closed").await;
    emma.fails(
        json!({"type": "send", "chat_id": chat_id, "body": "hello?"}),
        "conflict",
    )
    .await;

    // The chat, its messages and the call's history, as stored.
    let row = chats::Entity::find_by_id(chat_id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.state.as_str(), row.end_reason.as_deref()),
        ("closed", Some("closed_by_analyst"))
    );
    assert_eq!(app.messages(&chat_id).await.len(), 2);
    let admin = app.admin();
    let call = wait_for_history(&app, &call_id, 1).await;
    assert_eq!(call["source"], "Chat");
    assert!(
        !call["first_contact_at"].is_null(),
        "accepting records first contact: {call}"
    );
    common::assert_rfc3339_ms(&call["first_contact_at"]);
    let entry = &call["history"][0];
    assert_eq!(entry["kind"], "chat");
    assert_eq!(entry["chat_id"], chat_id);
    assert_eq!(entry["link"], format!("/chats/{chat_id}"));
    let contents = entry["contents"].as_str().unwrap();
    assert!(
        contents.contains("Emma Test: My printer is on fire"),
        "{contents}"
    );
    assert!(
        contents.contains("Alice Test: Step away from the printer"),
        "{contents}"
    );
    let (started_at, ended_at) = (
        common::assert_rfc3339_ms(&entry["started_at"]),
        common::assert_rfc3339_ms(&entry["ended_at"]),
    );
    assert!(started_at <= ended_at, "{entry}");

    let (status, detail) = app.get(&format!("/api/v1/chats/{chat_id}"), &admin).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["chat"]["state"], "closed");
    assert_eq!(detail["chat"]["last_seq"], 2);
    assert_eq!(detail["transcript"].as_array().unwrap().len(), 2);
    assert_eq!(detail["call"]["id"], call_id);
}

/// Polls the call until its history has `entries` entries (history is written after chat_closed).
async fn wait_for_history(app: &TestApp, call_id: &str, entries: usize) -> Value {
    for _ in 0..50 {
        let (status, call) = app
            .get(&format!("/api/v1/calls/{call_id}"), &app.admin())
            .await;
        assert_eq!(status, 200, "{call}");
        if call["history"]
            .as_array()
            .is_some_and(|h| h.len() >= entries)
        {
            return call;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("call {call_id} never got {entries} history entries");
}

async fn manual_queue_accept_race_has_one_winner_and_sees_waiting_messages(app: TestApp) {
    app.provision(
        "access",
        "manual",
        &[("alice", "analyst"), ("bob", "analyst")],
        3,
    )
    .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut bob = analyst(&app, "bob", true).await;
    let mut emma = user(&app, "emma").await;
    let started = start(&mut emma, "access").await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    assert_eq!(started["position"], 1);
    assert_eq!(
        alice.expect("chat_queued").await["chat"]["chat_id"],
        chat_id
    );
    assert_eq!(bob.expect("chat_queued").await["chat"]["state"], "waiting");
    emma.ok(
        json!({"type": "send", "chat_id": chat_id, "body": "Locked out", "client_msg_id": "w1"}),
    )
    .await;
    emma.ok(
        json!({"type": "send", "chat_id": chat_id, "body": "Please help", "client_msg_id": "w2"}),
    )
    .await;

    // Both accept at once: exactly one ok, the other conflict.
    let accept = json!({"type": "accept", "chat_id": chat_id});
    let (a, b) = tokio::join!(alice.cmd(accept.clone()), bob.cmd(accept.clone()));
    let outcomes = [a["type"].as_str().unwrap(), b["type"].as_str().unwrap()];
    assert_eq!(
        outcomes.iter().filter(|t| **t == "ok").count(),
        1,
        "{a} {b}"
    );
    let (winner, loser_reply, mut loser) = if a["type"] == "ok" {
        (a, b, bob)
    } else {
        (b, a, alice)
    };
    assert_eq!(loser_reply["code"], "conflict");
    let transcript = winner["transcript"].as_array().unwrap();
    assert_eq!(
        transcript
            .iter()
            .map(|m| m["body"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Locked out", "Please help"]
    );
    assert_eq!(winner["chat"]["state"], "active");
    let dequeued = loser.expect("chat_dequeued").await;
    assert_eq!(
        (dequeued["chat_id"].as_str(), dequeued["reason"].as_str()),
        (Some(chat_id.as_str()), Some("accepted"))
    );
    emma.expect("chat_accepted").await;
}

async fn offer_is_declined_then_times_out_and_the_silent_analyst_goes_away(app: TestApp) {
    app.provision(
        "hardware",
        "offer",
        &[("alice", "analyst"), ("bob", "analyst")],
        3,
    )
    .await;
    app.put(
        "/api/v1/queues/hardware",
        &app.admin(),
        json!({"name": "Hardware", "routing": "offer", "offer_timeout_secs": 1}),
    )
    .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut emma = user(&app, "emma").await;
    let chat_id = start(&mut emma, "hardware").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The queue's announcement comes before the offer of the same chat.
    let first = alice
        .expect_where(|f| f["type"] == "chat_queued" || f["type"] == "chat_offered")
        .await;
    assert_eq!(first["type"], "chat_queued", "{first}");
    let offer = alice.expect("chat_offered").await;
    assert_eq!(offer["chat"]["chat_id"], chat_id);
    common::assert_rfc3339_ms(&offer["expires_at"]);
    let mut bob = analyst(&app, "bob", true).await;
    alice
        .ok(json!({"type": "decline", "chat_id": chat_id}))
        .await;
    assert_eq!(bob.expect("chat_offered").await["chat"]["chat_id"], chat_id);
    // Bob stays silent past the 1 s offer timeout.
    let revoked = bob.expect("offer_revoked").await;
    assert_eq!(revoked["reason"], "timeout");
    let changed = bob.expect("status_changed").await;
    assert_eq!(changed["status"], "away");
    alice
        .expect_none("chat_offered", Duration::from_millis(300))
        .await;
    // The chat still waits; Alice can pick it from the Chat Queue.
    let accepted = alice
        .ok(json!({"type": "accept", "chat_id": chat_id}))
        .await;
    assert_eq!(accepted["chat"]["analyst"]["id"], "alice");
}

async fn capacity_is_respected_and_backlog_routed_when_a_chat_closes(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 1)
        .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut emma = user(&app, "emma").await;
    let mut fred = user(&app, "fred").await;
    let first = start(&mut emma, "service-desk").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    alice.expect("chat_assigned").await;
    let second = start(&mut fred, "service-desk").await;
    assert_eq!(second["position"], 1, "capacity 1: the second chat waits");
    let second_id = second["chat_id"].as_str().unwrap().to_string();
    let position = fred.expect("queue_position").await;
    assert_eq!(
        (
            position["position"].as_u64(),
            position["analysts_available"].as_u64()
        ),
        (Some(1), Some(1))
    );
    alice
        .expect_none("chat_assigned", Duration::from_millis(300))
        .await;
    alice
        .fails(
            json!({"type": "accept", "chat_id": second_id}),
            "at_capacity",
        )
        .await;
    emma.ok(json!({"type": "close_chat", "chat_id": first}))
        .await;
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], second_id);
    fred.expect("chat_accepted").await;
}

async fn users_behind_get_their_new_positions(app: TestApp) {
    app.provision("access", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut users = Vec::new();
    let mut chat_ids = Vec::new();
    for (i, id) in ["u1", "u2", "u3"].iter().enumerate() {
        let mut ws = user(&app, id).await;
        let started = start(&mut ws, "access").await;
        assert_eq!(started["position"], i + 1);
        chat_ids.push(started["chat_id"].as_str().unwrap().to_string());
        users.push(ws);
    }
    alice
        .ok(json!({"type": "accept", "chat_id": chat_ids[0]}))
        .await;
    for (i, ws) in users.iter_mut().enumerate().skip(1) {
        let chat = chat_ids[i].clone();
        let update = ws
            .expect_where(move |f| {
                f["type"] == "queue_position"
                    && f["chat_id"] == json!(chat)
                    && f["position"] == json!(i)
            })
            .await;
        assert_eq!(update["analysts_available"], 1);
    }
}

async fn a_repeated_client_msg_id_is_stored_once(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut emma = user(&app, "emma").await;
    let chat_id = start(&mut emma, "service-desk").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    alice.expect("chat_assigned").await;
    let send = json!({"type": "send", "chat_id": chat_id, "body": "once", "client_msg_id": "same"});
    let first = emma.ok(send.clone()).await;
    let again = emma.ok(send.clone()).await;
    assert_eq!(first["seq"], again["seq"]);
    let next = emma
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "twice", "client_msg_id": "other"}))
        .await;
    assert_eq!(next["seq"], 2);
    assert_eq!(app.messages(&chat_id).await.len(), 2);
    alice.expect("message").await;
    alice.expect("message").await;
    alice
        .expect_none("message", Duration::from_millis(200))
        .await;
}

async fn manager_turns_queue_off_and_changes_status_and_analysts_are_told(app: TestApp) {
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst"), ("carol", "manager")],
        3,
    )
    .await;
    let mut alice = analyst(&app, "alice", false).await;
    let carol = app.token("carol", Role::Manager);
    let (status, queue) = app
        .patch(
            "/api/v1/queues/service-desk",
            &carol,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(
        (status, queue["enabled"].as_bool()),
        (200, Some(false)),
        "{queue}"
    );
    let notice = alice.expect("queue_status").await;
    assert_eq!(
        (notice["queue_id"].as_str(), notice["enabled"].as_bool()),
        (Some("service-desk"), Some(false))
    );
    assert_eq!(notice["by"], json!({"id": "carol", "name": "Carol Test"}));
    let mut emma = user(&app, "emma").await;
    emma.fails(
        json!({"type": "start_chat", "queue_id": "service-desk"}),
        "queue_offline",
    )
    .await;

    let (status, body) = app
        .patch("/api/v1/analysts/alice", &carol, json!({"status": "busy"}))
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("busy")),
        "{body}"
    );
    let changed = alice.expect("status_changed").await;
    assert_eq!(changed["status"], "busy");
    assert_eq!(changed["by"]["name"], "Carol Test");
    // An analyst is not a manager: both changes are refused as not_found.
    let alice_token = app.token("alice", Role::Analyst);
    let (status, _) = app
        .patch(
            "/api/v1/queues/service-desk",
            &alice_token,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .patch(
            "/api/v1/analysts/carol",
            &alice_token,
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(status, 404);
}

async fn every_session_of_a_principal_gets_its_events(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut tab1 = analyst(&app, "alice", true).await;
    let mut tab2 = app.ws(&app.token("alice", Role::Analyst)).await;
    assert_eq!(
        tab2.hello["analyst"]["status"], "available",
        "a second tab sees the live status"
    );
    let mut emma = user(&app, "emma").await;
    let mut emma2 = user(&app, "emma").await;
    let chat_id = start(&mut emma, "service-desk").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    tab1.expect("chat_assigned").await;
    tab2.expect("chat_assigned").await;
    emma2.expect("chat_accepted").await;
    emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "from tab one"}))
        .await;
    assert_eq!(
        emma2.expect("message").await["body"],
        "from tab one",
        "the sender's other tab gets it"
    );
    tab1.expect("message").await;
    tab2.expect("message").await;
    emma.expect_none("message", Duration::from_millis(200))
        .await;
}

async fn resume_ping_transfer_and_link_call(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    app.provision("access", "manual", &[("bob", "analyst")], 3)
        .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut bob = analyst(&app, "bob", true).await;
    let mut emma = user(&app, "emma").await;
    let started = start(&mut emma, "service-desk").await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    for i in 1..=3 {
        emma.ok(json!({"type": "send", "chat_id": chat_id, "body": format!("m{i}")}))
            .await;
    }
    let pong = emma.cmd(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong");

    let mut again = user(&app, "emma").await;
    assert_eq!(again.hello["chats"][0]["last_seq"], 3);
    let done = again
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 1}))
        .await;
    assert_eq!(
        (done["last_seq"].as_i64(), done["state"].as_str()),
        (Some(3), Some("active"))
    );
    let replayed: Vec<Value> = again
        .inbox
        .drain(..)
        .filter(|f| f["type"] == "message")
        .collect();
    assert_eq!(
        replayed
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [2, 3]
    );

    // A second call of Emma's, linked to the chat: the transcript lands there too.
    let other_call = {
        let mut other = user(&app, "emma").await;
        let s = start(&mut other, "access").await;
        bob.expect("chat_queued").await;
        s["call_id"].as_str().unwrap().to_string()
    };
    alice
        .ok(json!({"type": "link_call", "chat_id": chat_id, "call_id": other_call}))
        .await;
    alice
        .fails(
            json!({"type": "link_call", "chat_id": chat_id, "call_id": "CALL-NOPE"}),
            "not_found",
        )
        .await;

    alice
        .ok(json!({"type": "transfer", "chat_id": chat_id, "queue_id": "access"}))
        .await;
    let requeued = emma.expect("chat_requeued").await;
    assert_eq!(requeued["chat_id"], chat_id);
    let queued = bob
        .expect_where(|f| {
            f["type"] == "chat_queued"
                && f["chat"]["queue_id"] == "access"
                && f["chat"]["user"]["id"] == "emma"
                && f["chat"]["last_seq"] == 3
        })
        .await;
    assert_eq!(queued["chat"]["chat_id"], chat_id);
    alice
        .fails(
            json!({"type": "send", "chat_id": chat_id, "body": "still here?"}),
            "not_found",
        )
        .await;
    let accepted = bob.ok(json!({"type": "accept", "chat_id": chat_id})).await;
    assert_eq!(accepted["transcript"].as_array().unwrap().len(), 3);
    bob.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    let linked = wait_for_history(&app, &other_call, 1).await;
    assert_eq!(linked["history"][0]["chat_id"], chat_id);
    assert!(
        linked["history"][0]["contents"]
            .as_str()
            .unwrap()
            .contains("m3")
    );
}

async fn waiting_too_long_ends_unanswered(app: TestApp) {
    let max_wait_secs = 2;
    app.put(
        "/api/v1/queues/slow",
        &app.admin(),
        json!({"name": "Slow", "routing": "manual", "max_wait_secs": max_wait_secs}),
    )
    .await;
    let mut emma = user(&app, "emma").await;
    let started = start(&mut emma, "slow").await;
    let closed = emma.expect("chat_closed").await;
    assert_eq!(
        (closed["reason"].as_str(), closed["by"].clone()),
        (Some("max_wait"), Value::Null)
    );
    let call_id = started["call_id"].as_str().unwrap();
    let call = wait_for_history(&app, call_id, 1).await;
    assert_eq!(call["first_contact_at"], Value::Null);
    let (_, list) = app
        .get("/api/v1/chats?filter=unanswered", &app.admin())
        .await;
    let summary = &list["chats"][0];
    assert_eq!(summary["end_reason"], "max_wait");
    assert_eq!(summary["state"], "unanswered");
    assert_eq!(
        summary["ended_at"], closed["ended_at"],
        "{summary} {closed}"
    );
    // The chat waited its full max_wait, and no longer than the 1 s sweep plus slack.
    let waited = common::assert_rfc3339_ms(&summary["ended_at"])
        - common::assert_rfc3339_ms(&summary["created_at"]);
    assert!(
        waited >= chrono::Duration::seconds(max_wait_secs)
            && waited <= chrono::Duration::milliseconds(max_wait_secs * 1000 + 2500),
        "waited {waited} for a max_wait of {max_wait_secs} s: {summary}"
    );
}

async fn http_lists_queues_chats_and_the_analyst_table(app: TestApp) {
    app.provision(
        "access",
        "manual",
        &[("alice", "analyst"), ("carol", "manager")],
        3,
    )
    .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut ids = Vec::new();
    let mut users = Vec::new();
    for id in ["u1", "u2", "u3"] {
        let mut ws = user(&app, id).await;
        ids.push(
            start(&mut ws, "access").await["chat_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        users.push(ws);
    }
    alice.ok(json!({"type": "accept", "chat_id": ids[0]})).await;
    let carol = app.token("carol", Role::Manager);
    let (status, queue) = app.get("/api/v1/queues/access", &carol).await;
    assert_eq!(status, 200);
    assert_eq!(
        (queue["waiting"].as_u64(), queue["active_chats"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        (
            queue["analysts_online"].as_u64(),
            queue["analysts_available"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(queue["answered_today"], 1);

    let (status, page1) = app
        .get("/api/v1/chats?filter=waiting&limit=1", &carol)
        .await;
    assert_eq!(status, 200, "{page1}");
    assert_eq!(page1["chats"][0]["chat_id"], ids[1]);
    assert_eq!(page1["chats"][0]["position"], 1);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .get(
            &format!("/api/v1/chats?filter=waiting&limit=1&cursor={cursor}"),
            &carol,
        )
        .await;
    assert_eq!(page2["chats"][0]["chat_id"], ids[2]);
    assert_eq!(page2["next_cursor"], Value::Null);
    // An empty cursor is the first page, as no cursor is.
    let (status, start) = app
        .get("/api/v1/chats?filter=waiting&limit=1&cursor=", &carol)
        .await;
    assert_eq!(status, 200, "{start}");
    assert_eq!(start["chats"][0]["chat_id"], ids[1]);
    assert_eq!(start["next_cursor"], page1["next_cursor"]);
    let (_, answered) = app.get("/api/v1/chats?filter=answered", &carol).await;
    assert_eq!(answered["chats"][0]["analyst"]["id"], "alice");
    let (_, mine) = app
        .get("/api/v1/chats?filter=waiting", &app.token("u2", Role::User))
        .await;
    assert_eq!(
        mine["chats"].as_array().unwrap().len(),
        1,
        "a user sees only their own"
    );
    let (status, _) = app.get("/api/v1/chats?filter=sideways", &carol).await;
    assert_eq!(status, 400);

    let (status, table) = app.get("/api/v1/queues/access/analysts", &carol).await;
    assert_eq!(status, 200, "{table}");
    let row = table
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(
        (
            row["status"].as_str(),
            row["connected"].as_bool(),
            row["open_chats"].as_u64()
        ),
        (Some("available"), Some(true), Some(1))
    );
    assert_eq!(
        row["chat_users"][0]["user"],
        json!({"id": "u1", "name": "U1 Test"})
    );
    let (status, _) = app
        .get(
            "/api/v1/queues/access/analysts",
            &app.token("alice", Role::Analyst),
        )
        .await;
    assert_eq!(status, 404, "analysts do not see the manager's table");
    assert_eq!(chats::Entity::find().count(&app.db).await.unwrap(), 3);
}

async fn offers_are_revoked_when_taken_or_closed_and_transfers_reach_an_analyst(app: TestApp) {
    app.provision(
        "hardware",
        "offer",
        &[("alice", "analyst"), ("bob", "analyst")],
        3,
    )
    .await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut bob = analyst(&app, "bob", false).await;
    // Offered to Alice, taken by Bob from the Chat Queue: Alice's offer is revoked as taken.
    let mut emma = user(&app, "emma").await;
    let chat_id = start(&mut emma, "hardware").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        alice.expect("chat_offered").await["chat"]["chat_id"],
        chat_id
    );
    bob.ok(json!({"type": "accept", "chat_id": chat_id})).await;
    let revoked = alice.expect("offer_revoked").await;
    assert_eq!(
        (revoked["chat_id"].as_str(), revoked["reason"].as_str()),
        (Some(chat_id.as_str()), Some("taken"))
    );

    // Offered to Alice, closed by its user while waiting: revoked as closed, dequeued unanswered.
    let mut fred = user(&app, "fred").await;
    let waiting = start(&mut fred, "hardware").await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    alice
        .expect_where(|f| f["type"] == "chat_offered" && f["chat"]["user"]["id"] == "fred")
        .await;
    fred.ok(json!({"type": "close_chat", "chat_id": waiting}))
        .await;
    assert_eq!(alice.expect("offer_revoked").await["reason"], "closed");
    let dequeued = bob
        .expect_where(|f| f["type"] == "chat_dequeued" && f["chat_id"] == json!(waiting))
        .await;
    assert_eq!(dequeued["reason"], "unanswered");
    assert_eq!(fred.expect("chat_closed").await["reason"], "closed_by_user");

    // Bob hands Emma's chat to Alice: it is offered to her, and Emma waits meanwhile.
    bob.ok(json!({"type": "transfer", "chat_id": chat_id, "analyst_id": "alice"}))
        .await;
    let offered = alice
        .expect_where(|f| f["type"] == "chat_offered" && f["chat"]["chat_id"] == json!(chat_id))
        .await;
    assert_eq!(offered["chat"]["state"], "offered");
    assert_eq!(emma.expect("chat_requeued").await["chat_id"], chat_id);
    bob.fails(
        json!({"type": "transfer", "chat_id": chat_id, "analyst_id": "alice"}),
        "not_found",
    )
    .await;
    let accepted = alice
        .ok(json!({"type": "accept", "chat_id": chat_id}))
        .await;
    assert_eq!(accepted["chat"]["analyst"]["id"], "alice");
    assert_eq!(
        emma.expect_where(|f| f["type"] == "chat_accepted" && f["analyst"]["id"] == "alice")
            .await["chat_id"],
        chat_id
    );
}

/// Starts that arrive together are stored together, one transaction per batch: each still gets
/// its own chat and call. A user may carry on in their own call but not in someone else's. A chat
/// answered at once is never listed to the queue's other analysts, so they are not told it left.
async fn starts_in_a_burst_get_their_own_chats_and_calls(app: TestApp) {
    let members = [("alice", "analyst"), ("bob", "analyst")];
    app.provision("service-desk", "auto", &members, 3).await;
    let mut alice = analyst(&app, "alice", true).await;
    let mut bob = analyst(&app, "bob", false).await;
    let mut users = Vec::new();
    for i in 0..25 {
        users.push(user(&app, &format!("burst{i}")).await);
    }
    let started = join_all(users.iter_mut().map(|ws| start(ws, "service-desk"))).await;
    let chat_ids: HashSet<&str> = started
        .iter()
        .map(|s| s["chat_id"].as_str().unwrap())
        .collect();
    let call_ids: HashSet<&str> = started
        .iter()
        .map(|s| s["call_id"].as_str().unwrap())
        .collect();
    assert_eq!((chat_ids.len(), call_ids.len()), (25, 25));
    assert_eq!(chats::Entity::find().count(&app.db).await.unwrap(), 25);
    let at_once: Vec<&Value> = started.iter().filter(|s| s["position"].is_null()).collect();
    assert_eq!(at_once.len(), 3, "alice's capacity is 3");
    for _ in 0..3 {
        alice.expect("chat_assigned").await;
    }

    // Bob's status change comes from the router after everything above: by then he has seen
    // the 22 waiting chats listed and nothing about the three answered at once.
    bob.ok(json!({"type": "set_status", "status": "away"}))
        .await;
    bob.expect("status_changed").await;
    for s in &at_once {
        let id = s["chat_id"].clone();
        let about = move |f: &Value| f["chat_id"] == id || f["chat"]["chat_id"] == id;
        assert!(
            bob.inbox.iter().all(|f| !about(f)),
            "bob heard of {}",
            s["chat_id"]
        );
    }
    let listed = bob
        .inbox
        .iter()
        .filter(|f| f["type"] == "chat_queued")
        .count();
    assert_eq!(listed, 22);

    // Emma, done with her first chat, opens another in the same call; Fred cannot use hers.
    let mut emma = user(&app, "emma").await;
    let first = start(&mut emma, "service-desk").await;
    let call = first["call_id"].as_str().unwrap();
    emma.ok(json!({"type": "close_chat", "chat_id": first["chat_id"]}))
        .await;
    let again = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk", "call_id": call}))
        .await;
    assert_eq!(again["call_id"], call);
    let mut fred = user(&app, "fred").await;
    let other = fred
        .ok(json!({"type": "start_chat", "queue_id": "service-desk", "call_id": call}))
        .await;
    assert_ne!(other["call_id"], call);
}

on_both_databases!(
    offers_are_revoked_when_taken_or_closed_and_transfers_reach_an_analyst,
    auto_routed_conversation_lands_in_call_history,
    manual_queue_accept_race_has_one_winner_and_sees_waiting_messages,
    offer_is_declined_then_times_out_and_the_silent_analyst_goes_away,
    capacity_is_respected_and_backlog_routed_when_a_chat_closes,
    users_behind_get_their_new_positions,
    a_repeated_client_msg_id_is_stored_once,
    manager_turns_queue_off_and_changes_status_and_analysts_are_told,
    every_session_of_a_principal_gets_its_events,
    resume_ping_transfer_and_link_call,
    waiting_too_long_ends_unanswered,
    http_lists_queues_chats_and_the_analyst_table,
    starts_in_a_burst_get_their_own_chats_and_calls,
);
