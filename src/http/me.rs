//! `GET /api/v1/me`: who the caller is; for analysts and managers also status, capacity and queues.

use actix_web::{HttpResponse, get, web};

use crate::error::AppResult;
use crate::http::analysts::analyst_view;
use crate::http::caller::Caller;
use crate::state::AppState;
use crate::store;

#[utoipa::path(
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = MeView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let p = caller.0;
    let mut me = MeView {
        id: p.id,
        name: p.name,
        role: p.role,
        status: None,
        capacity: None,
        queues: None,
    };
    if p.role.is_staff()
        && let Some(analyst) = store::analysts::find(&state.db, &me.id).await?
    {
        let view = analyst_view(&state, analyst).await?;
        me.status = Some(view.status);
        me.capacity = Some(view.capacity);
        me.queues = Some(view.queues);
    }
    Ok(HttpResponse::Ok().json(me))
}

/// `GET /me`: the caller; `status`, `capacity` and `queues` for analysts and managers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub id: String,
    pub name: String,
    pub role: crate::domain::Role,
    /// Analysts and managers only (absent for others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Analysts and managers only (absent for others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
    /// Analysts and managers only (absent for others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<crate::http::analysts::Membership>>,
}
