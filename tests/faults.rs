//! One write path (contract §3, "unavailable: could not be stored: nothing was sent on"): every
//! change of a chat's state is committed before anyone hears of it. For each change (accept,
//! requeue after the grace period, transfer, close, link_call, an analyst's status), while the database refuses
//! writes: the client gets `unavailable`, nobody is told of a change, and the database still
//! holds the old state; once the database is back the same command succeeds (the requeue, which
//! nobody asked for, is retried), everyone is told, and the database holds what they were told.
//! Runs on SQLite (another connection holds the write lock) and PostgreSQL (the database refuses
//! connections).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::outage::{Outage, until_ok};
use common::ws::WsClient;
use common::{Db, TestApp};
use entities::{analysts, chat_links, chats};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use switchboard::domain::Role;

/// How long a test listens for a frame that must not come.
const QUIET: Duration = Duration::from_millis(800);

async fn chat_row(app: &TestApp, chat_id: &str) -> chats::Model {
    for _ in 0..50 {
        if let Ok(Some(row)) = chats::Entity::find_by_id(chat_id).one(&app.db).await {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chat {chat_id} not readable");
}

/// Emma's chat in `queue`, answered by Alice (auto routing).
async fn active_chat(app: &TestApp) -> (WsClient, WsClient, String) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    app.provision("tier-2", "manual", &[("bob", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.expect("chat_accepted").await;
    // The assignment is stored before the outage starts.
    for _ in 0..50 {
        if chat_row(app, &chat_id).await.state == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (emma, alice, chat_id)
}

const FAST: [(&str, &str); 2] = [
    ("DATABASE__SQLITE_BUSY_TIMEOUT_MS", "200"),
    ("ROUTING__RECONNECT_GRACE_SECS", "1"),
];

async fn accept_is_unavailable_and_untold_while_the_database_refuses(app: TestApp) {
    app.provision(
        "service-desk",
        "manual",
        &[("alice", "analyst"), ("bob", "analyst")],
        3,
    )
    .await;
    let mut alice = app.available("alice").await;
    let mut bob = app.available("bob").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    bob.expect("chat_queued").await;

    let outage = Outage::begin(&app).await;
    let accept = json!({"type": "accept", "chat_id": chat_id});
    alice.fails(accept.clone(), "unavailable").await;
    emma.expect_none("chat_accepted", QUIET).await;
    bob.expect_none("chat_dequeued", Duration::from_millis(1))
        .await;
    outage.end().await;
    assert_eq!(chat_row(&app, &chat_id).await.state, "waiting");

    let ok = until_ok(&mut alice, accept).await;
    assert_eq!(ok["chat"]["state"], "active");
    assert_eq!(emma.expect("chat_accepted").await["analyst"]["id"], "alice");
    assert_eq!(bob.expect("chat_dequeued").await["reason"], "accepted");
    let row = chat_row(&app, &chat_id).await;
    assert_eq!(
        (row.state.as_str(), row.analyst_id.as_deref()),
        ("active", Some("alice"))
    );
}

async fn requeue_after_grace_waits_for_the_database(app: TestApp) {
    let (mut emma, alice, chat_id) = active_chat(&app).await;
    let outage = Outage::begin(&app).await;
    // Alice is lost; past the grace period (1 s) her chat goes back to its queue, but only once
    // that is stored: while the database refuses, Emma hears nothing of it.
    drop(alice);
    assert_eq!(emma.expect("peer_status").await["connected"], false);
    emma.expect_none("chat_requeued", Duration::from_millis(2500))
        .await;
    if app.kind == Db::Sqlite {
        // Readable during the outage only where readers do not need the writer's lock.
        assert_eq!(chat_row(&app, &chat_id).await.state, "active");
    }
    outage.end().await;
    // Tried again by itself, a bounded number of times, once a second.
    let requeued = emma.expect("chat_requeued").await;
    assert_eq!(requeued["chat_id"], json!(chat_id));
    for _ in 0..50 {
        let row = chat_row(&app, &chat_id).await;
        if row.state == "waiting" {
            assert_eq!(row.analyst_id, None);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the requeue was announced but never stored");
}

async fn transfer_is_unavailable_and_untold_while_the_database_refuses(app: TestApp) {
    let (mut emma, mut alice, chat_id) = active_chat(&app).await;
    let mut bob = app.available("bob").await;
    let outage = Outage::begin(&app).await;
    let transfer = json!({"type": "transfer", "chat_id": chat_id, "queue_id": "tier-2"});
    alice.fails(transfer.clone(), "unavailable").await;
    emma.expect_none("chat_requeued", QUIET).await;
    bob.expect_none("chat_queued", Duration::from_millis(1))
        .await;
    outage.end().await;
    let row = chat_row(&app, &chat_id).await;
    assert_eq!(
        (row.state.as_str(), row.queue_id.as_str()),
        ("active", "service-desk")
    );
    // Still Alice's: she can talk in it, and the same transfer now goes through.
    until_ok(&mut alice, transfer).await;
    assert_eq!(
        emma.expect("chat_requeued").await["chat_id"],
        json!(chat_id)
    );
    assert_eq!(
        bob.expect("chat_queued").await["chat"]["chat_id"],
        json!(chat_id)
    );
    let row = chat_row(&app, &chat_id).await;
    assert_eq!(
        (row.state.as_str(), row.queue_id.as_str(), row.analyst_id),
        ("waiting", "tier-2", None)
    );
}

async fn close_is_unavailable_and_untold_while_the_database_refuses(app: TestApp) {
    let (mut emma, mut alice, chat_id) = active_chat(&app).await;
    let outage = Outage::begin(&app).await;
    let close = json!({"type": "close_chat", "chat_id": chat_id});
    emma.fails(close.clone(), "unavailable").await;
    alice.expect_none("chat_closed", QUIET).await;
    outage.end().await;
    assert_eq!(chat_row(&app, &chat_id).await.state, "active");
    // The chat goes on: the refused close changed nothing.
    until_ok(
        &mut alice,
        json!({"type": "send", "chat_id": chat_id, "body": "still here"}),
    )
    .await;
    assert_eq!(emma.expect("message").await["body"], "still here");
    until_ok(&mut emma, close).await;
    assert_eq!(
        alice.expect("chat_closed").await["reason"],
        "closed_by_user"
    );
    let row = chat_row(&app, &chat_id).await;
    assert_eq!(
        (row.state.as_str(), row.end_reason.as_deref()),
        ("closed", Some("closed_by_user"))
    );
}

async fn link_call_is_unavailable_while_the_database_refuses(app: TestApp) {
    // Emma's earlier chat gives her a second call to link to.
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let first = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let earlier_call = first["call_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "close_chat", "chat_id": first["chat_id"]}))
        .await;
    let second = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = second["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    for _ in 0..50 {
        if chat_row(&app, &chat_id).await.state == "active" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let links = || {
        chat_links::Entity::find()
            .filter(chat_links::Column::ChatId.eq(chat_id.clone()))
            .count(&app.db)
    };
    let outage = Outage::begin(&app).await;
    let link = json!({"type": "link_call", "chat_id": chat_id, "call_id": earlier_call});
    alice.fails(link.clone(), "unavailable").await;
    outage.end().await;
    let mut counted = None;
    for _ in 0..50 {
        if let Ok(n) = links().await {
            counted = Some(n);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, Some(0), "a refused link wrote nothing");
    until_ok(&mut alice, link).await;
    assert_eq!(links().await.unwrap(), 1);
}

/// The stored status of `analyst`.
async fn stored_status(app: &TestApp, analyst: &str) -> String {
    analysts::Entity::find_by_id(analyst)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn set_status_is_unavailable_and_untold_while_the_database_refuses(app: TestApp) {
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst"), ("carol", "manager")],
        3,
    )
    .await;
    let mut alice = app.available("alice").await;
    // Alice's second tab hears every change of her status.
    let mut tab = app.ws(&app.token("alice", Role::Analyst)).await;
    let carol = app.token("carol", Role::Manager);
    for _ in 0..50 {
        if stored_status(&app, "alice").await == "available" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let outage = Outage::begin(&app).await;
    let busy = json!({"type": "set_status", "status": "busy"});
    alice.fails(busy.clone(), "unavailable").await;
    let (status, body) = app
        .patch("/api/v1/analysts/alice", &carol, json!({"status": "away"}))
        .await;
    assert_eq!(status, 503, "{body}");
    tab.expect_none("status_changed", QUIET).await;
    outage.end().await;
    assert_eq!(stored_status(&app, "alice").await, "available");
    // Undone in the routing core as well: Alice is still routed chats.
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    emma.ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    alice.expect("chat_assigned").await;

    let ok = until_ok(&mut alice, busy).await;
    assert_eq!(ok["status"], "busy");
    assert_eq!(tab.expect("status_changed").await["status"], "busy");
    assert_eq!(stored_status(&app, "alice").await, "busy");
}

on_both_databases!(
    with super::FAST;
    accept_is_unavailable_and_untold_while_the_database_refuses,
    requeue_after_grace_waits_for_the_database,
    transfer_is_unavailable_and_untold_while_the_database_refuses,
    close_is_unavailable_and_untold_while_the_database_refuses,
    link_call_is_unavailable_while_the_database_refuses,
    set_status_is_unavailable_and_untold_while_the_database_refuses,
);
