//! Analysts: the admin's `PUT /analysts/{id}` and `GET /analysts/{id}` (the analyst, a manager of
//! one of their queues, or an admin).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, patch, put, web};
use entities::analysts;
use serde::{Deserialize, Serialize};

use crate::actors::router::{AnalystPresence, SetStatus};
use crate::domain::{AnalystId, AnalystRole, AnalystStatus, MemberRole, Role};
use crate::error::{AppError, AppResult};
use crate::http::body::Body;
use crate::http::caller::Caller;
use crate::http::parse_id;
use crate::http::reload_directory;
use crate::protocol::Person;
use crate::state::AppState;
use crate::store;

/// An analyst as clients see them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalystView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub capacity: i32,
    pub status: String,
    pub connected: bool,
    /// The status that applies once their chats and wrap-ups are over (§9.2), or null.
    pub pending_status: Option<AnalystStatus>,
    /// Open chats plus pending wrap-ups (§9.1).
    pub open_chats: usize,
    pub queues: Vec<Membership>,
    /// Skills and their levels 1–5 (§8.1).
    pub skills: BTreeMap<String, u8>,
}

/// One queue an analyst belongs to, and in which role.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub queue_id: String,
    pub role: String,
}

/// An analyst with their memberships; the status is the live one when the router knows them.
pub async fn analyst_view(state: &AppState, a: analysts::Model) -> AppResult<AnalystView> {
    let live = state
        .router
        .send(AnalystPresence(a.id.clone()))
        .await
        .ok()
        .flatten();
    let queues = store::analysts::memberships(&state.db, &a.id)
        .await?
        .into_iter()
        .map(|m| Membership {
            queue_id: m.queue_id,
            role: m.role,
        })
        .collect();
    Ok(AnalystView {
        id: a.id,
        name: a.name,
        role: a.role,
        capacity: a.capacity,
        status: live
            .as_ref()
            .map_or(a.status, |l| l.status.as_str().to_string()),
        connected: live.as_ref().is_some_and(|l| l.connected),
        pending_status: live.as_ref().and_then(|l| l.pending_status),
        open_chats: live.as_ref().map_or(0, |l| l.open_chats),
        skills: crate::views::rules::analyst_skills(&a.skills),
        queues,
    })
}

/// The analyst's view, or `not_found` (also what a caller who may not see them gets).
async fn find_view(state: &AppState, id: &str) -> AppResult<AnalystView> {
    let analyst = store::analysts::find(&state.db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("analyst {id}")))?;
    analyst_view(state, analyst).await
}

/// Whether `caller` may see analyst `id`: admins, the analyst, and managers of one of their queues.
pub async fn may_see_analyst(
    state: &AppState,
    caller: &Caller,
    view: &AnalystView,
) -> AppResult<bool> {
    Ok(caller.id() == view.id && caller.role().is_staff()
        || manages_analyst(state, caller, view).await?)
}

/// Whether `caller` may change the analyst's status: admins, and managers of one of the analyst's
/// queues (a manager who is a member of their own queue manages themself too).
pub async fn manages_analyst(
    state: &AppState,
    caller: &Caller,
    view: &AnalystView,
) -> AppResult<bool> {
    Ok(match caller.role() {
        Role::Admin => true,
        Role::User | Role::Service => false,
        Role::Analyst | Role::Manager => {
            let managed = store::analysts::memberships(&state.db, caller.id()).await?;
            managed.iter().any(|m| {
                m.role == MemberRole::Manager.as_str()
                    && view.queues.iter().any(|q| q.queue_id == m.queue_id)
            })
        }
    })
}

#[utoipa::path(
    tag = "analysts",
    responses(
        (status = 200, description = "The analyst", body = AnalystView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/analysts/{id}")]
pub async fn get_analyst(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = find_view(&state, &id).await?;
    if !may_see_analyst(&state, &caller, &view).await? {
        return Err(AppError::not_found(format!("analyst {id}")));
    }
    Ok(HttpResponse::Ok().json(view))
}

/// Body of `PUT /analysts/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAnalyst {
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    #[serde(
        default = "default_capacity",
        deserialize_with = "crate::http::body::whole_i32"
    )]
    #[schema(minimum = 1, maximum = 100, default = 3)]
    capacity: i32,
    #[serde(default = "default_role")]
    role: AnalystRole,
    /// Skills with levels 1–5, `{"french": 4}`; names use the id syntax.
    #[serde(default)]
    skills: BTreeMap<String, i64>,
}

fn default_capacity() -> i32 {
    3
}

fn default_role() -> AnalystRole {
    AnalystRole::Analyst
}

#[utoipa::path(
    tag = "analysts",
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")),
    request_body = PutAnalyst,
    responses(
        (status = 200, description = "Replaced", body = AnalystView),
        (status = 201, description = "Created", body = AnalystView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/analysts/{id}")]
pub async fn put_analyst(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<PutAnalyst>,
) -> AppResult<HttpResponse> {
    caller.require_admin()?;
    let id: AnalystId = parse_id("analyst id", &id)?;
    let b = body.into_inner();
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request("name must be 1 to 100 characters"));
    }
    if !(1..=100).contains(&b.capacity) {
        return Err(AppError::bad_request("capacity must be between 1 and 100"));
    }
    let skills = check_skills(&b.skills)?;
    let (analyst, created) =
        store::analysts::upsert_with_skills(&state.db, &id, name, b.capacity, b.role, Some(skills))
            .await?;
    reload_directory(&state).await?;
    let view = analyst_view(&state, analyst).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(view))
}

/// Checks an analyst's skills (names in the id syntax, levels 1–5) and returns them as stored.
fn check_skills(skills: &BTreeMap<String, i64>) -> AppResult<String> {
    let mut checked = BTreeMap::new();
    for (name, level) in skills {
        if !crate::domain::is_valid_id(name) {
            return Err(AppError::bad_request(format!(
                "skills: {name:?} is not a skill name (letters, digits, . _ @ -; up to 64)"
            )));
        }
        let level = u8::try_from(*level)
            .ok()
            .filter(|l| crate::routing::skills::LEVELS.contains(l))
            .ok_or_else(|| AppError::bad_request(format!("skills.{name}: level must be 1 to 5")))?;
        checked.insert(name.clone(), level);
    }
    serde_json::to_string(&checked)
        .map_err(|e| AppError::new(crate::error::ErrorCode::Internal, e.to_string()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAnalyst {
    status: AnalystStatus,
}

/// A manager of one of the analyst's queues (or an admin) changes their status; the analyst is
/// told who changed it.
#[utoipa::path(
    tag = "analysts",
    request_body = PatchAnalyst,
    responses(
        (status = 200, description = "Status changed", body = AnalystView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Conflicts with the current state", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/analysts/{id}")]
pub async fn patch_analyst(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<PatchAnalyst>,
) -> AppResult<HttpResponse> {
    let view = find_view(&state, &id).await?;
    if !manages_analyst(&state, &caller, &view).await? {
        return Err(AppError::not_found(format!("analyst {id}")));
    }
    let by = Person {
        id: caller.0.id.clone(),
        name: caller.0.name.clone(),
    };
    let status = body.into_inner().status;
    state
        .router
        .send(SetStatus {
            analyst_id: AnalystId::from(id.as_str()),
            status,
            when: crate::protocol::StatusWhen::Now,
            by,
            reply: None,
        })
        .await
        .map_err(|e| AppError::new(crate::error::ErrorCode::Unavailable, e.to_string()))??;
    Ok(HttpResponse::Ok().json(find_view(&state, &id).await?))
}
