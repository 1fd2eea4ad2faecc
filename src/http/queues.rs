//! Queues: `GET /queues`, `GET /queues/{id}` (QueueView with live figures) and the admin's
//! `PUT /queues/{id}` that creates or replaces a queue's settings (its §8 routing rules are
//! checked in `queue_rules`).

#[path = "queue_rules.rs"]
mod rules;

use actix_web::{HttpResponse, get, patch, put, web};
use entities::queues;
use serde::Deserialize;

use crate::actors::queue_views::queue_views;
use crate::actors::router::{AnalystTable, SetQueueEnabled};
use crate::actors::store_writer::{ChatChange, StoreChanges, committed};
use crate::actors::webhook_events;
use crate::domain::{QueueId, Role, RoutingMode};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::access;
use crate::http::body::Body;
use crate::http::caller::Caller;
use crate::http::parse_id;
use crate::http::reload_directory;
use crate::protocol::Person;
use crate::protocol::{ExpansionRule, OverflowRule, QueueView, ScheduleSpec};
use crate::state::AppState;
use crate::store;
use crate::store::queues::QueueSpec;

/// The queues the caller may see: admins and users all of them (users pick one to chat in),
/// analysts and managers the queues they belong to.
pub async fn visible_queues(state: &AppState, caller: &Caller) -> AppResult<Vec<queues::Model>> {
    match caller.role() {
        Role::Admin | Role::User => store::queues::list(&state.db).await,
        // `Caller` refuses `service`; it sees no queue.
        Role::Service => Ok(Vec::new()),
        Role::Analyst | Role::Manager => {
            store::queues::list_for_analyst(&state.db, caller.id()).await
        }
    }
}

#[utoipa::path(
    tag = "queues",
    responses(
        (status = 200, description = "The queues the caller may see", body = Vec<QueueView>),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/queues")]
pub async fn list_queues(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    let queues = visible_queues(&state, &caller).await?;
    Ok(HttpResponse::Ok().json(queue_views(&state, queues).await?))
}

#[utoipa::path(
    tag = "queues",
    responses(
        (status = 200, description = "The queue", body = QueueView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/queues/{id}")]
pub async fn get_queue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let queue = visible_queues(&state, &caller)
        .await?
        .into_iter()
        .find(|q| q.id == *id)
        .ok_or_else(|| AppError::not_found(format!("queue {id}")))?;
    let mut views = queue_views(&state, vec![queue]).await?;
    Ok(HttpResponse::Ok().json(views.pop()))
}

/// Body of `PUT /queues/{id}`: `name` and `routing` required, the rest defaulted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutQueue {
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    routing: RoutingMode,
    #[serde(default)]
    #[schema(max_length = 1000)]
    description: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default, deserialize_with = "crate::http::body::whole_i32")]
    priority: i32,
    #[serde(
        default = "default_sla",
        deserialize_with = "crate::http::body::whole_i32"
    )]
    #[schema(minimum = 1, default = 60)]
    sla_answer_secs: i32,
    #[serde(default, deserialize_with = "crate::http::body::whole_i32")]
    #[schema(minimum = 0)]
    max_wait_secs: i32,
    /// Defaults to `routing.offer_timeout_secs`.
    #[serde(default, deserialize_with = "crate::http::body::opt_whole_i32")]
    #[schema(minimum = 1)]
    offer_timeout_secs: Option<i32>,
    /// Skills a chat may ask for (§8.1).
    #[serde(default)]
    skills: Vec<String>,
    /// Expansion steps, in increasing `after_secs` (§8.1).
    #[serde(default)]
    expansion: Vec<ExpansionRule>,
    /// Overflow to another queue (§8.2); cycles are refused.
    #[serde(default)]
    overflow: Option<OverflowRule>,
    /// Most chats waiting before `start_chat` answers `queue_full` (0 = no limit).
    #[serde(default, deserialize_with = "crate::http::body::whole_i32")]
    #[schema(minimum = 0)]
    max_waiting: i32,
    /// Business hours (§8.3); null = always open.
    #[serde(default)]
    schedule: Option<ScheduleSpec>,
    /// After-chat work (§9.1); absent or null = off.
    #[serde(default)]
    wrap_up: Option<crate::protocol::WrapUpRule>,
}

fn yes() -> bool {
    true
}

fn default_sla() -> i32 {
    60
}

#[utoipa::path(
    tag = "queues",
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")),
    request_body = PutQueue,
    responses(
        (status = 200, description = "Replaced", body = QueueView),
        (status = 201, description = "Created", body = QueueView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/queues/{id}")]
pub async fn put_queue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<PutQueue>,
) -> AppResult<HttpResponse> {
    caller.require_admin()?;
    let id: QueueId = parse_id("queue id", &id)?;
    let b = body.into_inner();
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_request("name must be 1 to 100 characters"));
    }
    if b.description.chars().count() > 1000 {
        return Err(AppError::bad_request(
            "description must be at most 1000 characters",
        ));
    }
    let default_offer =
        i32::try_from(state.settings.routing.offer_timeout_secs).unwrap_or(i32::MAX);
    let offer_timeout_secs = b.offer_timeout_secs.unwrap_or(default_offer);
    for (field, value, min) in [
        ("sla_answer_secs", b.sla_answer_secs, 1),
        ("max_wait_secs", b.max_wait_secs, 0),
        ("offer_timeout_secs", offer_timeout_secs, 1),
        ("max_waiting", b.max_waiting, 0),
    ] {
        if value < min {
            return Err(AppError::bad_request(format!(
                "{field} must be at least {min}"
            )));
        }
    }
    let rules = rules::check(&state, &id, &b).await?;
    let spec = QueueSpec {
        name,
        description: b.description,
        enabled: b.enabled,
        routing: b.routing,
        priority: b.priority,
        sla_answer_secs: b.sla_answer_secs,
        max_wait_secs: b.max_wait_secs,
        offer_timeout_secs,
    };
    let (queue, created) =
        store::queues::upsert_with_rules(&state.db, &id, spec, Some(rules)).await?;
    reload_directory(&state).await?;
    let mut views = queue_views(&state, vec![queue]).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(views.pop()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchQueue {
    enabled: bool,
}

/// A manager of the queue (or an admin) turns it on or off; its analysts are told who did.
#[utoipa::path(
    tag = "queues",
    request_body = PatchQueue,
    responses(
        (status = 200, description = "Changed", body = QueueView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/queues/{id}")]
pub async fn patch_queue(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<PatchQueue>,
) -> AppResult<HttpResponse> {
    let not_found = || AppError::not_found(format!("queue {id}"));
    store::queues::find(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    if !access::may_manage_queue(&state, &caller, &id).await? {
        return Err(not_found());
    }
    let enabled = body.into_inner().enabled;
    let by = Person {
        id: caller.0.id.clone(),
        name: caller.0.name.clone(),
    };
    // Stored with its `queue.status_changed` webhook, in one transaction.
    let event = webhook_events::queue_status(&id, enabled, by.clone(), chrono::Utc::now());
    let change = ChatChange::QueueEnabled {
        queue_id: id.to_string(),
        enabled,
    };
    let changes = StoreChanges(vec![change, ChatChange::Outbox(vec![event])]);
    committed(&state.writer, changes).await?;
    let queue = store::queues::find(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    state.router.do_send(SetQueueEnabled {
        queue_id: QueueId::from(id.as_str()),
        enabled,
        by,
    });
    let mut views = queue_views(&state, vec![queue]).await?;
    Ok(HttpResponse::Ok().json(views.pop()))
}

/// The Chat Manager's analyst table: status, open chats and who each analyst is chatting with.
#[utoipa::path(
    tag = "queues",
    responses(
        (status = 200, description = "The Chat Manager's analyst table", body = Vec<crate::actors::router::AnalystRow>),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/queues/{id}/analysts")]
pub async fn queue_analysts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let not_found = || AppError::not_found(format!("queue {id}"));
    store::queues::find(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    if !access::may_manage_queue(&state, &caller, &id).await? {
        return Err(not_found());
    }
    let rows = state
        .router
        .send(AnalystTable {
            queue_id: QueueId::from(id.as_str()),
        })
        .await
        .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?;
    Ok(HttpResponse::Ok().json(rows))
}
