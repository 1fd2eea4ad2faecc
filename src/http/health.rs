//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use actix_web::{HttpResponse, get, web};
use serde_json::json;

use crate::state::AppState;
use crate::store;

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match store::ping(&state.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "checks": {"database": "ok"}})),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "degraded", "checks": {"database": "unavailable"}}))
        }
    }
}
