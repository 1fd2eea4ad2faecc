//! `GET /ws`: the WebSocket handshake. Authenticates with `Authorization: Bearer` or a single-use
//! `?ticket=`, checks the `Origin` against `server.allowed_origins` (exact match), caps the sockets
//! per principal, then hands the connection to a session actor, its outbox bounded by
//! `limits.max_outbound_frames` / `limits.max_outbound_bytes` and its socket resettable when the
//! client stops reading (`actors::socket`). Refusals happen before the upgrade.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use actix_web_actors::ws;
use serde::Deserialize;

use crate::actors::hub::Who;
use crate::actors::outbox::{Bound, Outbox};
use crate::actors::session::Session;
use crate::actors::socket::{ConnFd, Guarded, SocketAbort};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::{authenticate, bearer_token};
use crate::state::AppState;

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    ticket: Option<String>,
}

#[get("/ws")]
pub async fn connect(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<WsQuery>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !state.allowed_origins.iter().any(|o| o == origin) {
            return Err(AppError::forbidden("origin not allowed"));
        }
    }
    let principal = match (&query.ticket, bearer_token(&req)) {
        (Some(ticket), _) => state
            .tickets
            .redeem(ticket)
            .ok_or_else(|| AppError::unauthorized("ticket is unknown, used or expired"))?,
        (None, Some(token)) => authenticate(&state, token).await?,
        (None, None) => {
            return Err(AppError::unauthorized(
                "a bearer token or a ticket is required",
            ));
        }
    };
    let who = Who::of(&principal);
    if state.hub.count(&who) >= state.settings.limits.max_connections_per_principal {
        return Err(AppError::new(
            ErrorCode::RateLimited,
            "too many connections for this principal",
        ));
    }
    let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    tracing::info!(session = id, role = %principal.role, principal = %principal.id, "websocket connected");
    let mut response = ws::handshake(&req).map_err(|e| AppError::bad_request(e.to_string()))?;
    let limits = &state.settings.limits;
    let socket = SocketAbort::new(req.conn_data::<ConnFd>().map(|fd| fd.0));
    let bound = Bound {
        frames: limits.max_outbound_frames,
        bytes: limits.max_outbound_bytes,
    };
    let outbox = Outbox::new(id, bound, socket.clone());
    let session = Session::new(id, principal, state.clone(), outbox);
    let codec = actix_http::ws::Codec::new().max_size(limits.max_frame_bytes);
    let body = ws::WebsocketContext::with_codec(session, stream, codec);
    Ok(response.streaming(Guarded::new(body, socket)))
}
