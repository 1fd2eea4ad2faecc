//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, the last message
//! commit succeeded, the router runs, and the identity provider's keys, when configured, have been
//! fetched once; otherwise 503 `degraded` with the failing checks). On a cluster node it also
//! checks NATS, and a standby (not the leader) answers 503 `standby`: in this stage only the
//! leader serves clients, so a load balancer that checks `/readyz` sends them there.

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
    /// `ok`, `degraded` when a check fails, or `standby` on a cluster node that does not lead.
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
    /// Cluster mode only: `leader`, `standby`, or `nats_unavailable` while NATS is
    /// unreachable (absent on a single node).
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<&'static str>,
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
    let cluster = match &state.cluster {
        None => "none",
        Some(c) if !c.nats_connected() => "nats_unavailable",
        Some(c) if c.leading() => "leader",
        Some(_) => "standby",
    };
    let checks = Some(Checks {
        database,
        message_writes: writes,
        router,
        identity,
        cluster: (cluster != "none").then_some(cluster),
    });
    let healthy = [database, writes, router].iter().all(|c| *c == "ok")
        && identity != "not_loaded"
        && cluster != "nats_unavailable";
    if healthy && cluster == "standby" {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "standby",
            checks,
        })
    } else if healthy {
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
