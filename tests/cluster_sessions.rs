//! WebSocket sessions on any node of a cluster (contract §11), with real processes, real
//! PostgreSQL and real NATS: a standby holds the client's socket and relays it to the leader,
//! which runs the session. A user and an analyst on two different standbys (and on a standby and
//! the leader) start, route, chat both ways with gapless seqs, type and close, and the history is
//! in the database. Each test has its own database and cluster name; ignored when built with
//! `SWITCHBOARD_TEST_NATS=0` or `SWITCHBOARD_TEST_PG=0` (never on CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::cluster::{live, start_node_with, unique_name, wait_for_lease, wait_for_status};
use common::process::ServerProcess;
use common::ws::WsClient;
use common::{Db, TestApp, TestDb};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use switchboard::domain::Role;

const SETTLE: Duration = Duration::from_secs(15);

/// Failure tests: a node unheard for 1.5 s is gone (heartbeats every 300 ms), and a dropped
/// analyst's chats requeue after a one-second grace.
const QUICK: [(&str, &str); 3] = [
    ("CLUSTER__HEARTBEAT_MS", "300"),
    ("CLUSTER__NODE_TIMEOUT_MS", "1500"),
    ("ROUTING__RECONNECT_GRACE_SECS", "1"),
];

/// Three nodes of a new cluster on a new database, the handle pointed at the leader; returns the
/// leader's index and the two standbys' indexes.
async fn cluster() -> (Vec<ServerProcess>, TestApp, usize, [usize; 2]) {
    cluster_with(&[]).await
}

/// `cluster()` with `SWITCHBOARD__` overrides for every node.
async fn cluster_with(
    overrides: &[(&str, &str)],
) -> (Vec<ServerProcess>, TestApp, usize, [usize; 2]) {
    let db = TestDb::create(Db::Postgres).await.unwrap();
    let name = unique_name();
    let nodes: Vec<ServerProcess> = (0..3)
        .map(|i| start_node_with(&db.url, &name, &format!("node-{i}"), overrides))
        .collect();
    let mut app = TestApp::attach(db, Db::Postgres, &nodes[0].base).await;
    let row = wait_for_lease(&app.db, &name, SETTLE, live).await;
    let at: usize = row.holder.trim_start_matches("node-").parse().unwrap();
    wait_for_status(&nodes[at].base, "/readyz", "", 200, SETTLE).await;
    app.repoint(&nodes[at].base);
    let standbys: Vec<usize> = (0..3).filter(|i| *i != at).collect();
    // A standby relays only once it has heard the leader's heartbeat.
    for &s in &standbys {
        wait_for_heard_leader(&app, &nodes[s].base, &row.holder).await;
    }
    (nodes, app, at, [standbys[0], standbys[1]])
}

/// Waits until node `base` lists `leader` as the cluster's leader.
async fn wait_for_heard_leader(app: &TestApp, base: &str, leader: &str) {
    let start = std::time::Instant::now();
    loop {
        let (_, view) = common::cluster::get(base, "/api/v1/cluster", &app.admin()).await;
        let heard = view["nodes"]
            .as_array()
            .is_some_and(|nodes| nodes.iter().any(|n| n["id"] == leader));
        if heard {
            return;
        }
        assert!(
            start.elapsed() < SETTLE,
            "{base} never heard {leader}: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A WebSocket to node `node` with `token`.
async fn ws_on(node: &ServerProcess, token: &str) -> WsClient {
    WsClient::connect_to(&node.ws_base, token)
        .await
        .unwrap_or_else(|status| panic!("handshake refused by {}: {status}", node.base))
}

/// Analyst `id` on `node`, available.
async fn available_on(app: &TestApp, node: &ServerProcess, id: &str) -> WsClient {
    let mut ws = ws_on(node, &app.token(id, Role::Analyst)).await;
    ws.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    ws
}

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

    use entities::{chat_messages, chats};
    let row = chats::Entity::find_by_id(chat_id.to_string())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.state.as_str(), row.analyst_id.as_deref()),
        ("closed", Some("alice"))
    );
    let stored: Vec<(i64, String)> = chat_messages::Entity::find()
        .filter(chat_messages::Column::ChatId.eq(chat_id))
        .order_by_asc(chat_messages::Column::Seq)
        .all(&app.db)
        .await
        .unwrap()
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
    use entities::chats;
    let row = chats::Entity::find_by_id(chat.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
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
    let chat = chat_id(&started);
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
    use entities::chats;
    let row = chats::Entity::find_by_id(chat.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.state.as_str(), row.analyst_id), ("waiting", None));
    // Bob, on the surviving standby, gets it first.
    let mut bob = available_on(&app, &nodes[a], "bob").await;
    assert_eq!(bob.expect("chat_assigned").await["chat"]["chat_id"], chat);
}

/// Connects to the first of `nodes` that takes the socket (a standby answers 503 while no leader
/// is elected), retrying for `SETTLE`.
async fn reconnect(nodes: &[&ServerProcess], token: &str) -> WsClient {
    let start = std::time::Instant::now();
    loop {
        for node in nodes {
            if let Ok(ws) = WsClient::connect_to(&node.ws_base, token).await {
                return ws;
            }
        }
        assert!(start.elapsed() < SETTLE, "no node took the socket");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `resume` from 0: the seqs and bodies replayed, in the order they came.
async fn resumed(ws: &mut WsClient, chat_id: &str) -> Vec<(i64, String)> {
    let done = ws
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 0}))
        .await;
    assert_eq!(done["state"], "active", "{done}");
    ws.inbox
        .drain(..)
        .filter(|f| f["type"] == "message" && f["chat_id"] == chat_id)
        .map(|m| {
            (
                m["seq"].as_i64().unwrap(),
                m["body"].as_str().unwrap().to_string(),
            )
        })
        .collect()
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
    let chat = chat_id(&started);
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
