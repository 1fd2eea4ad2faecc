//! An endpoint's deliveries (contract §10.1): `GET /webhooks/{id}/deliveries?status=&cursor=`,
//! newest first, and `POST /webhooks/{id}/deliveries/{delivery_id}/retry`, which sends one again
//! with the same `webhook-id` (through the store writer, which wakes the worker).

use actix_web::{HttpResponse, get, post, web};
use entities::webhook_deliveries;
use serde::{Deserialize, Serialize};

use crate::actors::store_writer::{ChatChange, StoreChange, committed};
use crate::domain::DeliveryStatus;
use crate::error::{AppError, AppResult};
use crate::http::caller::AdminOrService;
use crate::state::AppState;
use crate::store;
use crate::store::webhooks::DeliveryChange;
use crate::timefmt::{rfc3339, rfc3339_opt};

/// Deliveries per page unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only deliveries in this status.
    status: Option<DeliveryStatus>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// One event to one endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The delivery's id (for `retry`).
    pub id: String,
    /// The `webhook-id` it is sent with (the same on every try).
    pub event_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Tries so far.
    pub attempts: i32,
    /// The HTTP status of the last try; null before the first and when there was no answer.
    pub last_status_code: Option<i32>,
    pub last_attempt_at: Option<String>,
    /// When it is tried next; null unless pending.
    pub next_attempt_at: Option<String>,
}

/// One page of deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    /// The cursor of the next (older) page, or null on the last.
    pub next_cursor: Option<String>,
}

fn view(d: webhook_deliveries::Model) -> DeliveryView {
    let status = d
        .status
        .parse::<DeliveryStatus>()
        .unwrap_or(DeliveryStatus::Failed);
    DeliveryView {
        id: d.id.to_string(),
        event_id: d.event_id,
        event_type: d.event_type,
        status,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_attempt_at: rfc3339_opt(d.last_attempt_at),
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| rfc3339(d.next_attempt_at)),
    }
}

/// The endpoint, or `not_found`.
async fn endpoint(state: &AppState, id: &str) -> AppResult<()> {
    store::webhooks::find_endpoint(&state.db, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::not_found(format!("webhook {id}")))
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path), DeliveriesQuery),
    responses(
        (status = 200, description = "One page of the endpoint's deliveries, newest first", body = DeliveryPage),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    id: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> AppResult<HttpResponse> {
    endpoint(&state, &id).await?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::bad_request(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let cursor = q.cursor.as_deref().filter(|c| !c.is_empty());
    let (rows, next_cursor) =
        store::webhooks::deliveries(&state.db, &id, q.status, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(DeliveryPage {
        deliveries: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses(
        (status = 202, description = "Pending again, due now; sent with the same webhook-id", body = DeliveryView),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let not_found = || AppError::not_found(format!("delivery {delivery_id}"));
    endpoint(&state, &id).await?;
    let delivery_id: i64 = delivery_id.parse().map_err(|_| not_found())?;
    store::webhooks::delivery(&state.db, &id, delivery_id)
        .await?
        .ok_or_else(not_found)?;
    let retry = ChatChange::Delivery(DeliveryChange::Retry { delivery_id });
    committed(&state.writer, StoreChange(retry)).await?;
    let delivery = store::webhooks::delivery(&state.db, &id, delivery_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Accepted().json(view(delivery)))
}
