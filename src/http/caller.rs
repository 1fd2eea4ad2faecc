//! The caller extractors (HTTP edge; identity itself is `auth`): each verifies the request's
//! `Authorization: Bearer` token (any case of the scheme name) and, for analysts and managers,
//! that they exist in the directory (a valid token for an unknown analyst is `forbidden`).
//!
//! Which extractor a handler takes says who may call it:
//! - `Caller`: people (user, analyst, manager, admin). The `service` role is refused with 403, so
//!   every route is closed to it unless it opts in (contract §10.3).
//! - `AnyCaller`: people and `service`, for the routes `service` shares with them (reading a
//!   call, downloading an attachment); handlers then check what the caller may see.
//! - `AdminOrService`: admins and `service` only (creating and editing calls, webhooks).
//!
//! Handlers then ask the caller what it may do with `require_*`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::auth::{Principal, TokenError};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store;

/// An authenticated person calling an HTTP route (never the `service` role).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// An authenticated caller of a route open to people and to the `service` role.
#[derive(Debug, Clone)]
pub struct AnyCaller(pub Caller);

/// An admin or the `service` role: the host's integration routes.
#[derive(Debug, Clone)]
pub struct AdminOrService(pub Caller);

impl Caller {
    pub fn id(&self) -> &str {
        &self.0.id
    }

    pub fn role(&self) -> Role {
        self.0.role
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }

    /// Admins and the `service` role, who read every call, chat and attachment.
    pub fn is_admin_or_service(&self) -> bool {
        matches!(self.0.role, Role::Admin | Role::Service)
    }

    /// Admin-only routes refuse everyone else with `forbidden`.
    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("this route is for admins"))
        }
    }
}

impl std::ops::Deref for AnyCaller {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl std::ops::Deref for AdminOrService {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

/// Reads the bearer token from a request, if it carries one. The scheme name is
/// case-insensitive (RFC 6750, RFC 9110 §11.1): `Bearer`, `bearer` and `BEARER` all work.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The refusal of the `service` role on every route not made for it.
pub fn service_refused() -> AppError {
    AppError::forbidden(
        "role service may use only the calls, webhooks and attachment download routes",
    )
}

/// Verifies a token for a person: like `authenticate_any`, and the `service` role is refused
/// (`/ws`, `/api/v1/events` and every route that takes `Caller`).
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Principal> {
    let principal = authenticate_any(state, token).await?;
    if principal.role == Role::Service {
        return Err(service_refused());
    }
    Ok(principal)
}

/// Verifies a token and checks that staff exist in the directory; every role, `service` included.
/// A token signed with a key the identity provider's set lacks makes the set be fetched again
/// (at most every `auth.jwks_min_refetch_secs`), then is verified once more.
pub async fn authenticate_any(state: &AppState, token: &str) -> AppResult<Principal> {
    let now = chrono::Utc::now().timestamp();
    let mut verified = state.keys.verify(token, now);
    if let (Err(TokenError::UnknownKey(kid)), Some(jwks)) = (&verified, state.keys.jwks())
        && jwks.refresh_for_kid(kid).await
    {
        verified = state.keys.verify(token, now);
    }
    let principal = verified.map_err(|e| match e {
        TokenError::Forbidden(_) => AppError::forbidden(e.to_string()),
        _ => AppError::unauthorized(e.to_string()),
    })?;
    if principal.role.is_staff()
        && store::analysts::find(&state.db, &principal.id)
            .await?
            .is_none()
    {
        return Err(AppError::forbidden(format!(
            "analyst {} is not in the directory",
            principal.id
        )));
    }
    Ok(principal)
}

/// The person calling a route a browser may open without headers (an `EventSource`): a
/// single-use `ticket` from `POST /api/v1/ws-tickets` when given, else the bearer token (the
/// `service` role refused, as `authenticate` does).
pub async fn bearer_or_ticket(
    req: &HttpRequest,
    ticket: Option<&str>,
    state: &AppState,
) -> AppResult<Principal> {
    match ticket {
        Some(ticket) => redeem(state, ticket),
        None => authenticate(state, need_bearer(req)?).await,
    }
}

/// Like `bearer_or_ticket`, for routes the `service` role shares (downloading an attachment).
/// Tickets are minted by people only, so a ticket never carries `service`.
pub async fn bearer_or_ticket_any(
    req: &HttpRequest,
    ticket: Option<&str>,
    state: &AppState,
) -> AppResult<Principal> {
    match ticket {
        Some(ticket) => redeem(state, ticket),
        None => authenticate_any(state, need_bearer(req)?).await,
    }
}

fn redeem(state: &AppState, ticket: &str) -> AppResult<Principal> {
    state
        .tickets
        .redeem(ticket)
        .ok_or_else(|| AppError::unauthorized("ticket is unknown, used or expired"))
}

fn need_bearer(req: &HttpRequest) -> AppResult<&str> {
    bearer_token(req)
        .ok_or_else(|| AppError::unauthorized("a bearer token or a ticket is required"))
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// The request's verified principal, any role; the extractors below narrow it.
fn principal_of(req: &HttpRequest) -> Extracted<Principal> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req).map(str::to_owned);
    Box::pin(async move {
        let state =
            state.ok_or_else(|| AppError::new(crate::error::ErrorCode::Internal, "no state"))?;
        let token = token.ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
        authenticate_any(&state, &token).await
    })
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = principal_of(req);
        Box::pin(async move {
            let principal = principal.await?;
            if principal.role == Role::Service {
                return Err(service_refused());
            }
            Ok(Caller(principal))
        })
    }
}

impl FromRequest for AnyCaller {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = principal_of(req);
        Box::pin(async move { Ok(AnyCaller(Caller(principal.await?))) })
    }
}

impl FromRequest for AdminOrService {
    type Error = AppError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let principal = principal_of(req);
        Box::pin(async move {
            let caller = Caller(principal.await?);
            if caller.is_admin_or_service() {
                Ok(AdminOrService(caller))
            } else {
                Err(AppError::forbidden(
                    "this route is for admins and the service role",
                ))
            }
        })
    }
}
