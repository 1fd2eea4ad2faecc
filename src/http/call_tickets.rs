//! The host's ticket routes (contract §10.2), for admins and the `service` role:
//! `POST /calls` opens a call for a user, `PATCH /calls/{id}` edits its summary, ticket id and
//! ticket URL, and `GET /calls?external_ref=` finds the call holding a ticket id. Input is checked
//! here; the writes are committed by the store writer (`StoreCall`), which answers `conflict` for a
//! ticket id another call holds.

use actix_web::{HttpResponse, get, http::header, patch, post, web};
use serde::{Deserialize, Deserializer, Serialize};

use crate::actors::store_writer::{CallWrite, StoreCall, committed};
use crate::error::{AppError, AppResult};
use crate::http::body::Body;
use crate::http::caller::AdminOrService;
use crate::http::calls::{CallView, call_view, view_of};
use crate::http::check_id;
use crate::state::AppState;
use crate::store;
use crate::store::calls::{CallPatch, NewCall};
use crate::ticket::{check_ref, check_url};

/// Longest call summary, in characters.
const MAX_SUMMARY_CHARS: usize = 500;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCall {
    /// The user the call is for (id syntax); recorded when they have not chatted yet.
    #[schema(pattern = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    user_id: String,
    /// 1 to 500 characters, not only spaces.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    summary: String,
    /// The host's ticket id: 1 to 64 characters, unique across calls.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    external_ref: Option<String>,
    /// Absolute http(s) URL of the host's ticket.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r"^https?://[^/?#\s]+")]
    external_url: Option<String>,
}

/// `Some(value)` for a field that is present, `null` included; absent is `None` (with `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCall {
    /// 1 to 500 characters, not only spaces.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    summary: Option<String>,
    /// The host's ticket id; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$")]
    external_ref: Option<Option<String>>,
    /// Absolute http(s) URL of the host's ticket; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = r"^https?://[^/?#\s]+")]
    external_url: Option<Option<String>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// The host's ticket id to look up.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    external_ref: String,
}

/// `GET /calls?external_ref=`: the call holding the ref, if any (at most one).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallList {
    pub calls: Vec<CallView>,
}

fn check_summary(summary: &str) -> AppResult<()> {
    let chars = summary.chars().count();
    if summary.trim().is_empty() || chars > MAX_SUMMARY_CHARS {
        return Err(AppError::bad_request(format!(
            "summary must be 1 to {MAX_SUMMARY_CHARS} characters, not only spaces"
        )));
    }
    Ok(())
}

/// Commits a call write and answers with the call's view.
async fn write(state: &AppState, write: CallWrite) -> AppResult<CallView> {
    let id = committed(&state.writer, StoreCall(write)).await??;
    call_view(state, &id).await
}

#[utoipa::path(
    tag = "calls",
    request_body = PostCall,
    responses(
        (status = 201, description = "The call was opened", body = CallView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another call holds the external_ref", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/calls")]
pub async fn post_call(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    body: Body<PostCall>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    check_id("user_id", &b.user_id)?;
    check_summary(&b.summary)?;
    if let Some(external_ref) = &b.external_ref {
        check_ref("external_ref", external_ref)?;
    }
    if let Some(url) = &b.external_url {
        check_url("external_url", url)?;
    }
    let call = NewCall {
        user_id: b.user_id,
        summary: b.summary.trim().to_string(),
        external_ref: b.external_ref,
        external_url: b.external_url,
        at: chrono::Utc::now(),
    };
    let view = write(&state, CallWrite::Create(call)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/calls/{}", view.id)))
        .json(view))
}

#[utoipa::path(
    tag = "calls",
    request_body = PatchCall,
    responses(
        (status = 200, description = "The call as changed", body = CallView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such call", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another call holds the external_ref", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/calls/{id}")]
pub async fn patch_call(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    id: web::Path<String>,
    body: Body<PatchCall>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    if let Some(summary) = &b.summary {
        check_summary(summary)?;
    }
    if let Some(Some(external_ref)) = &b.external_ref {
        check_ref("external_ref", external_ref)?;
    }
    if let Some(Some(url)) = &b.external_url {
        check_url("external_url", url)?;
    }
    if b.summary.is_none() && b.external_ref.is_none() && b.external_url.is_none() {
        // Nothing to change: the call as it is.
        return Ok(HttpResponse::Ok().json(call_view(&state, &id).await?));
    }
    let patch = CallPatch {
        summary: b.summary.map(|s| s.trim().to_string()),
        external_ref: b.external_ref,
        external_url: b.external_url,
    };
    let id = id.into_inner();
    let view = write(&state, CallWrite::Update { id, patch }).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "calls",
    params(CallsQuery),
    responses(
        (status = 200, description = "The call holding the ref, or none", body = CallList),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls")]
pub async fn find_calls(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    query: web::Query<CallsQuery>,
) -> AppResult<HttpResponse> {
    check_ref("external_ref", &query.external_ref)?;
    let mut calls = Vec::new();
    if let Some(call) = store::calls::find_by_ref(&state.db, &query.external_ref).await? {
        calls.push(view_of(&state, call).await?);
    }
    Ok(HttpResponse::Ok().json(CallList { calls }))
}
