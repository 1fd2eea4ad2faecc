//! WebSocket sessions on any node of a cluster (contract §11), with real processes, real
//! PostgreSQL and real NATS: a standby holds the client's socket and relays it to the leader,
//! which runs the session. A user and an analyst on two different standbys (and on a standby and
//! the leader) start, route, chat both ways with gapless seqs, type and close, and the history is
//! in the database; two analysts on two standbys race to accept; a ticket from the leader works
//! once on any node. The failures are in tests/cluster_session_failures.rs. Each test has its own database and cluster name; ignored when built with
//! `SWITCHBOARD_TEST_NATS=0` or `SWITCHBOARD_TEST_PG=0` (never on CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::cluster_sessions::{available_on, cluster, ws_on};
use common::ws::WsClient;
use serde_json::{Value, json};
use switchboard::domain::Role;

/// The user and the analyst talk both ways (seqs 1, 2, 3 with none missing), the analyst types,
/// and closes; the messages are stored in order.
async fn converse(app: &TestApp, emma: &mut WsClient, alice: &mut WsClient, chat_id: &str) {
    let ack = emma
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "My printer is on fire", "client_msg_id": "e1"}))
        .await;
    assert_eq!(ack["seq"], 1);
    let got = alice.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["body"].as_str()),
        (Some(1), Some("My printer is on fire"))
    );
    let ack = alice
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "Step away from it", "client_msg_id": "a1"}))
        .await;
    assert_eq!(ack["seq"], 2);
    let got = emma.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["body"].as_str()),
        (Some(2), Some("Step away from it"))
    );
    let ack = emma
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "Done", "client_msg_id": "e2"}))
        .await;
    assert_eq!(ack["seq"], 3);
    assert_eq!(alice.expect("message").await["seq"], 3);

    alice
        .ok(json!({"type": "typing", "chat_id": chat_id}))
        .await;
    let typing = emma.expect("typing").await;
    assert_eq!(typing["from"]["id"], "alice");

    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    assert_eq!(
        emma.expect("chat_closed").await["reason"],
        "closed_by_analyst"
    );
    alice.expect("chat_closed").await;

    let row = app.chat(chat_id).await;
    assert_eq!(
        (row.state.as_str(), row.analyst_id.as_deref()),
        ("closed", Some("alice"))
    );
    let stored: Vec<(i64, String)> = app
        .messages(chat_id)
        .await
        .into_iter()
        .map(|m| (m.seq, m.body))
        .collect();
    let bodies: Vec<(i64, &str)> = stored.iter().map(|(s, b)| (*s, b.as_str())).collect();
    assert_eq!(
        bodies,
        [
            (1, "My printer is on fire"),
            (2, "Step away from it"),
            (3, "Done")
        ]
    );
}

fn chat_id(started: &Value) -> String {
    started["chat_id"].as_str().unwrap().to_string()
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_user_and_an_analyst_on_two_standbys_chat_through_the_leader() {
    let (nodes, app, at, [a, b]) = cluster().await;
    app.provision("service-desk", "auto", &[("alice", "analyst")], 2)
        .await;
    let mut alice = available_on(&app, &nodes[b], "alice").await;
    let mut emma = ws_on(&nodes[a], &app.token("emma", Role::User)).await;
    assert_eq!(emma.hello["role"], "user");
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = chat_id(&started);
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], chat);
    assert_eq!(emma.expect("chat_accepted").await["analyst"]["id"], "alice");
    converse(&app, &mut emma, &mut alice, &chat).await;
    // Neither socket was on the leader: the leader counts both sessions, the standbys hold them.
    assert_ne!(at, a);
    assert_ne!(at, b);
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn an_offer_to_an_analyst_on_the_leader_is_accepted_by_a_user_on_a_standby() {
    let (nodes, app, at, [a, _]) = cluster().await;
    app.provision("hardware", "offer", &[("alice", "analyst")], 2)
        .await;
    let mut alice = available_on(&app, &nodes[at], "alice").await;
    let mut emma = ws_on(&nodes[a], &app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "hardware"}))
        .await;
    let chat = chat_id(&started);
    let offer = alice.expect("chat_offered").await;
    assert_eq!(offer["chat"]["chat_id"], chat);
    let accepted = alice.ok(json!({"type": "accept", "chat_id": chat})).await;
    assert_eq!(accepted["chat"]["analyst"]["id"], "alice");
    assert_eq!(emma.expect("chat_accepted").await["analyst"]["id"], "alice");
    converse(&app, &mut emma, &mut alice, &chat).await;
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn two_analysts_on_two_standbys_race_to_accept_and_exactly_one_wins() {
    let (nodes, app, at, [a, b]) = cluster().await;
    app.provision(
        "access",
        "manual",
        &[("alice", "analyst"), ("bob", "analyst")],
        2,
    )
    .await;
    let mut alice = available_on(&app, &nodes[a], "alice").await;
    let mut bob = available_on(&app, &nodes[b], "bob").await;
    let mut emma = ws_on(&nodes[at], &app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "access"}))
        .await;
    let chat = chat_id(&started);
    assert_eq!(alice.expect("chat_queued").await["chat"]["chat_id"], chat);
    assert_eq!(bob.expect("chat_queued").await["chat"]["chat_id"], chat);

    let accept = json!({"type": "accept", "chat_id": chat});
    let (x, y) = tokio::join!(alice.cmd(accept.clone()), bob.cmd(accept.clone()));
    let oks = [&x, &y].iter().filter(|r| r["type"] == "ok").count();
    assert_eq!(oks, 1, "{x} {y}");
    let (winner, loser_reply, mut loser) = if x["type"] == "ok" {
        (x, y, bob)
    } else {
        (y, x, alice)
    };
    assert_eq!(loser_reply["code"], "conflict", "{loser_reply}");
    assert_eq!(winner["chat"]["state"], "active");
    let dequeued = loser.expect("chat_dequeued").await;
    assert_eq!(dequeued["reason"], "accepted");
    emma.expect("chat_accepted").await;
    let row = app.chat(&chat).await;
    assert_eq!(
        row.analyst_id.as_deref(),
        winner["chat"]["analyst"]["id"].as_str()
    );
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_ticket_from_the_leader_opens_a_session_on_a_standby_once() {
    let (nodes, app, _, [a, b]) = cluster().await;
    let token = app.token("emma", Role::User);
    let (status, body, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&token), None)
        .await;
    assert_eq!(status, 201, "{body}");
    let ticket = body["ticket"].as_str().unwrap();
    let ws = WsClient::connect_with_ticket(&nodes[a].ws_base, ticket)
        .await
        .unwrap();
    assert_eq!(ws.hello["user"]["id"], "emma");
    for node in [a, b] {
        assert_eq!(
            WsClient::connect_with_ticket(&nodes[node].ws_base, ticket)
                .await
                .err(),
            Some(401),
            "a ticket is single use across the cluster"
        );
    }
    // Refusals the leader decides come back as the standby's HTTP answer.
    assert_eq!(
        WsClient::connect_to(&nodes[b].ws_base, "garbage")
            .await
            .err(),
        Some(401)
    );
}
