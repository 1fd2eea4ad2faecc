//! `GET /ws`: the WebSocket handshake. Authenticates with `Authorization: Bearer` or a single-use
//! `?ticket=`, checks the `Origin` against `server.allowed_origins` (exact match), caps the sockets
//! per principal, then hands the connection to a session actor, its outbox bounded by
//! `limits.max_outbound_frames` / `limits.max_outbound_bytes` and its socket resettable when the
//! client stops reading (`actors::socket`). Refusals happen before the upgrade. On a cluster
//! standby the connection is relayed to the leader (`ws_relay`), which runs the same checks
//! (`admit`) and the same session (`session`) for it (`ws_host`).

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use actix_web_actors::ws;
use serde::Deserialize;

use crate::actors::hub::Who;
use crate::actors::outbox::{Bound, Outbox};
use crate::actors::session::Session;
use crate::actors::socket::{ConnFd, Guarded, SocketAbort};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::{authenticate, bearer_token};
use crate::http::ws_relay;
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
    check_origin(&state, &req)?;
    let query = query.into_inner();
    if let Some(cluster) = state.cluster.clone().filter(|c| !c.leading()) {
        return ws_relay::relay(&req, stream, query.ticket, &cluster).await;
    }
    let principal = admit(&state, query.ticket.as_deref(), bearer_token(&req)).await?;
    let mut response = ws::handshake(&req).map_err(|e| AppError::bad_request(e.to_string()))?;
    let socket = SocketAbort::new(req.conn_data::<ConnFd>().map(|fd| fd.0));
    let session = session(&state, principal, socket.clone());
    let codec = codec(&state);
    let body = ws::WebsocketContext::with_codec(session, stream, codec);
    Ok(response.streaming(Guarded::new(body, socket)))
}

/// The `Origin`, when sent, must be one of `server.allowed_origins` of the node the client
/// reached (its own address by default, which is why a standby checks it itself).
fn check_origin(state: &AppState, req: &HttpRequest) -> AppResult<()> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !state.allowed_origins.iter().any(|o| o == origin) {
            return Err(AppError::forbidden("origin not allowed"));
        }
    }
    Ok(())
}

/// Who may open a session: the ticket's principal (redeemed now, once) or the bearer token's,
/// under `limits.max_connections_per_principal`.
pub async fn admit(
    state: &AppState,
    ticket: Option<&str>,
    bearer: Option<&str>,
) -> AppResult<Principal> {
    let principal = match (ticket, bearer) {
        (Some(ticket), _) => state
            .tickets
            .redeem(ticket)
            .ok_or_else(|| AppError::unauthorized("ticket is unknown, used or expired"))?,
        (None, Some(token)) => authenticate(state, token).await?,
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
    Ok(principal)
}

/// A session for `principal`, its outbox bounded by the limits, `socket` reset when it is slow.
pub fn session(state: &web::Data<AppState>, principal: Principal, socket: SocketAbort) -> Session {
    let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    tracing::info!(session = id, role = %principal.role, principal = %principal.id, "websocket connected");
    let limits = &state.settings.limits;
    let bound = Bound {
        frames: limits.max_outbound_frames,
        bytes: limits.max_outbound_bytes,
    };
    let outbox = Outbox::new(id, bound, socket);
    Session::new(id, principal, state.clone(), outbox)
}

/// The WebSocket codec: frames past `limits.max_frame_bytes` are refused.
pub fn codec(state: &AppState) -> actix_http::ws::Codec {
    actix_http::ws::Codec::new().max_size(state.settings.limits.max_frame_bytes)
}
