//! The `Caller` extractor (HTTP edge; identity itself is `auth`): verifies the request's `Authorization: Bearer` token (any case of the
//! scheme name) and, for analysts
//! and managers, that they exist in the directory (a valid token for an unknown analyst is
//! `forbidden`). Handlers then ask the caller what it may do with `require_*`.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store;

/// An authenticated caller of an HTTP route.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

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

    /// Admin-only routes refuse everyone else with `forbidden`.
    pub fn require_admin(&self) -> AppResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::forbidden("this route is for admins"))
        }
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

/// Verifies a token and checks that staff exist in the directory.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Principal> {
    let now = chrono::Utc::now().timestamp();
    let principal = state
        .keys
        .verify(token, now)
        .map_err(|e| AppError::unauthorized(e.to_string()))?;
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

/// The caller of a route a browser may open without headers (an `EventSource`, an `<img>`): a
/// single-use `ticket` from `POST /api/v1/ws-tickets` when given, else the bearer token.
pub async fn bearer_or_ticket(
    req: &HttpRequest,
    ticket: Option<&str>,
    state: &AppState,
) -> AppResult<Principal> {
    match (ticket, bearer_token(req)) {
        (Some(ticket), _) => state
            .tickets
            .redeem(ticket)
            .ok_or_else(|| AppError::unauthorized("ticket is unknown, used or expired")),
        (None, Some(token)) => authenticate(state, token).await,
        (None, None) => Err(AppError::unauthorized(
            "a bearer token or a ticket is required",
        )),
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(str::to_owned);
        Box::pin(async move {
            let state = state
                .ok_or_else(|| AppError::new(crate::error::ErrorCode::Internal, "no state"))?;
            let token = token.ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
            authenticate(&state, &token).await.map(Caller)
        })
    }
}
