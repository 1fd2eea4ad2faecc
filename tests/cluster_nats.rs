//! NATS restarted under a running cluster (cluster.md, failure case 4), with real processes: the
//! local NATS server is stopped for real (`start-stop-daemon --stop`) and started again as
//! `.ci/run` starts it; meanwhile `/readyz` on every node is 503 `degraded` (`nats_unavailable`),
//! then the nodes reconnect by themselves, the leader keeps its lease under the same epoch, every
//! acked message is stored, and the chat goes on.
//!
//! Other tests use the same NATS server: this binary holds the NATS lock exclusively
//! (`common::cluster::own_nats`, a file lock every cluster test process takes shared), so it
//! waits for running cluster tests to end and none starts until it is done, in this `cargo test`
//! and in any other run on the machine; NATS is started again even when the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::{SETTLE, cluster, get, on_the_leader, own_nats};
use serde_json::json;

/// Starts NATS as `.ci/run` does; returns once it takes connections.
fn start_nats() {
    let status = Command::new("start-stop-daemon")
        .args([
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/nats-server",
            "--",
            "-a",
            "127.0.0.1",
            "-p",
            "4222",
            "-js",
            "-sd",
            "/var/lib/nats-server",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "start-stop-daemon --start: {status}");
    let start = Instant::now();
    while std::net::TcpStream::connect("127.0.0.1:4222").is_err() {
        assert!(start.elapsed() < SETTLE, "NATS did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts NATS again when dropped, so a failing test never leaves it down for the others.
struct Restarts;

impl Drop for Restarts {
    fn drop(&mut self) {
        start_nats();
    }
}

/// Waits until `/readyz` of every base satisfies `pred` on (status, body).
async fn until_every(bases: &[&str], pred: impl Fn(u16, &serde_json::Value) -> bool) {
    let start = Instant::now();
    for base in bases {
        loop {
            let (status, ready) = get(base, "/readyz", "").await;
            if pred(status, &ready) {
                break;
            }
            assert!(start.elapsed() < SETTLE, "{base}/readyz: {status} {ready}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_nats_restart_degrades_readiness_meanwhile_and_loses_nothing() {
    own_nats();
    let (name, nodes, mut app) = cluster(2).await;
    let (at, epoch, mut alice, mut emma) = on_the_leader(&mut app, &name, &nodes).await;
    let bases: Vec<&str> = nodes.iter().map(|n| n.base.as_str()).collect();
    until_every(&bases, |status, _| status == 200).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    let before = emma
        .ok(json!({"type": "send", "chat_id": chat, "body": "before", "client_msg_id": "m1"}))
        .await;

    let restarts = Restarts;
    let status = Command::new("start-stop-daemon")
        .args(["--stop", "--exec", "/usr/sbin/nats-server", "--retry", "5"])
        .status()
        .unwrap();
    assert!(status.success(), "start-stop-daemon --stop: {status}");
    until_every(&bases, |status, ready| {
        status == 503
            && ready["status"] == "degraded"
            && ready["checks"]["cluster"] == "nats_unavailable"
    })
    .await;
    // The lease is PostgreSQL's: the leader keeps routing and storing without NATS.
    let during = emma
        .ok(json!({"type": "send", "chat_id": chat, "body": "during", "client_msg_id": "m2"}))
        .await;
    drop(restarts);

    // Back by themselves: the leader leads, the standby hears it again.
    until_every(&bases, |status, ready| {
        status == 200 && ready["checks"]["leader"] == format!("node-{at}")
    })
    .await;
    let row = common::cluster::lease(&app.db, &name).await.unwrap();
    assert_eq!(
        (row.holder, row.epoch),
        (format!("node-{at}"), epoch),
        "the leader kept its lease"
    );
    let after = emma
        .ok(json!({"type": "send", "chat_id": chat, "body": "after", "client_msg_id": "m3"}))
        .await;
    let stored: Vec<(i64, String)> = app
        .messages(&chat)
        .await
        .into_iter()
        .filter(|m| m.client_msg_id.is_some())
        .map(|m| (m.seq, m.body))
        .collect();
    let acked: Vec<(i64, String)> = [(before, "before"), (during, "during"), (after, "after")]
        .into_iter()
        .map(|(ok, body)| (ok["seq"].as_i64().unwrap(), body.to_string()))
        .collect();
    assert_eq!(stored, acked, "every acked message stored once, in order");
}
