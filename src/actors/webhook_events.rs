//! What each change reports to webhook endpoints (contract §10.1): the `OutboxEvent`s the store
//! writer commits with the change. Starts report `call.created` (for a call opened by the chat)
//! and `chat.queued`; a chat's steps report `chat.accepted`, `chat.queued` (its analyst was lost),
//! `chat.transferred` and `chat.ended`; the router reports `analyst.status_changed`; a manager's
//! switch reports `queue.status_changed`; a call the host opens reports `call.created`.
//!
//! A finished wrap-up reports `chat.wrapped_up` and a rating `chat.rated`, each written by the
//! store writer with its change only when the change took effect (a wrap-up still pending, the
//! chat's first rating), with the ended chat's summary read back (`ended_summary`).

use chrono::{DateTime, Utc};

use crate::domain::{AnalystStatus, ChatId, ChatState, EndReason, QueueId};
use crate::error::{AppError, AppResult};
use crate::protocol::{
    AnalystStatusData, CallView, ChatEndedData, ChatEventData, ChatRatedData, ChatSummary,
    ChatWrappedUpData, Person, QueueStatusData, RatingView, WebhookEventType, WrapUpView,
};
use crate::store::chats::{ChatToStart, StartedCall};
use crate::store::webhooks::OutboxEvent;
use crate::timefmt::rfc3339;

/// An event of `kind` about chat `chat_id` (ordered among that chat's events).
pub fn event(
    kind: WebhookEventType,
    chat_id: ChatId,
    at: DateTime<Utc>,
    data: &impl serde::Serialize,
) -> OutboxEvent {
    OutboxEvent::new(kind, Some(chat_id.to_string()), at, data)
}

/// `chat.queued`, `chat.accepted` or `chat.transferred`, with the chat as it is now.
pub fn chat(kind: WebhookEventType, mut chat: ChatSummary, at: DateTime<Utc>) -> OutboxEvent {
    chat.position = None;
    let data = ChatEventData {
        chat_id: chat.chat_id,
        call_id: chat.call_id.clone(),
        queue_id: chat.queue_id.clone(),
        chat,
    };
    event(kind, data.chat_id, at, &data)
}

/// `chat.ended`. Its transcript is read from the stored messages when it is delivered (they
/// are all stored by then and never change), so the outbox row stays small and the commit
/// reads nothing.
pub fn chat_ended(mut chat: ChatSummary, reason: EndReason, at: DateTime<Utc>) -> OutboxEvent {
    chat.position = None;
    let data = ChatEndedData {
        chat_id: chat.chat_id,
        call_id: chat.call_id.clone(),
        queue_id: chat.queue_id.clone(),
        chat,
        transcript: Vec::new(),
        end_reason: reason,
        wrap_up: None,
    };
    event(WebhookEventType::ChatEnded, data.chat_id, at, &data)
}

/// `call.created` for a call the host opened (`POST /api/v1/calls`), ordered among that
/// call's events.
pub fn call_created(view: &CallView, at: DateTime<Utc>) -> OutboxEvent {
    OutboxEvent::new(
        WebhookEventType::CallCreated,
        Some(format!("call:{}", view.id)),
        at,
        view,
    )
}

/// The events of a batch of stored starts: `call.created` for each call a chat opened, then
/// `chat.queued`, both ordered with the chat's later events. Refused starts (`None`) report
/// nothing.
pub fn started(starts: &[ChatToStart], calls: &[Option<StartedCall>]) -> Vec<OutboxEvent> {
    let mut events = Vec::new();
    for (start, call) in starts.iter().zip(calls) {
        let (Some(call), Ok(chat_id)) = (call, ChatId::parse(&start.chat_id)) else {
            continue;
        };
        let user = Person {
            id: start.user_id.clone(),
            name: start.user_name.clone(),
        };
        let created_at = rfc3339(start.created_at);
        if call.created {
            let view = CallView {
                id: call.call_id.clone(),
                user: user.clone(),
                summary: if start.subject.is_empty() {
                    "Chat".to_string()
                } else {
                    start.subject.clone()
                },
                source: "Chat".to_string(),
                status: "open".to_string(),
                created_at: created_at.clone(),
                first_contact_at: None,
                external_ref: call.external_ref.clone(),
                external_url: None,
                history: Vec::new(),
            };
            events.push(event(
                WebhookEventType::CallCreated,
                chat_id,
                start.created_at,
                &view,
            ));
        }
        let summary = ChatSummary {
            chat_id,
            queue_id: QueueId::from(start.queue_id.as_str()),
            state: ChatState::Waiting,
            user,
            analyst: None,
            subject: start.subject.clone(),
            call_id: call.call_id.clone(),
            created_at,
            accepted_at: None,
            ended_at: None,
            end_reason: None,
            position: None,
            last_seq: 0,
            skills: crate::views::rules::chat_skills(&start.skills),
            skills_relaxed: 0,
            wrap_up: None,
        };
        events.push(chat(
            WebhookEventType::ChatQueued,
            summary,
            start.created_at,
        ));
    }
    events
}

/// `analyst.status_changed`, ordered among that analyst's.
pub fn analyst_status(
    analyst_id: &str,
    status: AnalystStatus,
    by: Person,
    at: DateTime<Utc>,
) -> OutboxEvent {
    let data = AnalystStatusData {
        analyst_id: analyst_id.to_string(),
        status,
        by,
        at: rfc3339(at),
    };
    OutboxEvent::new(
        WebhookEventType::AnalystStatusChanged,
        Some(format!("analyst:{analyst_id}")),
        at,
        &data,
    )
}

/// `queue.status_changed`, ordered among that queue's; `open_now` is true until queues have opening hours.
pub fn queue_status(queue_id: &str, enabled: bool, by: Person, at: DateTime<Utc>) -> OutboxEvent {
    let data = QueueStatusData {
        queue_id: QueueId::from(queue_id),
        enabled,
        open_now: true,
        by,
        at: rfc3339(at),
    };
    OutboxEvent::new(
        WebhookEventType::QueueStatusChanged,
        Some(format!("queue:{queue_id}")),
        at,
        &data,
    )
}

/// An ended chat's summary as webhooks show it (what the user sees: no whisper counts).
pub async fn ended_summary(
    db: &sea_orm::DatabaseConnection,
    chat_id: ChatId,
) -> AppResult<ChatSummary> {
    let id = chat_id.to_string();
    let chat = crate::store::chats::find(db, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("chat {chat_id}")))?;
    let users = crate::store::users::names(db, std::slice::from_ref(&chat.user_id)).await?;
    let user = Person {
        name: users.get(&chat.user_id).cloned().unwrap_or_default(),
        id: chat.user_id.clone(),
    };
    let analyst = match &chat.analyst_id {
        Some(a) => Some(Person {
            id: a.clone(),
            name: crate::store::analysts::find(db, a)
                .await?
                .map(|m| m.name)
                .unwrap_or_default(),
        }),
        None => None,
    };
    let seqs = crate::store::messages::last_visible_seqs(db, std::slice::from_ref(&id)).await?;
    let last_seq = seqs.get(&id).copied().unwrap_or(0);
    crate::views::chat_summary(chat, user, analyst, last_seq, None)
        .map_err(|e| AppError::new(crate::error::ErrorCode::Internal, e.0))
}

/// `chat.wrapped_up`, with the chat as it ended (its wrap-up now done).
pub fn wrapped_up(mut chat: ChatSummary, wrap_up: WrapUpView, at: DateTime<Utc>) -> OutboxEvent {
    chat.position = None;
    chat.wrap_up = Some(crate::protocol::WrapUpState::Done);
    let data = ChatWrappedUpData {
        chat_id: chat.chat_id,
        call_id: chat.call_id.clone(),
        queue_id: chat.queue_id.clone(),
        chat,
        wrap_up,
    };
    event(WebhookEventType::ChatWrappedUp, data.chat_id, at, &data)
}

/// `chat.rated`, with the chat as it ended.
pub fn rated(mut chat: ChatSummary, rating: RatingView, at: DateTime<Utc>) -> OutboxEvent {
    chat.position = None;
    let data = ChatRatedData {
        chat_id: chat.chat_id,
        call_id: chat.call_id.clone(),
        queue_id: chat.queue_id.clone(),
        chat,
        rating,
    };
    event(WebhookEventType::ChatRated, data.chat_id, at, &data)
}
