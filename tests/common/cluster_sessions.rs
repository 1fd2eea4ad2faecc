//! Cluster sessions test support (contract §11): three real nodes on a fresh PostgreSQL database
//! and the local NATS server, the handle on the leader once both standbys have heard it, and
//! WebSockets opened on a chosen node (a standby relays them to the leader).

use std::time::Duration;

use serde_json::json;
use switchboard::domain::Role;

use super::cluster::{live, start_node_with, unique_name, wait_for_lease, wait_for_status};
use super::process::ServerProcess;
use super::ws::WsClient;
use super::{Db, TestApp, TestDb};

pub const SETTLE: Duration = Duration::from_secs(15);

/// Failure tests: a node unheard for 1.5 s is gone (heartbeats every 300 ms), and a dropped
/// analyst's chats requeue after a one-second grace.
pub const QUICK: [(&str, &str); 3] = [
    ("CLUSTER__HEARTBEAT_MS", "300"),
    ("CLUSTER__NODE_TIMEOUT_MS", "1500"),
    ("ROUTING__RECONNECT_GRACE_SECS", "1"),
];

/// Three nodes of a new cluster on a new database, the handle pointed at the leader; returns the
/// leader's index and the two standbys' indexes.
pub async fn cluster() -> (Vec<ServerProcess>, TestApp, usize, [usize; 2]) {
    cluster_with(&[]).await
}

/// `cluster()` with `SWITCHBOARD__` overrides for every node.
pub async fn cluster_with(
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
pub async fn wait_for_heard_leader(app: &TestApp, base: &str, leader: &str) {
    let start = std::time::Instant::now();
    loop {
        let (_, view) = super::cluster::get(base, "/api/v1/cluster", &app.admin()).await;
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
pub async fn ws_on(node: &ServerProcess, token: &str) -> WsClient {
    WsClient::connect_to(&node.ws_base, token)
        .await
        .unwrap_or_else(|status| panic!("handshake refused by {}: {status}", node.base))
}

/// Analyst `id` on `node`, available.
pub async fn available_on(app: &TestApp, node: &ServerProcess, id: &str) -> WsClient {
    let mut ws = ws_on(node, &app.token(id, Role::Analyst)).await;
    ws.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    ws
}

/// Connects to the first of `nodes` that takes the socket (a standby answers 503 while no leader
/// is elected), retrying for `SETTLE`.
pub async fn reconnect(nodes: &[&ServerProcess], token: &str) -> WsClient {
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
pub async fn resumed(ws: &mut WsClient, chat_id: &str) -> Vec<(i64, String)> {
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
