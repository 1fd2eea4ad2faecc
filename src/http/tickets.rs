//! `POST /api/v1/ws-tickets`: trades the caller's bearer token for a single-use WebSocket ticket.

use actix_web::{HttpResponse, post, web};
use serde_json::json;

use crate::auth::Caller;
use crate::state::AppState;

#[post("/ws-tickets")]
pub async fn create_ticket(state: web::Data<AppState>, caller: Caller) -> HttpResponse {
    let ticket = state.tickets.issue(caller.0);
    HttpResponse::Created().json(json!({
        "ticket": ticket,
        "expires_in": state.tickets.ttl_secs(),
    }))
}
