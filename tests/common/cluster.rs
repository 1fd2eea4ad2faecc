//! Cluster test support (contract §11): nodes are real `switchboard` processes on one fresh
//! PostgreSQL database and the local NATS server, under a cluster name of their own so tests that
//! run at once never hear each other; the lease row is read straight from the database.

use std::time::{Duration, Instant};

use entities::cluster_lease;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::Value;
use switchboard::domain::Role;

use super::process::ServerProcess;
use super::ws::WsClient;
use super::{Db, TestApp, TestDb};

/// How long a cluster may take to settle (elect, hear every node, fail over).
pub const SETTLE: Duration = Duration::from_secs(15);

/// The NATS server the tests use (`.ci/run` starts it).
pub const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A cluster name no other test uses.
pub fn unique_name() -> String {
    format!("t{}", uuid::Uuid::now_v7().simple())
}

/// The lock every cluster test process holds on the shared NATS server: shared by those that
/// only use it, exclusive for the one that restarts it (tests/cluster_nats.rs). A file lock, so
/// it holds across test binaries and across `cargo test` runs of other checkouts alike.
static NATS_LOCK: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

fn nats_lock_file() -> std::fs::File {
    let path = std::env::temp_dir().join("switchboard-test-nats.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap()
}

/// Holds the NATS lock shared for the rest of this process (a no-op when it holds it already).
pub fn share_nats() {
    NATS_LOCK.get_or_init(|| {
        let file = nats_lock_file();
        file.lock_shared().unwrap();
        file
    });
}

/// Holds the NATS lock exclusively for the rest of this process: no other cluster test runs
/// meanwhile (it waits for those running to end). Call it before anything else uses NATS.
pub fn own_nats() {
    let file = nats_lock_file();
    file.lock().unwrap();
    assert!(
        NATS_LOCK.set(file).is_ok(),
        "this process already shares NATS"
    );
}

/// Starts node `id` of cluster `name` on `db_url`.
pub fn start_node(db_url: &str, name: &str, id: &str) -> ServerProcess {
    start_node_with(db_url, name, id, &[])
}

/// Starts node `id` of cluster `name` on `db_url` with more `SWITCHBOARD__` overrides.
pub fn start_node_with(
    db_url: &str,
    name: &str,
    id: &str,
    overrides: &[(&str, &str)],
) -> ServerProcess {
    share_nats();
    let mut all = vec![
        ("CLUSTER__NATS_URL", NATS_URL),
        ("CLUSTER__NAME", name),
        ("CLUSTER__NODE_ID", id),
    ];
    all.extend_from_slice(overrides);
    ServerProcess::start(db_url, &all)
}

/// The lease row of cluster `name`, if taken.
pub async fn lease(db: &DatabaseConnection, name: &str) -> Option<cluster_lease::Model> {
    cluster_lease::Entity::find_by_id(name.to_string())
        .one(db)
        .await
        .unwrap()
}

/// Waits up to `within` for a lease row that satisfies `pred`.
pub async fn wait_for_lease(
    db: &DatabaseConnection,
    name: &str,
    within: Duration,
    pred: impl Fn(&cluster_lease::Model) -> bool,
) -> cluster_lease::Model {
    let start = Instant::now();
    loop {
        let row = lease(db, name).await;
        if let Some(row) = row.as_ref().filter(|r| pred(r)) {
            return row.clone();
        }
        assert!(
            start.elapsed() < within,
            "no such lease within {within:?}; the row: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A lease that has not lapsed (by this machine's clock, which the database shares).
pub fn live(row: &cluster_lease::Model) -> bool {
    row.expires_at > chrono::Utc::now()
}

/// `GET base + path` with `token`: (status, JSON body).
pub async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let mut res = awc::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Waits up to `within` until `GET base + path` answers `status`; returns the body.
pub async fn wait_for_status(
    base: &str,
    path: &str,
    token: &str,
    status: u16,
    within: Duration,
) -> Value {
    let start = Instant::now();
    loop {
        let (got, body) = get(base, path, token).await;
        if got == status {
            return body;
        }
        assert!(
            start.elapsed() < within,
            "{base}{path} still answers {got} {body} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `n` nodes of a new cluster on a new database; the handle points at node 0.
pub async fn cluster(n: usize) -> (String, Vec<ServerProcess>, TestApp) {
    let db = TestDb::create(Db::Postgres).await.unwrap();
    let name = unique_name();
    let nodes: Vec<ServerProcess> = (0..n)
        .map(|i| start_node(&db.url, &name, &format!("node-{i}")))
        .collect();
    let app = TestApp::attach(db, Db::Postgres, &nodes[0].base).await;
    (name, nodes, app)
}

/// The index of node `id` (`node-{i}`).
pub fn index(id: &str) -> usize {
    id.trim_start_matches("node-").parse().unwrap()
}

/// Waits for a live lease and for its holder to lead (its router loaded: `/readyz` says
/// `leader`); returns its index and epoch.
pub async fn leader(app: &TestApp, name: &str, nodes: &[ServerProcess]) -> (usize, i64) {
    let row = wait_for_lease(&app.db, name, SETTLE, live).await;
    let at = index(&row.holder);
    until_leading(&nodes[at].base).await;
    (at, row.epoch)
}

/// Waits until the node at `base` leads (`/readyz` 200 with `checks.cluster` `leader`: a
/// standby is ready too, so the status alone does not tell).
pub async fn until_leading(base: &str) {
    let start = Instant::now();
    loop {
        let (status, ready) = get(base, "/readyz", "").await;
        if status == 200 && ready["checks"]["cluster"] == "leader" {
            return;
        }
        assert!(start.elapsed() < SETTLE, "{base} does not lead: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// On the leader: queue `service-desk` with Alice available and Emma connected. Returns the
/// leader's index and epoch, Alice's socket and Emma's.
pub async fn on_the_leader(
    app: &mut TestApp,
    name: &str,
    nodes: &[ServerProcess],
) -> (usize, i64, WsClient, WsClient) {
    let (at, epoch) = leader(app, name, nodes).await;
    app.repoint(&nodes[at].base);
    app.provision("service-desk", "auto", &[("alice", "analyst")], 2)
        .await;
    let alice = app.available("alice").await;
    let emma = app.ws(&app.token("emma", Role::User)).await;
    (at, epoch, alice, emma)
}
