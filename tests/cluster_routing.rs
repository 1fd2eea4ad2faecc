//! The routing invariants over a cluster run (contract §4, §11), with three real nodes, real
//! PostgreSQL and real NATS: analysts and users spread over the nodes, chats in two auto queues
//! of different priority waiting together, analysts closing chats as they go; then, from what the
//! clients saw and what the database holds, no chat had two analysts, no analyst held more than
//! their capacity at once, and chats of equal priority were answered in the order they came
//! (higher priority first). The same invariants as the routing property test
//! (src/routing/tests.rs), over the whole system. Ignored when built with
//! `SWITCHBOARD_TEST_NATS=0` or `SWITCHBOARD_TEST_PG=0` (never on CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::cluster_sessions::{cluster, ws_on};
use common::ws::WsClient;
use entities::chats;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use switchboard::domain::Role;

/// Each analyst's capacity.
const CAPACITY: usize = 2;
/// How many analysts, and how many users (one chat each).
const ANALYSTS: usize = 4;
const USERS: usize = 15;
/// How long the whole run may take to answer every chat.
const RUN: Duration = Duration::from_secs(60);

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_cluster_run_keeps_the_routing_invariants() {
    let (nodes, app, _, _) = cluster().await;
    let ids: Vec<String> = (0..ANALYSTS).map(|i| format!("analyst-{i}")).collect();
    let members: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "analyst")).collect();
    app.provision("low", "auto", &members, CAPACITY as i32)
        .await;
    app.provision("high", "auto", &members, CAPACITY as i32)
        .await;
    let (s, body) = app
        .put(
            "/api/v1/queues/high",
            &app.admin(),
            json!({"name": "High", "routing": "auto", "priority": 5}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // Analysts connected (not yet available) and users on every node; every chat waits.
    let mut analysts: Vec<WsClient> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        analysts.push(ws_on(&nodes[i % 3], &app.token(id, Role::Analyst)).await);
    }
    let mut users: Vec<(WsClient, String)> = Vec::new();
    for i in 0..USERS {
        let mut ws = ws_on(
            &nodes[(i + 1) % 3],
            &app.token(&format!("user-{i}"), Role::User),
        )
        .await;
        let queue = if i % 3 == 0 { "high" } else { "low" };
        let started = ws
            .ok(json!({"type": "start_chat", "queue_id": queue}))
            .await;
        let chat = started["chat_id"].as_str().unwrap().to_string();
        users.push((ws, chat));
        // Distinct created_at, so the order they came in is well defined.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for ws in &mut analysts {
        ws.ok(json!({"type": "set_status", "status": "available"}))
            .await;
    }

    // Each analyst, on reaching capacity, closes the oldest chat they hold; every frame each
    // analyst saw is kept, in order.
    let mut seen: Vec<Vec<Value>> = vec![Vec::new(); ANALYSTS];
    let mut held: Vec<Vec<String>> = vec![Vec::new(); ANALYSTS];
    let mut assigned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let start = Instant::now();
    while assigned.len() < USERS {
        assert!(
            start.elapsed() < RUN,
            "only {} of {USERS} chats assigned within {RUN:?}: {assigned:?}",
            assigned.len()
        );
        for (i, ws) in analysts.iter_mut().enumerate() {
            while let Some(frame) = ws.next_within(Duration::from_millis(100)).await {
                if frame["type"] == "chat_assigned" {
                    let chat = frame["chat"]["chat_id"].as_str().unwrap().to_string();
                    assigned
                        .entry(chat.clone())
                        .or_default()
                        .insert(ids[i].clone());
                    held[i].push(chat);
                } else if frame["type"] == "chat_closed" {
                    let chat = frame["chat_id"].as_str().unwrap();
                    held[i].retain(|c| c != chat);
                }
                seen[i].push(frame);
            }
            if held[i].len() >= CAPACITY {
                let oldest = held[i].remove(0);
                ws.ok(json!({"type": "close_chat", "chat_id": oldest}))
                    .await;
            }
        }
    }
    // Frames still on their way (a third assignment would be one).
    for (i, ws) in analysts.iter_mut().enumerate() {
        while let Some(frame) = ws.next_within(Duration::from_millis(500)).await {
            if frame["type"] == "chat_assigned" {
                let chat = frame["chat"]["chat_id"].as_str().unwrap().to_string();
                assigned.entry(chat).or_default().insert(ids[i].clone());
            }
            seen[i].push(frame);
        }
    }

    // At most one analyst per chat: one analyst was ever assigned it, the user was told that
    // one, and the database agrees.
    let rows: BTreeMap<String, chats::Model> = chats::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    assert_eq!(rows.len(), USERS);
    for (ws, chat) in &mut users {
        let to = &assigned[chat.as_str()];
        assert_eq!(to.len(), 1, "{chat} was assigned to {to:?}");
        let analyst = to.iter().next().unwrap();
        let accepted = ws.expect("chat_accepted").await;
        assert_eq!(accepted["analyst"]["id"], json!(analyst), "{accepted}");
        ws.expect_none("chat_accepted", Duration::from_millis(200))
            .await;
        assert_eq!(rows[chat.as_str()].analyst_id.as_ref(), Some(analyst));
    }

    // Load within capacity: each analyst's assigned and closed frames, replayed in order.
    for (i, frames) in seen.iter().enumerate() {
        let mut open: BTreeSet<String> = BTreeSet::new();
        for frame in frames {
            if frame["type"] == "chat_assigned" {
                open.insert(frame["chat"]["chat_id"].as_str().unwrap().to_string());
            } else if frame["type"] == "chat_closed" {
                open.remove(frame["chat_id"].as_str().unwrap());
            }
            assert!(
                open.len() <= CAPACITY,
                "{} held {open:?} at once (capacity {CAPACITY}); frames: {frames:?}",
                ids[i]
            );
        }
    }
    let closed = rows.values().filter(|r| r.state == "closed").count();
    assert!(closed > 0, "no chat was closed along the way");

    // FIFO within priority: every chat waited from before the first analyst was available, so
    // chats of one queue were answered in the order they came; and every high-priority chat was
    // answered no later than any low-priority one.
    let answered = |queue: &str| -> Vec<(
        chrono::DateTime<chrono::Utc>,
        chrono::DateTime<chrono::Utc>,
        String,
    )> {
        let mut v: Vec<_> = rows
            .values()
            .filter(|r| r.queue_id == queue)
            .map(|r| (r.created_at, r.accepted_at.unwrap(), r.id.clone()))
            .collect();
        v.sort();
        v
    };
    for queue in ["high", "low"] {
        let chats = answered(queue);
        for pair in chats.windows(2) {
            assert!(
                pair[0].1 <= pair[1].1,
                "in {queue}, {} came before {} but was answered later: {chats:?}",
                pair[0].2,
                pair[1].2
            );
        }
    }
    let last_high = answered("high").iter().map(|c| c.1).max().unwrap();
    let first_low = answered("low").iter().map(|c| c.1).min().unwrap();
    assert!(
        last_high <= first_low,
        "a low-priority chat was answered at {first_low} before a high-priority one at {last_high}"
    );
}
