//! Cluster test support (contract §11): nodes are real `switchboard` processes on one fresh
//! PostgreSQL database and the local NATS server, under a cluster name of their own so tests that
//! run at once never hear each other; the lease row is read straight from the database.

use std::time::{Duration, Instant};

use entities::cluster_lease;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::Value;

use super::process::ServerProcess;

/// The NATS server the tests use (`.ci/run` starts it).
pub const NATS_URL: &str = "nats://127.0.0.1:4222";

/// A cluster name no other test uses.
pub fn unique_name() -> String {
    format!("t{}", uuid::Uuid::now_v7().simple())
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
