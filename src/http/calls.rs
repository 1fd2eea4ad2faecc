//! Calls: `GET /calls/{id}`, the call (ticket) with its history, where each chat on it left its
//! transcript and the link that reopens it, and the host's ticket on it (`external_ref`,
//! `external_url`). The host's writes and look-up by ref are `http::call_tickets`.

use actix_web::{HttpResponse, get, web};
use entities::chats;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::http::access;
use crate::http::caller::{AnyCaller, Caller};
use crate::protocol::Person;
pub use crate::protocol::{CallView, HistoryView, RatingView};
use crate::state::AppState;
use crate::store;
use crate::timefmt::{rfc3339, rfc3339_opt};

/// The call with its history.
pub async fn call_view(state: &AppState, call_id: &str) -> AppResult<CallView> {
    let call = store::calls::find(&state.db, call_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("call {call_id}")))?;
    view_of(state, call).await
}

/// The view of a stored call, with its user's name and its history.
pub async fn view_of(state: &AppState, call: entities::calls::Model) -> AppResult<CallView> {
    let call_id = call.id.as_str();
    let names = store::users::names(&state.db, std::slice::from_ref(&call.user_id)).await?;
    let entries = store::calls::history(&state.db, call_id).await?;
    let chat_ids: Vec<String> = entries.iter().map(|h| h.chat_id.clone()).collect();
    let ratings = store::ratings::of_chats(&state.db, &chat_ids).await?;
    let wrap_ups = store::wrap_ups::of_chats(&state.db, &chat_ids).await?;
    let history = entries
        .into_iter()
        .map(|mut h| {
            let wrap_up = wrap_ups.get(&h.chat_id).and_then(wrap_up_view);
            // A finished wrap-up's code ends the contents (§9.1).
            if let Some(w) = &wrap_up {
                h.contents = format!("{}\nWrap-up: {}", h.contents.trim_end(), w.code);
            }
            (h, wrap_up)
        })
        .map(|(h, wrap_up)| HistoryView {
            wrap_up,
            rating: ratings.get(&h.chat_id).map(|r| RatingView {
                score: r.score,
                comment: r.comment.clone(),
                at: rfc3339(r.rated_at),
            }),
            kind: h.kind,
            chat_id: h.chat_id,
            started_at: rfc3339(h.started_at),
            ended_at: rfc3339(h.ended_at),
            contents: h.contents,
            link: h.link,
        })
        .collect();
    Ok(CallView {
        user: Person {
            name: names.get(&call.user_id).cloned().unwrap_or_default(),
            id: call.user_id,
        },
        id: call.id,
        summary: call.summary,
        source: call.source,
        status: call.status,
        created_at: rfc3339(call.created_at),
        first_contact_at: rfc3339_opt(call.first_contact_at),
        external_ref: call.external_ref,
        external_url: call.external_url,
        history,
    })
}

/// A finished wrap-up as the history shows it; none while pending.
fn wrap_up_view(row: &entities::chat_wrap_ups::Model) -> Option<crate::protocol::WrapUpView> {
    Some(crate::protocol::WrapUpView {
        code: row.code.clone()?,
        note: row.note.clone(),
        by: Person {
            id: row.by_id.clone().unwrap_or_default(),
            name: row.by_name.clone().unwrap_or_default(),
        },
        at: rfc3339(row.done_at?),
    })
}

/// The call's user, admins, and staff who may see one of the call's chats.
async fn may_see_call(state: &AppState, caller: &Caller, call: &CallView) -> AppResult<bool> {
    match caller.role() {
        Role::Admin | Role::Service => Ok(true),
        Role::User => Ok(call.user.id == caller.id()),
        Role::Analyst | Role::Manager => {
            let on_call = chats::Entity::find()
                .filter(chats::Column::CallId.eq(&call.id))
                .all(&state.db)
                .await?;
            for chat in &on_call {
                if access::may_see_chat(state, caller, chat).await? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

#[utoipa::path(
    tag = "calls",
    responses(
        (status = 200, description = "The call with its history", body = CallView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calls/{id}")]
pub async fn get_call(
    state: web::Data<AppState>,
    caller: AnyCaller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let mut call = call_view(&state, &id).await?;
    if !may_see_call(&state, &caller, &call).await? {
        return Err(AppError::not_found(format!("call {id}")));
    }
    if caller.role() == Role::User {
        // A wrap-up note is the desk's after-chat work, like a whisper: never its user's to read.
        for entry in &mut call.history {
            if let Some(wrap_up) = &mut entry.wrap_up {
                wrap_up.note = None;
            }
        }
    }
    Ok(HttpResponse::Ok().json(call))
}
