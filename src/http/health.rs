//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, the last message
//! commit succeeded, the router runs, and the identity provider's keys, when configured, have been
//! fetched once; otherwise 503 `degraded` with the failing checks). On a cluster node it also
//! checks NATS and the leader: the leader is ready; a standby is ready while it hears a live leader
//! (it forwards every request there), so a load balancer checking `/readyz` spreads clients over
//! every node; a standby that hears no leader, or any node without NATS, is 503 `degraded`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::actors::router::QueuePresence;
use crate::state::AppState;
use crate::store;

/// How long `/readyz` waits for the router.
const ROUTER_TIMEOUT: Duration = Duration::from_secs(2);

/// The body of both: `{"status"}`, and for `/readyz` the `checks` too.
#[derive(Debug, Serialize)]
struct Health {
    /// `ok`, or `degraded` when a check fails.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<Checks>,
}

/// What `/readyz` checked: `ok` or what went wrong, each.
#[derive(Debug, Serialize)]
struct Checks {
    database: &'static str,
    message_writes: &'static str,
    router: &'static str,
    /// The identity provider's keys: `ok`, `not_loaded` until the first fetch succeeds, or
    /// `none` when no `auth.jwks_url`/`auth.jwks_file` is configured.
    identity: &'static str,
    /// Cluster mode only: `leader`, `standby` (a leader is heard), `no_leader` (a standby that
    /// hears none: a takeover is due), or `nats_unavailable` while NATS is unreachable (absent
    /// on a single node).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'static str>,
    /// Cluster mode only: the node id of the leader this node hears (itself when it leads), or
    /// null when it hears none.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<Option<String>>,
}

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        checks: None,
    })
}

#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = match store::ping(&state.db).await {
        Ok(()) => "ok",
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database does not answer");
            "unavailable"
        }
    };
    let writes = if state.store_healthy.load(Ordering::Acquire) {
        "ok"
    } else {
        "failing"
    };
    let router = match state
        .router
        .send(QueuePresence)
        .timeout(ROUTER_TIMEOUT)
        .await
    {
        Ok(_) => "ok",
        Err(_) => "unavailable",
    };
    let identity = match state.keys.jwks() {
        None => "none",
        Some(jwks) if jwks.is_loaded() => "ok",
        Some(_) => "not_loaded",
    };
    let heard = state.cluster.as_ref().map(|c| {
        c.leader_heard(Duration::from_millis(c.settings.node_timeout_ms))
            .map(|(id, _)| id)
    });
    let cluster = match (&state.cluster, &heard) {
        (None, _) => "none",
        (Some(c), _) if !c.nats_connected() => "nats_unavailable",
        (Some(c), _) if c.leading() => "leader",
        (Some(c), Some(Some(id))) if *id != c.node_id => "standby",
        (Some(_), _) => "no_leader",
    };
    let leader = match (&state.cluster, heard) {
        (Some(c), _) if c.leading() => Some(Some(c.node_id.clone())),
        (_, heard) => heard,
    };
    let checks = Some(Checks {
        database,
        message_writes: writes,
        router,
        identity,
        cluster: (cluster != "none").then_some(cluster),
        leader,
    });
    let healthy = [database, writes, router].iter().all(|c| *c == "ok")
        && identity != "not_loaded"
        && matches!(cluster, "none" | "leader" | "standby");
    if healthy {
        HttpResponse::Ok().json(Health {
            status: "ok",
            checks,
        })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "degraded",
            checks,
        })
    }
}
