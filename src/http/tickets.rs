//! `POST /api/v1/ws-tickets`: trades the caller's bearer token for a single-use WebSocket ticket.

use actix_web::{HttpResponse, post, web};

use crate::http::caller::Caller;
use crate::state::AppState;

#[utoipa::path(
    tag = "auth",
    responses(
        (status = 201, description = "A single-use ticket", body = TicketView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/ws-tickets")]
pub async fn create_ticket(state: web::Data<AppState>, caller: Caller) -> HttpResponse {
    let ticket = state.tickets.issue(caller.0);
    HttpResponse::Created().json(TicketView {
        ticket,
        expires_in: state.tickets.ttl_secs(),
    })
}

/// `POST /ws-tickets`: a single-use ticket for `GET /ws?ticket=` or `GET /api/v1/events?ticket=`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub ticket: String,
    pub expires_in: u64,
}
