//! Failures under WebSockets relayed by standbys (contract §11), with real processes, real
//! PostgreSQL and real NATS and `kill -9`: an analyst whose only node dies falls under the grace
//! rules and their chat requeues at the head (the leader ends the sessions of a node it no longer
//! hears); the leader killed mid-conversation makes the standbys close the sockets they relay,
//! and user and analyst reconnect to surviving nodes, `resume`, see every acked message once in
//! order and go on with the next seq. Each test has its own database and cluster name; ignored
//! when built with `SWITCHBOARD_TEST_NATS=0` or `SWITCHBOARD_TEST_PG=0` (never on CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster_sessions::{
    QUICK, SETTLE, available_on, cluster_with, reconnect, resumed, ws_on,
};
use serde_json::json;
use switchboard::domain::Role;

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn an_analysts_only_node_killed_requeues_their_chat_at_the_head_after_grace() {
    let (mut nodes, app, _, [a, b]) = cluster_with(&QUICK).await;
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst"), ("bob", "analyst")],
        1,
    )
    .await;
    let mut alice = available_on(&app, &nodes[b], "alice").await;
    let mut emma = ws_on(&nodes[a], &app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.expect("chat_accepted").await;
    // A second chat waits behind (Alice is at capacity, Bob is offline).
    let mut fred = ws_on(&nodes[a], &app.token("fred", Role::User)).await;
    fred.ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;

    nodes[b].kill_9();
    let peer = emma.expect_within("peer_status", SETTLE).await;
    assert_eq!(
        (peer["chat_id"].as_str(), peer["connected"].as_bool()),
        (Some(chat.as_str()), Some(false))
    );
    let requeued = emma.expect_within("chat_requeued", SETTLE).await;
    assert_eq!(requeued["position"], 1, "back at the head, ahead of Fred");
    let row = app.chat(&chat).await;
    assert_eq!((row.state.as_str(), row.analyst_id), ("waiting", None));
    // Bob, on the surviving standby, gets it first.
    let mut bob = available_on(&app, &nodes[a], "bob").await;
    assert_eq!(bob.expect("chat_assigned").await["chat"]["chat_id"], chat);
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn the_leader_killed_mid_conversation_both_reconnect_resume_and_go_on() {
    let grace = [
        ("CLUSTER__HEARTBEAT_MS", "300"),
        ("CLUSTER__NODE_TIMEOUT_MS", "1500"),
    ];
    let (mut nodes, app, at, [a, b]) = cluster_with(&grace).await;
    app.provision("service-desk", "auto", &[("alice", "analyst")], 2)
        .await;
    let mut alice = available_on(&app, &nodes[b], "alice").await;
    let mut emma = ws_on(&nodes[a], &app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    let mut acked = Vec::new();
    for i in 1..=3 {
        let (ws, who) = if i % 2 == 1 {
            (&mut emma, "e")
        } else {
            (&mut alice, "a")
        };
        let body = format!("{who}{i}");
        let ack = ws
            .ok(json!({"type": "send", "chat_id": chat, "body": body, "client_msg_id": body}))
            .await;
        acked.push((ack["seq"].as_i64().unwrap(), body));
    }
    assert_eq!(acked.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2, 3]);

    nodes[at].kill_9();
    // Their standbys close the sockets relayed to the dead leader.
    assert!(
        emma.closed_within(SETTLE).await,
        "emma's socket stayed open"
    );
    assert!(
        alice.closed_within(SETTLE).await,
        "alice's socket stayed open"
    );
    let (a, b) = (&nodes[a], &nodes[b]);
    let mut emma = reconnect(&[a, b], &app.token("emma", Role::User)).await;
    let mut alice = reconnect(&[b, a], &app.token("alice", Role::Analyst)).await;
    assert_eq!(resumed(&mut emma, &chat).await, acked);
    assert_eq!(resumed(&mut alice, &chat).await, acked);
    let ack = emma
        .ok(json!({"type": "send", "chat_id": chat, "body": "still there?", "client_msg_id": "e4"}))
        .await;
    assert_eq!(ack["seq"], 4);
    let got = alice.expect("message").await;
    assert_eq!(
        (got["seq"].as_i64(), got["body"].as_str()),
        (Some(4), Some("still there?"))
    );
}
