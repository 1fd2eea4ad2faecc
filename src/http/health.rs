//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers, the last message
//! commit succeeded, and the router runs; otherwise 503 `degraded` with the failing checks).

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::actors::router::QueuePresence;
use crate::state::AppState;
use crate::store;

/// How long `/readyz` waits for the router.
const ROUTER_TIMEOUT: Duration = Duration::from_secs(2);

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
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
    let checks = json!({"database": database, "message_writes": writes, "router": router});
    if [database, writes, router].iter().all(|c| *c == "ok") {
        HttpResponse::Ok().json(json!({"status": "ok", "checks": checks}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "degraded", "checks": checks}))
    }
}
