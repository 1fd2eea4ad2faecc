//! `GET /metrics`: the Prometheus text exposition (no auth, like `/healthz`: put it behind the
//! network's own controls). Live figures come from the router at scrape time.

use actix_web::{HttpResponse, get, web};

use crate::actors::router::TakeSnapshot;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::state::AppState;

#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let snapshot = state
        .router
        .send(TakeSnapshot)
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?;
    let text = crate::metrics::render(&snapshot, state.hub.outbound())
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
