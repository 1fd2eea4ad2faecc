//! Chats: `GET /chats` (the Chat Queue's waiting, unanswered and answered lists, cursor-paged) and
//! `GET /chats/{id}` (summary, call and transcript). Stored rows, with the router's live state for
//! chats still open.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, web};
use entities::chats;
use serde::Deserialize;

use crate::actors::router::LiveChats;
use crate::domain::{ChatId, Role, Visibility};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::access;
use crate::http::caller::Caller;
use crate::http::calls::{CallView, call_view};
use crate::protocol::{ChatSummary, Message, Person};
use crate::state::AppState;
use crate::store;
use crate::store::chats::{ListFilter, ListQuery};
use crate::views;

/// Most chats in one page.
const MAX_PAGE: u64 = 200;

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::new(ErrorCode::Internal, e.to_string())
}

/// Summaries of stored chats, with names and the live state of the open ones. A user's
/// `last_seq` is the last message they can see (whispers left out, contract §9.3).
pub async fn summaries(
    state: &AppState,
    caller: &Caller,
    rows: Vec<chats::Model>,
) -> AppResult<Vec<ChatSummary>> {
    let user_ids: Vec<String> = rows.iter().map(|c| c.user_id.clone()).collect();
    let users = store::users::names(&state.db, &user_ids).await?;
    let analysts: HashMap<String, String> = store::analysts::list(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
    let user_view = caller.role() == Role::User;
    let last_seqs = if user_view {
        store::messages::last_visible_seqs(&state.db, &ids).await?
    } else {
        store::messages::last_seqs(&state.db, &ids).await?
    };
    let chat_ids: Vec<ChatId> = ids.iter().filter_map(|id| ChatId::parse(id).ok()).collect();
    let mut live = state
        .router
        .send(LiveChats(chat_ids))
        .await
        .map_err(internal)?;
    rows.into_iter()
        .map(|c| {
            let user = Person {
                id: c.user_id.clone(),
                name: users.get(&c.user_id).cloned().unwrap_or_default(),
            };
            let analyst = c.analyst_id.as_ref().map(|a| Person {
                id: a.clone(),
                name: analysts.get(a).cloned().unwrap_or_default(),
            });
            let last_seq = last_seqs.get(&c.id).copied().unwrap_or(0);
            let open = ChatId::parse(&c.id)
                .ok()
                .and_then(|id| live.remove(&id))
                .map(|mut l| {
                    if user_view {
                        l.last_seq = last_seq;
                    }
                    l
                });
            views::chat_summary(c, user, analyst, last_seq, open).map_err(|e| internal(e.0))
        })
        .collect()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    /// `waiting` (default), `unanswered` or `answered`.
    #[param(pattern = "^(waiting|unanswered|answered)$")]
    filter: Option<String>,
    queue_id: Option<String>,
    /// 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
    /// The previous page's `next_cursor`; absent or empty: the first page.
    cursor: Option<String>,
}

#[utoipa::path(
    tag = "chats",
    params(ChatsQuery),
    responses(
        (status = 200, description = "One page of chats", body = ChatPage),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/chats")]
pub async fn list_chats(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ChatsQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let filter = match q.filter.as_deref().unwrap_or("waiting") {
        "waiting" => ListFilter::Waiting,
        "unanswered" => ListFilter::Unanswered,
        "answered" => ListFilter::Answered,
        other => {
            return Err(AppError::bad_request(format!(
                "filter must be waiting, unanswered or answered, not {other:?}"
            )));
        }
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let (user_id, mut queue_ids) = match caller.role() {
        Role::User => (Some(caller.id().to_string()), None),
        _ => (None, access::staff_queues(&state, &caller).await?),
    };
    if let Some(queue) = q.queue_id {
        queue_ids = match queue_ids {
            Some(mine) => Some(mine.into_iter().filter(|m| *m == queue).collect()),
            None => Some(vec![queue]),
        };
    }
    let query = ListQuery {
        filter,
        queue_ids,
        user_id,
        limit,
        // `cursor=` is the start, as no cursor is: what a client that has no cursor yet sends.
        cursor: q.cursor.filter(|c| !c.is_empty()),
    };
    let (rows, next_cursor) = store::chats::list(&state.db, &query).await?;
    let chats = summaries(&state, &caller, rows).await?;
    Ok(HttpResponse::Ok().json(ChatPage { chats, next_cursor }))
}

#[utoipa::path(
    tag = "chats",
    responses(
        (status = 200, description = "The chat, its call and transcript", body = ChatDetail),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found, or not visible to the caller", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/chats/{id}")]
pub async fn get_chat(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let not_found = || AppError::not_found(format!("chat {id}"));
    let chat = store::chats::find(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    if !access::may_see_chat(&state, &caller, &chat).await? {
        return Err(not_found());
    }
    let call = call_view(&state, &chat.call_id).await?;
    let user_view = caller.role() == Role::User;
    let rows = store::messages::transcript(&state.db, &chat.id, 0, u64::MAX).await?;
    let mut files = store::attachments::of_messages(&state.db, &chat.id, &rows).await?;
    let transcript = rows
        .into_iter()
        .filter(|m| !user_view || m.visibility == Visibility::All.as_str())
        .map(|m| {
            let carried = files.remove(&m.seq).unwrap_or_default();
            views::message(m, carried).map_err(|e| internal(e.0))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let chat = summaries(&state, &caller, vec![chat])
        .await?
        .pop()
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(ChatDetail {
        chat,
        call,
        transcript,
    }))
}

/// `GET /chats`: one page of chats.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChatPage {
    pub chats: Vec<ChatSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /chats/{id}`: the chat, its call and its transcript.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChatDetail {
    pub chat: ChatSummary,
    pub call: CallView,
    pub transcript: Vec<Message>,
}
