//! Queue membership (admin): `PUT` and `DELETE /queues/{id}/members/{analyst_id}`.

use actix_web::{HttpResponse, delete, put, web};
use serde::Deserialize;

use crate::domain::MemberRole;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::body::Body;
use crate::http::caller::Caller;
use crate::http::reload_directory;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    role: MemberRole,
}

#[utoipa::path(
    tag = "queues",
    request_body = PutMember,
    responses(
        (status = 200, description = "Changed", body = MemberView),
        (status = 201, description = "Added", body = MemberView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/queues/{id}/members/{analyst_id}")]
pub async fn put_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Body<PutMember>,
) -> AppResult<HttpResponse> {
    caller.require_admin()?;
    let (queue_id, analyst_id) = path.into_inner();
    if store::queues::find(&state.db, &queue_id).await?.is_none() {
        return Err(AppError::not_found(format!("queue {queue_id}")));
    }
    if store::analysts::find(&state.db, &analyst_id)
        .await?
        .is_none()
    {
        return Err(AppError::not_found(format!("analyst {analyst_id}")));
    }
    let (member, created) =
        store::analysts::upsert_member(&state.db, &queue_id, &analyst_id, body.0.role).await?;
    reload_directory(&state).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let role = member
        .role
        .parse::<MemberRole>()
        .map_err(|e| AppError::new(ErrorCode::Internal, e.0))?;
    Ok(response.json(MemberView {
        queue_id: member.queue_id,
        analyst_id: member.analyst_id,
        role,
    }))
}

#[utoipa::path(
    tag = "queues",
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/queues/{id}/members/{analyst_id}")]
pub async fn delete_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    caller.require_admin()?;
    let (queue_id, analyst_id) = path.into_inner();
    if store::analysts::delete_member(&state.db, &queue_id, &analyst_id).await? {
        reload_directory(&state).await?;
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::not_found(format!(
            "membership of {analyst_id} in {queue_id}"
        )))
    }
}

/// `PUT /queues/{id}/members/{analyst_id}`: the membership.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub queue_id: String,
    pub analyst_id: String,
    pub role: crate::domain::MemberRole,
}
