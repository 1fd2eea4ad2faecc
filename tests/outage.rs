//! Database faults: while the database refuses writes, a sender gets `unavailable` and nothing is
//! relayed, `/readyz` reports degraded, and once the database is back the engine recovers by
//! itself (the same message sent again is stored once). SQLite: another connection holds the
//! write lock. PostgreSQL: the test's database stops accepting connections and the server's
//! sessions are terminated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::outage::Outage;
use common::{Db, TestApp, spawn_app_with};
use entities::chat_messages;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use switchboard::domain::Role;

async fn ready(app: &TestApp) -> (u16, serde_json::Value) {
    let (status, body, _) = app.call("GET", "/readyz", None, None).await;
    (status, body)
}

async fn unavailable_while_the_database_is_down_then_recovers(kind: Db) {
    let overrides = [("DATABASE__SQLITE_BUSY_TIMEOUT_MS", "200")];
    let app = spawn_app_with(kind, &overrides).await.unwrap();
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let chat_id = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "before", "client_msg_id": "m1"}))
        .await;
    alice.expect("message").await;
    assert_eq!(ready(&app).await.0, 200);

    let outage = Outage::begin(&app).await;
    let send = json!({"type": "send", "chat_id": chat_id, "body": "during", "client_msg_id": "m2"});
    let refused = emma.fails(send.clone(), "unavailable").await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("could not be stored")
    );
    alice
        .expect_none("message", Duration::from_millis(300))
        .await;
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("degraded")),
        "{body}"
    );

    outage.end().await;
    let mut stored = None;
    for _ in 0..50 {
        if let Some(reply) = emma.try_cmd(send.clone()).await
            && reply["type"] == "ok"
        {
            stored = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stored = stored.expect("the engine recovers once the database is back");
    assert_eq!(stored["seq"], 2, "no gap where the refused message was");
    assert_eq!(alice.expect("message").await["body"], "during");
    let (status, body) = ready(&app).await;
    assert_eq!(status, 200, "{body}");
    let count = chat_messages::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(count, 2);
}

for_each_database!(unavailable_while_the_database_is_down_then_recovers);

/// When more rows wait for a commit than `store.max_waiting_rows`, new messages are refused at
/// once (`unavailable`) instead of piling up in memory; the waiting ones are stored when the
/// database catches up.
#[actix_web::test]
async fn a_store_that_cannot_keep_up_sheds_load() {
    let overrides = [
        ("DATABASE__SQLITE_BUSY_TIMEOUT_MS", "5000"),
        ("STORE__MAX_WAITING_ROWS", "2"),
    ];
    let app = spawn_app_with(Db::Sqlite, &overrides).await.unwrap();
    app.provision("service-desk", "auto", &[("alice", "analyst")], 4)
        .await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let mut users = Vec::new();
    for u in 0..4 {
        let mut ws = app.ws(&app.token(&format!("u{u}"), Role::User)).await;
        let chat = ws
            .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
            .await["chat_id"]
            .as_str()
            .unwrap()
            .to_string();
        // The chat's own row is stored before it is announced: nothing else waits on the lock.
        alice.expect("chat_assigned").await;
        users.push((ws, chat));
    }
    let outage = Outage::begin(&app).await;
    for (ws, chat) in &mut users {
        ws.send_text(
            &json!({"type": "send", "ref": "s", "chat_id": chat, "body": "hello"}).to_string(),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    outage.end().await;
    let mut codes = Vec::new();
    for (ws, _) in &mut users {
        let reply = ws.expect_where(|f| f["ref"] == "s").await;
        codes.push(reply["code"].as_str().unwrap_or("ok").to_string());
    }
    assert_eq!(
        codes,
        ["ok", "ok", "ok", "unavailable"],
        "one in flight, two waiting, the fourth refused"
    );
    assert_eq!(
        chat_messages::Entity::find().count(&app.db).await.unwrap(),
        3
    );
}
