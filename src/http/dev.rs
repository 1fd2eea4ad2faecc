//! `POST /dev/token`: mints a token for the demo pages. Mounted only when `auth.dev_login` is on,
//! which every profile but development and test refuses.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};

use crate::auth::Claims;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::http::body::Body;
use crate::http::check_id;
use crate::state::AppState;

/// Demo tokens last a working day.
const DEV_TOKEN_TTL_SECS: i64 = 8 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTokenRequest {
    sub: String,
    role: Role,
    name: String,
}

/// The minted token: `{"token"}`.
#[derive(Debug, Serialize)]
struct DevToken {
    token: String,
}

#[post("/dev/token")]
pub async fn dev_token(
    state: web::Data<AppState>,
    body: Body<DevTokenRequest>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    check_id("sub", &body.sub)?;
    if body.name.trim().is_empty() {
        return Err(AppError::bad_request("name must not be empty"));
    }
    // Never longer than the server itself accepts.
    let max = i64::try_from(state.settings.auth.max_token_ttl_secs).unwrap_or(i64::MAX);
    let ttl = DEV_TOKEN_TTL_SECS.min(max);
    let token = state
        .keys
        .sign(&Claims {
            sub: body.sub,
            role: body.role,
            name: body.name,
            exp: chrono::Utc::now().timestamp() + ttl,
        })
        .map_err(|e| AppError::new(crate::error::ErrorCode::Internal, e.to_string()))?;
    Ok(HttpResponse::Ok().json(DevToken { token }))
}
