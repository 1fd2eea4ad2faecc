//! `GET /api/v1/stats`: live totals for dashboards. Any staff member or admin may read them
//! (analysts see the same service-wide totals as managers: they are figures, not people's data);
//! users get `forbidden`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::router::TakeSnapshot;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::Caller;
use crate::ops::QueueLive;
use crate::state::AppState;
use crate::store;

/// Live totals (contract §5).
#[derive(Debug, Serialize, ToSchema)]
pub struct Stats {
    /// Open WebSocket connections by role.
    pub connections: BTreeMap<String, i64>,
    /// Open chats by state (`waiting`, `offered`, `active`).
    pub chats: BTreeMap<String, u64>,
    /// Analysts by status (not connected counts as `offline`).
    pub analysts: BTreeMap<String, u64>,
    /// Each queue's live figures.
    pub queues: Vec<QueueLive>,
    /// Chats waiting, all queues.
    pub waiting: u64,
    /// The longest current wait in any queue, in seconds.
    pub longest_wait_secs: i64,
    /// Chats answered today (UTC), all queues.
    pub answered_today: u64,
    /// Chats ended unanswered today (UTC), all queues.
    pub unanswered_today: u64,
    /// Share of today's answered chats answered within their queue's `sla_answer_secs`; null
    /// before the first answer of the day.
    pub service_level: Option<f64>,
    /// Messages stored per second over the last minute.
    pub messages_per_sec: f64,
}

#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Live totals", body = Stats),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Users may not read stats", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/stats")]
pub async fn get_stats(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    if !caller.role().is_staff() && !caller.is_admin() {
        return Err(AppError::forbidden("stats are for staff and admins"));
    }
    let snap = state
        .router
        .send(TakeSnapshot)
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?;
    let queues = store::queues::list(&state.db).await?;
    let figures = store::queues::figures(&state.db, &queues, chrono::Utc::now()).await?;
    let (mut answered, mut unanswered, mut within) = (0, 0, 0.0);
    for f in figures.values() {
        answered += f.answered_today;
        unanswered += f.unanswered_today;
        within += f.service_level.unwrap_or(0.0) * f.answered_today as f64;
    }
    Ok(HttpResponse::Ok().json(Stats {
        connections: crate::metrics::connections(),
        chats: snap
            .chats_by_state
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        analysts: snap
            .analysts_by_status
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        waiting: snap.queues.iter().map(|q| q.waiting).sum(),
        longest_wait_secs: snap
            .queues
            .iter()
            .map(|q| q.longest_wait_secs)
            .max()
            .unwrap_or(0),
        queues: snap.queues,
        answered_today: answered,
        unanswered_today: unanswered,
        service_level: (answered > 0).then(|| within / answered as f64),
        messages_per_sec: crate::metrics::messages_per_sec(),
    }))
}
