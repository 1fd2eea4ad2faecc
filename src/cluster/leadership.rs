//! The routing lease, kept (contract §11): a standby tries to take the lease every
//! `cluster.renew_ms`; once it has, it fences its store writer with the new epoch, runs what
//! leading needs (`Elected`: load the router from PostgreSQL, start the webhook worker) and then
//! serves requests itself. The leader renews every `cluster.renew_ms` and may decide until
//! `lease_ms - renew_ms` after sending the last renewal that succeeded: a renewal refused (the
//! lease lapsed or was taken), or none succeeding by then, makes it step down before its lease
//! can lapse.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::LocalBoxFuture;
use sea_orm::DatabaseConnection;

use super::Cluster;
use crate::store::lease;

/// What a node does on taking the lease, given its epoch; an error makes it step down.
pub type Elected = Box<dyn FnOnce(i64) -> LocalBoxFuture<'static, anyhow::Result<()>>>;

/// Keeps trying to lead, then keeps leading, until the lease is lost (then returns).
pub async fn run(cluster: Arc<Cluster>, db: DatabaseConnection, elected: Elected) {
    let renew = Duration::from_millis(cluster.settings.renew_ms);
    let lease_ms = cluster.settings.lease_ms;
    // Decide no longer than this after sending a renewal that succeeded.
    let valid_for = Duration::from_millis(lease_ms - cluster.settings.renew_ms);
    let mut tick = tokio::time::interval(renew);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let epoch = loop {
        tick.tick().await;
        let sent = Instant::now();
        match lease::acquire(&db, &cluster.name, &cluster.node_id, lease_ms).await {
            Ok(Some(epoch)) => {
                cluster.fence.hold(epoch, sent + valid_for);
                break epoch;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cluster lease: cannot ask the database"),
        }
    };
    tracing::info!(node = %cluster.node_id, epoch, "took the cluster lease: leading");
    // Renewals go on while the router loads: a large directory must not cost the lease.
    let renewing = renew_until_lost(cluster.clone(), db, epoch, tick, valid_for);
    let leading = async {
        if let Err(err) = elected(epoch).await {
            return Err(format!("could not start leading: {err:#}"));
        }
        cluster.set_leading(true);
        tracing::info!(node = %cluster.node_id, epoch, "routing as the cluster's leader");
        std::future::pending::<Result<(), String>>().await
    };
    let why = tokio::select! {
        why = renewing => why,
        Err(why) = leading => why,
    };
    cluster.step_down(&why);
}

/// Renews the lease every tick; returns why once it is lost.
async fn renew_until_lost(
    cluster: Arc<Cluster>,
    db: DatabaseConnection,
    epoch: i64,
    mut tick: tokio::time::Interval,
    valid_for: Duration,
) -> String {
    let lease_ms = cluster.settings.lease_ms;
    loop {
        tick.tick().await;
        let sent = Instant::now();
        // The deadline the last good renewal gave: a renewal still unanswered then is too late.
        let Some(deadline) = cluster.fence.deadline() else {
            return "the lease lapsed before it was renewed".into();
        };
        let renewal = lease::renew(&db, &cluster.name, &cluster.node_id, epoch, lease_ms);
        match tokio::time::timeout_at(deadline.into(), renewal).await {
            Ok(Ok(true)) => cluster.fence.hold(epoch, sent + valid_for),
            Ok(Ok(false)) => return "the lease lapsed or another node took it".into(),
            Ok(Err(err)) => tracing::warn!(error = %err, "cluster lease: renewal failed"),
            Err(_) => return "no renewal succeeded in time".into(),
        }
        if cluster.fence.epoch().is_none() {
            return "no renewal succeeded in time".into();
        }
    }
}
