//! `QueueView`s with live figures: each queue's stored figures (store) joined with its analysts
//! online and available (the router's `QueuePresence`). HTTP's queue routes and the session's
//! `hello` both build them here, so neither reaches into the other.

use chrono::Utc;
use entities::queues;

use crate::actors::router::QueuePresence;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::QueueView;
use crate::state::AppState;
use crate::store;
use crate::views::queue_view;

/// Builds the views of `queues`, reading their stored figures in one pass.
pub async fn queue_views(
    state: &AppState,
    queues: Vec<queues::Model>,
) -> AppResult<Vec<QueueView>> {
    let mut figures = store::queues::figures(&state.db, &queues, Utc::now()).await?;
    let presence = state
        .router
        .send(QueuePresence)
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?;
    Ok(queues
        .into_iter()
        .map(|q| {
            let f = figures.remove(&q.id).unwrap_or_default();
            let live = presence.get(&q.id).cloned();
            queue_view(q, f, live)
        })
        .collect())
}
