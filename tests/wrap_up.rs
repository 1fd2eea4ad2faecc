//! Wrap-up and pending status (contract §9.1–§9.2) over real WebSockets and HTTP, on SQLite and
//! PostgreSQL: an answered chat ending in a queue with wrap-up keeps its analyst's capacity until
//! `wrap_up` (then the backlog is routed at once) or its deadline (code `timeout`, also across a
//! kill -9 and restart); `required` mode routes nothing meanwhile and refuses `set_status
//! available`; `optional` mode routes within capacity; the code and note reach the call history,
//! the database and webhooks; bad input changes nothing. A pending status applies once the last
//! chat and its wrap-up are over, and a manager's change clears it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::process::ServerProcess;
use common::ws::WsClient;
use common::{Db, TestApp, TestDb};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use switchboard::domain::Role;

/// Sets the queue's wrap-up settings (keeping its routing).
async fn wrap_up_queue(app: &TestApp, queue: &str, routing: &str, wrap_up: Value) {
    let (s, body) = app
        .put(
            &format!("/api/v1/queues/{queue}"),
            &app.admin(),
            json!({"name": "Service Desk", "routing": routing, "wrap_up": wrap_up}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["wrap_up"], wrap_up, "{body}");
}

/// A webhook endpoint for the chat events, so the outbox keeps them (never delivered here).
async fn subscribe(app: &TestApp) {
    let (s, body) = app
        .put(
            "/api/v1/webhooks/desk",
            &app.admin(),
            json!({"url": "http://127.0.0.1:9/hook",
                   "events": ["chat.ended", "chat.wrapped_up", "chat.rated"]}),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {body}");
}

async fn events_of(app: &TestApp, kind: &str, chat_id: &str) -> Vec<Value> {
    use entities::webhook_events::{Column, Entity};
    Entity::find()
        .filter(Column::EventType.eq(kind))
        .filter(Column::OrderKey.eq(chat_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

async fn wrap_up_row(app: &TestApp, chat_id: &str) -> Option<entities::chat_wrap_ups::Model> {
    entities::chat_wrap_ups::Entity::find_by_id(chat_id.to_string())
        .one(&app.db)
        .await
        .unwrap()
}

/// A user starts a chat; returns (chat id, call id).
async fn start(user: &mut WsClient) -> (String, String) {
    let started = user
        .ok(json!({"type": "start_chat", "queue_id": "sd"}))
        .await;
    (
        started["chat_id"].as_str().unwrap().to_string(),
        started["call_id"].as_str().unwrap().to_string(),
    )
}

/// Alice alone in queue `sd` (open chats up to `capacity`, the queue's wrap-up `wrap_up`), with
/// Emma's chat assigned to her: returns both sockets and the chat's (chat id, call id).
async fn alice_answers_emma(
    app: &TestApp,
    capacity: i32,
    wrap_up: Value,
) -> (WsClient, WsClient, String, String) {
    app.provision("sd", "auto", &[("alice", "analyst")], capacity)
        .await;
    wrap_up_queue(app, "sd", "auto", wrap_up).await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let (chat_id, call_id) = start(&mut emma).await;
    alice.expect("chat_assigned").await;
    (alice, emma, chat_id, call_id)
}

/// The first call-history entry, once the ended chat's history is written.
async fn history_entry(app: &TestApp, call_id: &str, token: &str) -> Value {
    for _ in 0..100 {
        let (status, call) = app.get(&format!("/api/v1/calls/{call_id}"), token).await;
        assert_eq!(status, 200, "{call}");
        if let Some(e) = call["history"].as_array().and_then(|h| h.first()) {
            return e.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no history on {call_id}");
}

async fn capacity_is_held_until_the_wrap_up_and_the_backlog_routed_then(app: TestApp) {
    app.provision("sd", "auto", &[("alice", "analyst"), ("bob", "analyst")], 1)
        .await;
    // Bad settings are refused naming the field, and change nothing.
    for (bad, field) in [
        (json!({"mode": "sometimes"}), "mode"),
        (
            json!({"mode": "optional", "timeout_secs": 0}),
            "wrap_up.timeout_secs",
        ),
        (
            json!({"mode": "optional", "codes": ["timeout"]}),
            "wrap_up.codes[0]",
        ),
        (
            json!({"mode": "optional", "codes": ["a", "a"]}),
            "wrap_up.codes[1]",
        ),
        (
            json!({"mode": "optional", "codes": ["no way"]}),
            "wrap_up.codes[0]",
        ),
        (json!({"mode": "required", "codes": []}), "wrap_up.codes"),
    ] {
        let (s, body) = app
            .put(
                "/api/v1/queues/sd",
                &app.admin(),
                json!({"name": "Service Desk", "routing": "auto", "wrap_up": bad}),
            )
            .await;
        assert_eq!(s, 400, "{body}");
        assert!(body["detail"].as_str().unwrap().contains(field), "{body}");
    }
    let (_, queue) = app.get("/api/v1/queues/sd", &app.admin()).await;
    assert_eq!(queue["wrap_up"]["mode"], "off", "{queue}");
    wrap_up_queue(
        &app,
        "sd",
        "auto",
        json!({"mode": "optional", "timeout_secs": 600, "codes": ["resolved", "escalated"]}),
    )
    .await;
    subscribe(&app).await;

    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let (chat_id, call_id) = start(&mut emma).await;
    alice.expect("chat_assigned").await;
    // Not before the chat ends.
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved"}),
            "conflict",
        )
        .await;
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    let started = alice.expect("wrap_up_started").await;
    assert_eq!(started["chat_id"], chat_id);
    assert_eq!(started["codes"], json!(["resolved", "escalated"]));
    common::assert_rfc3339_ms(&started["deadline"]);

    // Capacity 1, held: a new chat waits; the analyst table counts the wrap-up.
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    let (waiting_id, _) = start(&mut fred).await;
    alice
        .expect_none("chat_assigned", Duration::from_millis(500))
        .await;
    let (_, rows) = app.get("/api/v1/queues/sd/analysts", &app.admin()).await;
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "alice")
        .unwrap();
    assert_eq!(row["open_chats"], 1, "{rows}");
    let (_, detail) = app
        .get(&format!("/api/v1/chats/{chat_id}"), &app.admin())
        .await;
    assert_eq!(detail["chat"]["wrap_up"], "pending", "{detail}");
    // A second tab's hello lists it.
    let tab = app.ws(&app.token("alice", Role::Analyst)).await;
    let hello = tab.hello.clone();
    assert_eq!(hello["wrap_ups"][0]["chat_id"], chat_id, "{hello}");
    // The end reported no wrap-up yet.
    let ended = events_of(&app, "chat.ended", &chat_id).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["wrap_up"], Value::Null);
    assert_eq!(ended[0]["chat"]["wrap_up"], "pending");

    // Bad input, or someone else's wrap-up: refused, nothing changes.
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id, "code": "lost"}),
            "bad_request",
        )
        .await;
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id, "code": "timeout"}),
            "bad_request",
        )
        .await;
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved", "note": "x".repeat(2001)}),
            "bad_request",
        )
        .await;
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id}),
            "bad_request",
        )
        .await;
    let mut bob = app.available("bob").await;
    bob.expect("chat_assigned").await; // bob is free: the waiting chat is his
    bob.fails(
        json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved"}),
        "not_found",
    )
    .await;
    emma.fails(
        json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved"}),
        "forbidden",
    )
    .await;
    let row = wrap_up_row(&app, &chat_id).await.unwrap();
    assert_eq!(row.code, None, "still pending");
    assert!(
        events_of(&app, "chat.wrapped_up", &chat_id)
            .await
            .is_empty()
    );
    bob.ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    bob.ok(json!({"type": "close_chat", "chat_id": waiting_id}))
        .await;
    bob.expect("wrap_up_started").await;

    // A third chat waits for alice; her wrap-up frees her and it is routed at once.
    let mut gina = app.ws(&app.token("gina", Role::User)).await;
    let (third_id, _) = start(&mut gina).await;
    alice
        .expect_none("chat_assigned", Duration::from_millis(300))
        .await;
    alice
        .ok(json!({"type": "wrap_up", "chat_id": chat_id, "code": "escalated", "note": "Sent to networks"}))
        .await;
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], third_id);
    alice
        .fails(
            json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved"}),
            "not_found",
        )
        .await;

    // The history, the database and the webhook carry it.
    let entry = history_entry(&app, &call_id, &app.token("root", Role::Admin)).await;
    assert_eq!(entry["wrap_up"]["code"], "escalated", "{entry}");
    assert_eq!(entry["wrap_up"]["note"], "Sent to networks");
    // The note is the desk's own after-chat work: the chat's user sees the code, not the note.
    let users = history_entry(&app, &call_id, &app.token("emma", Role::User)).await;
    assert_eq!(users["wrap_up"]["code"], "escalated", "{users}");
    assert_eq!(users["wrap_up"]["note"], serde_json::Value::Null, "{users}");
    assert_eq!(entry["wrap_up"]["by"]["id"], "alice");
    common::assert_rfc3339_ms(&entry["wrap_up"]["at"]);
    assert!(
        entry["contents"].as_str().unwrap().ends_with("escalated"),
        "{entry}"
    );
    let row = wrap_up_row(&app, &chat_id).await.unwrap();
    assert_eq!(row.code.as_deref(), Some("escalated"));
    assert_eq!(row.note.as_deref(), Some("Sent to networks"));
    assert_eq!(row.by_id.as_deref(), Some("alice"));
    let chat = entities::chats::Entity::find_by_id(chat_id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(chat.wrap_up.as_deref(), Some("done"));
    let wrapped = events_of(&app, "chat.wrapped_up", &chat_id).await;
    assert_eq!(wrapped.len(), 1, "{wrapped:?}");
    assert_eq!(wrapped[0]["wrap_up"]["code"], "escalated");
    assert_eq!(wrapped[0]["call_id"], call_id);
    assert_eq!(wrapped[0]["chat"]["wrap_up"], "done");

    // A rating reports chat.rated once; a second rate reports nothing.
    emma.ok(json!({"type": "rate", "chat_id": chat_id, "score": 4}))
        .await;
    emma.fails(
        json!({"type": "rate", "chat_id": chat_id, "score": 1}),
        "conflict",
    )
    .await;
    let rated = events_of(&app, "chat.rated", &chat_id).await;
    assert_eq!(rated.len(), 1, "{rated:?}");
    assert_eq!(rated[0]["rating"]["score"], 4);
}

async fn required_mode_holds_routing_and_times_out_with_code_timeout(app: TestApp) {
    let wrap_up = json!({"mode": "required", "timeout_secs": 2, "codes": ["resolved"]});
    let (mut alice, mut emma, chat_id, call_id) = alice_answers_emma(&app, 3, wrap_up).await;
    emma.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    alice.expect("wrap_up_started").await;
    // Capacity is 3, but a required wrap-up routes nothing and refuses `available`.
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    let (next_id, _) = start(&mut fred).await;
    alice
        .fails(
            json!({"type": "set_status", "status": "available"}),
            "wrap_up_required",
        )
        .await;
    // The deadline frees her with code `timeout`, and the waiting chat is routed.
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], next_id);
    let row = wrap_up_row(&app, &chat_id).await.unwrap();
    assert_eq!(row.code.as_deref(), Some("timeout"));
    assert_eq!(row.by_id.as_deref(), Some("switchboard"));
    let entry = history_entry(&app, &call_id, &app.admin()).await;
    assert_eq!(entry["wrap_up"]["code"], "timeout", "{entry}");
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
}

async fn optional_mode_routes_within_capacity(app: TestApp) {
    let wrap_up = json!({"mode": "optional", "timeout_secs": 600, "codes": ["resolved"]});
    let (mut alice, _emma, chat_id, _) = alice_answers_emma(&app, 2, wrap_up).await;
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    alice.expect("wrap_up_started").await;
    // One unit held of two: one more chat is routed, a second waits.
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    start(&mut fred).await;
    alice.expect("chat_assigned").await;
    let mut gina = app.ws(&app.token("gina", Role::User)).await;
    let (third, _) = start(&mut gina).await;
    alice
        .expect_none("chat_assigned", Duration::from_millis(500))
        .await;
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    alice
        .ok(json!({"type": "wrap_up", "chat_id": chat_id, "code": "resolved"}))
        .await;
    assert_eq!(
        alice.expect("chat_assigned").await["chat"]["chat_id"],
        third
    );
}

async fn pending_offline_applies_after_the_last_chat_and_its_wrap_up(app: TestApp) {
    app.provision(
        "sd",
        "auto",
        &[("alice", "analyst"), ("carol", "manager")],
        2,
    )
    .await;
    wrap_up_queue(
        &app,
        "sd",
        "auto",
        json!({"mode": "optional", "timeout_secs": 600, "codes": ["resolved"]}),
    )
    .await;
    let mut alice = app.available("alice").await;
    alice.expect("status_changed").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    let (first, _) = start(&mut emma).await;
    alice.expect("chat_assigned").await;
    let (second, _) = start(&mut fred).await;
    alice.expect("chat_assigned").await;

    let ok = alice
        .ok(json!({"type": "set_status", "status": "offline", "when": "after_chats"}))
        .await;
    assert_eq!(ok["status"], "available", "{ok}");
    assert_eq!(ok["pending_status"], "offline");
    let changed = alice
        .expect_where(|f| f["type"] == "status_changed" && f["pending_status"] == "offline")
        .await;
    assert_eq!(changed["status"], "available");
    let (_, view) = app.get("/api/v1/analysts/alice", &app.admin()).await;
    assert_eq!(view["pending_status"], "offline", "{view}");
    let tab = app.ws(&app.token("alice", Role::Analyst)).await;
    let hello = tab.hello.clone();
    assert_eq!(hello["analyst"]["pending_status"], "offline", "{hello}");

    // Nothing new is routed meanwhile, though she is available with room after a close.
    emma.ok(json!({"type": "close_chat", "chat_id": first}))
        .await;
    alice.expect("wrap_up_started").await;
    alice
        .ok(json!({"type": "wrap_up", "chat_id": first, "code": "resolved"}))
        .await;
    let mut gina = app.ws(&app.token("gina", Role::User)).await;
    start(&mut gina).await;
    alice
        .expect_none("chat_assigned", Duration::from_millis(400))
        .await;
    // The last chat ends; its wrap-up still holds her.
    alice
        .ok(json!({"type": "close_chat", "chat_id": second}))
        .await;
    alice.expect("wrap_up_started").await;
    alice
        .expect_none("status_changed", Duration::from_millis(400))
        .await;
    alice
        .ok(json!({"type": "wrap_up", "chat_id": second, "code": "resolved"}))
        .await;
    let changed = alice.expect("status_changed").await;
    assert_eq!(changed["status"], "offline", "{changed}");
    assert_eq!(changed["pending_status"], Value::Null);
    let (_, view) = app.get("/api/v1/analysts/alice", &app.admin()).await;
    assert_eq!(view["status"], "offline", "{view}");
    assert_eq!(view["pending_status"], Value::Null);
    // A status is announced as its write is handed in: read it once it has landed.
    let mut stored = None;
    for _ in 0..50 {
        let row = entities::analysts::Entity::find_by_id("alice".to_string())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        if row.status == "offline" {
            stored = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = stored.expect("the offline status is stored");
    assert_eq!(stored.pending_status, None);

    // A manager's change clears a pending status.
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    alice
        .expect_where(|f| f["type"] == "status_changed" && f["status"] == "available")
        .await;
    let assigned = alice.expect("chat_assigned").await;
    let third = assigned["chat"]["chat_id"].as_str().unwrap().to_string();
    alice
        .ok(json!({"type": "set_status", "status": "away", "when": "after_chats"}))
        .await;
    alice
        .expect_where(|f| f["type"] == "status_changed" && f["pending_status"] == "away")
        .await;
    let (s, body) = app
        .patch(
            "/api/v1/analysts/alice",
            &app.token("carol", Role::Manager),
            json!({"status": "busy"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["pending_status"], Value::Null, "{body}");
    let changed = alice
        .expect_where(|f| f["type"] == "status_changed" && f["status"] == "busy")
        .await;
    assert_eq!(changed["pending_status"], Value::Null);
    alice
        .ok(json!({"type": "close_chat", "chat_id": third}))
        .await;
    alice.expect("wrap_up_started").await;
    alice
        .ok(json!({"type": "wrap_up", "chat_id": third, "code": "resolved"}))
        .await;
    alice
        .expect_none("status_changed", Duration::from_millis(400))
        .await;
    let (_, view) = app.get("/api/v1/analysts/alice", &app.admin()).await;
    assert_eq!(view["status"], "busy", "{view}");
    // With nothing held, `after_chats` applies at once.
    let ok = alice
        .ok(json!({"type": "set_status", "status": "away", "when": "after_chats"}))
        .await;
    assert_eq!(ok["status"], "away", "{ok}");
    assert_eq!(ok["pending_status"], Value::Null);
}

/// A wrap-up's deadline is stored: after kill -9 and a restart it still ends with `timeout`.
async fn a_wrap_up_deadline_survives_a_restart(kind: Db) {
    let db = TestDb::create(kind).await.unwrap();
    let url = db.url.clone();
    let mut server = ServerProcess::start(&url, &[]);
    let mut app = TestApp::attach(db, kind, &server.base).await;
    let wrap_up = json!({"mode": "required", "timeout_secs": 8, "codes": ["resolved"]});
    let (mut alice, _emma, chat_id, _) = alice_answers_emma(&app, 1, wrap_up).await;
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    alice.expect("wrap_up_started").await;
    server.kill_9();

    let restarted = ServerProcess::start(&url, &[]);
    app.repoint(&restarted.base);
    let alice = app.ws(&app.token("alice", Role::Analyst)).await;
    let hello = alice.hello.clone();
    let row = wrap_up_row(&app, &chat_id).await.unwrap();
    if row.code.is_none() {
        assert_eq!(hello["wrap_ups"][0]["chat_id"], chat_id, "{hello}");
    }
    let mut code = None;
    for _ in 0..200 {
        code = wrap_up_row(&app, &chat_id).await.unwrap().code;
        if code.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(code.as_deref(), Some("timeout"));
    drop(restarted);
}

on_both_databases!(
    capacity_is_held_until_the_wrap_up_and_the_backlog_routed_then,
    required_mode_holds_routing_and_times_out_with_code_timeout,
    optional_mode_routes_within_capacity,
    pending_offline_applies_after_the_last_chat_and_its_wrap_up,
);

mod restart {
    use super::*;

    for_each_database!(a_wrap_up_deadline_survives_a_restart);
}
