//! Commands about chats that are no longer open (no chat actor): answered from the database.
//! Sending or typing to an ended chat is a `conflict`; `resume` replays its stored messages;
//! `link_call` (by whom the linking rule allows, `actors::linking`) has the store writer link it
//! and write its transcript into the other call's history. A chat the caller never took part in is `not_found`, exactly
//! like one that does not exist.

use actix_web::web;
use chrono::Utc;

use super::chat::{REPLAY_PAGE, RESUME_WINDOW};
use super::hub::Reply;
use super::linking;
use super::store_writer::{ChatChange, StoreChange, committed};
use crate::domain::{ChatId, ChatState, Role, Visibility};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{self, Actor as ActorRef, OkResult};
use crate::state::AppState;
use crate::store;
use crate::views;

/// The stored chat, if `who` took part in it (its user, or the analyst who had it).
async fn own_chat(
    state: &AppState,
    who: &ActorRef,
    chat_id: ChatId,
) -> AppResult<entities::chats::Model> {
    let chat = store::chats::find(&state.db, &chat_id.to_string()).await?;
    chat.filter(|c| match who.role {
        Role::User => c.user_id == who.id,
        Role::Analyst | Role::Manager => c.analyst_id.as_deref() == Some(who.id.as_str()),
        Role::Admin | Role::Service => false,
    })
    .ok_or_else(|| AppError::not_found(format!("chat {chat_id}")))
}

/// `send` or `typing` to a chat with no actor: it has ended (or never was the caller's).
pub async fn refuse_ended(
    state: web::Data<AppState>,
    who: ActorRef,
    chat_id: ChatId,
) -> AppResult<OkResult> {
    own_chat(&state, &who, chat_id).await?;
    Err(AppError::conflict("the chat has ended"))
}

/// `rate`: the user's rating of their answered chat once it has ended, once (`conflict` after,
/// and for a chat still open or never answered). The store writer commits it; the row read back
/// tells whether this command's rating is the one stored.
pub async fn rate(
    state: web::Data<AppState>,
    who: ActorRef,
    chat_id: ChatId,
    score: i64,
    comment: Option<String>,
) -> AppResult<OkResult> {
    let chat = own_chat(&state, &who, chat_id).await?;
    if chat.state != ChatState::Closed.as_str() {
        return Err(AppError::conflict(
            "only an answered chat that has ended can be rated",
        ));
    }
    let rating = store::ratings::NewRating {
        chat_id: chat.id.clone(),
        rating_id: uuid::Uuid::now_v7().to_string(),
        queue_id: chat.queue_id.clone(),
        score: i32::try_from(score).map_err(|_| AppError::bad_request("score must be 1 to 5"))?,
        comment,
        rated_at: Utc::now(),
    };
    let mine = rating.rating_id.clone();
    if store::ratings::find(&state.db, &chat.id).await?.is_some() {
        return Err(AppError::conflict("this chat has already been rated"));
    }
    let summary = super::webhook_events::ended_summary(&state.db, chat_id).await?;
    let view = crate::protocol::RatingView {
        score: rating.score,
        comment: rating.comment.clone(),
        at: crate::timefmt::rfc3339(rating.rated_at),
    };
    let event = super::webhook_events::rated(summary, view, rating.rated_at);
    committed(
        &state.writer,
        StoreChange(ChatChange::Rate(rating, Some(event))),
    )
    .await?;
    match store::ratings::find(&state.db, &chat.id).await? {
        Some(stored) if stored.rating_id == mine => Ok(OkResult::Chat { chat_id }),
        _ => Err(AppError::conflict("this chat has already been rated")),
    }
}

/// `monitor`, `join`, `unmonitor` or `leave` of a chat with no actor: `conflict` (it has ended)
/// for a manager of its queue or an admin, `not_found` for everyone else.
pub async fn refuse_supervise_ended(
    state: web::Data<AppState>,
    who: ActorRef,
    chat_id: ChatId,
) -> AppResult<OkResult> {
    let not_found = || AppError::not_found(format!("chat {chat_id}"));
    let chat = store::chats::find(&state.db, &chat_id.to_string())
        .await?
        .ok_or_else(not_found)?;
    if !super::chat::may_supervise(&state.db, &who, &chat.queue_id).await? {
        return Err(not_found());
    }
    Err(AppError::conflict("the chat has ended"))
}

/// `resume` of an ended chat: its stored messages after `after_seq`, a page at a time as the
/// session's outbox has room, then ok.
pub async fn resume(
    state: web::Data<AppState>,
    who: ActorRef,
    chat_id: ChatId,
    after_seq: i64,
    to: Reply,
) -> AppResult<OkResult> {
    let chat = own_chat(&state, &who, chat_id).await?;
    let id = chat_id.to_string();
    // A user is replayed no whisper, and their last seq is the last they can see.
    let user = who.role == Role::User;
    let last_seq = store::messages::last_seqs(&state.db, std::slice::from_ref(&id))
        .await?
        .get(&id)
        .copied()
        .unwrap_or(0);
    let last_visible = if user {
        store::messages::last_visible_seqs(&state.db, std::slice::from_ref(&id))
            .await?
            .get(&id)
            .copied()
            .unwrap_or(0)
    } else {
        last_seq
    };
    if last_seq - after_seq > RESUME_WINDOW as i64 {
        return Err(AppError::new(
            ErrorCode::TooFarBehind,
            format!("more than {RESUME_WINDOW} messages behind: read the transcript over HTTP"),
        ));
    }
    let outbox = to.link.outbox().clone();
    let _replaying = outbox.begin_replay(chat_id).ok_or_else(|| {
        AppError::conflict("a resume of this chat is already running on this connection")
    })?;
    let mut sent = after_seq;
    while sent < last_seq {
        let page = store::messages::transcript(&state.db, &id, sent, REPLAY_PAGE).await?;
        if page.is_empty() {
            break;
        }
        let mut files = store::attachments::of_messages(&state.db, &id, &page).await?;
        for m in page {
            sent = m.seq;
            if user && m.visibility == Visibility::Internal.as_str() {
                continue;
            }
            let carried = files.remove(&m.seq).unwrap_or_default();
            let message =
                views::message(m, carried).map_err(|e| AppError::new(ErrorCode::Internal, e.0))?;
            let frame = protocol::encode(&message);
            while !to.link.push_paced(&frame) {
                if outbox.is_closed() {
                    return Err(AppError::new(ErrorCode::Unavailable, "the session closed"));
                }
                outbox.room(frame.len()).await;
            }
        }
    }
    let state = chat
        .state
        .parse()
        .map_err(|_| AppError::new(ErrorCode::Internal, "a stored chat state is unknown"))?;
    Ok(OkResult::Resumed {
        chat_id,
        state,
        last_seq: last_visible,
    })
}

/// `link_call` on an ended chat: checked against the linking rule (`actors::linking`), then its
/// transcript goes into the call's history now.
pub async fn link_ended(
    state: web::Data<AppState>,
    who: ActorRef,
    chat_id: ChatId,
    call_id: String,
) -> AppResult<OkResult> {
    let chat = store::chats::find(&state.db, &chat_id.to_string())
        .await?
        .ok_or_else(|| AppError::not_found(format!("chat {chat_id}")))?;
    let target = linking::LinkTarget {
        chat_id,
        queue_id: &chat.queue_id,
        user_id: &chat.user_id,
        // A chat without an actor has ended (its row may still be catching up): no active analyst.
        active_analyst: None,
        former_analyst: chat.analyst_id.as_deref(),
    };
    linking::check(&state.db, &who, &target, &call_id).await?;
    let messages = store::messages::transcript(&state.db, &chat.id, 0, u64::MAX).await?;
    let files = store::attachments::of_messages(&state.db, &chat.id, &messages).await?;
    let entry = store::history::HistoryEntry {
        call_id: call_id.clone(),
        chat_id: chat.id.clone(),
        started_at: chat.created_at,
        ended_at: chat.ended_at.unwrap_or_else(Utc::now),
        contents: store::history::transcript_text(&messages, &files),
    };
    let link = ChatChange::Link {
        chat_id: chat.id.clone(),
        call_id: call_id.clone(),
    };
    for change in [link, ChatChange::History(vec![entry])] {
        committed(&state.writer, StoreChange(change)).await?;
    }
    Ok(OkResult::Linked { chat_id, call_id })
}
