//! What a webhook delivery carries (contract §10.1): the event types a host may subscribe to,
//! the body `{"type","timestamp","data"}`, and the `data` of each event type. The shapes of
//! chats, messages and calls are the ones HTTP and WebSocket clients see.

use serde::{Deserialize, Serialize};

use crate::domain::{AnalystStatus, ChatId, EndReason, QueueId};
use crate::protocol::{CallView, ChatSummary, Message, Person, RatingView, WrapUpView};

/// An event a webhook endpoint may subscribe to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum WebhookEventType {
    /// A call was opened (today: by a user's first chat on it).
    #[serde(rename = "call.created")]
    CallCreated,
    /// A chat started waiting in a queue (started, or put back after its analyst was lost).
    #[serde(rename = "chat.queued")]
    ChatQueued,
    /// An analyst took the chat (accepted, or routed to them automatically).
    #[serde(rename = "chat.accepted")]
    ChatAccepted,
    /// Its analyst transferred the chat to a queue or to another analyst.
    #[serde(rename = "chat.transferred")]
    ChatTransferred,
    /// The chat ended, answered or not.
    #[serde(rename = "chat.ended")]
    ChatEnded,
    /// The chat's after-chat work was completed (wrap-up, contract §9.1).
    #[serde(rename = "chat.wrapped_up")]
    ChatWrappedUp,
    /// The user rated the chat (survey, contract §9.4).
    #[serde(rename = "chat.rated")]
    ChatRated,
    /// An analyst's status changed.
    #[serde(rename = "analyst.status_changed")]
    AnalystStatusChanged,
    /// A manager turned a queue on or off.
    #[serde(rename = "queue.status_changed")]
    QueueStatusChanged,
}

impl WebhookEventType {
    /// Every event type, in the contract's order.
    pub const ALL: &'static [WebhookEventType] = &[
        WebhookEventType::CallCreated,
        WebhookEventType::ChatQueued,
        WebhookEventType::ChatAccepted,
        WebhookEventType::ChatTransferred,
        WebhookEventType::ChatEnded,
        WebhookEventType::ChatWrappedUp,
        WebhookEventType::ChatRated,
        WebhookEventType::AnalystStatusChanged,
        WebhookEventType::QueueStatusChanged,
    ];

    /// The type as the body's `type` and the stored rows spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::CallCreated => "call.created",
            WebhookEventType::ChatQueued => "chat.queued",
            WebhookEventType::ChatAccepted => "chat.accepted",
            WebhookEventType::ChatTransferred => "chat.transferred",
            WebhookEventType::ChatEnded => "chat.ended",
            WebhookEventType::ChatWrappedUp => "chat.wrapped_up",
            WebhookEventType::ChatRated => "chat.rated",
            WebhookEventType::AnalystStatusChanged => "analyst.status_changed",
            WebhookEventType::QueueStatusChanged => "queue.status_changed",
        }
    }

    /// The type spelled `text`, if it is one.
    pub fn parse(text: &str) -> Option<WebhookEventType> {
        Self::ALL.iter().copied().find(|t| t.as_str() == text)
    }
}

/// One delivery's body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookBody {
    /// The event type, e.g. `chat.ended`.
    #[serde(rename = "type")]
    pub kind: WebhookEventType,
    /// When the change happened, RFC 3339 (the same on every retry).
    pub timestamp: String,
    /// What happened; its shape depends on `type` (`ChatEventData`, `ChatEndedData`,
    /// `CallView`, `AnalystStatusData`, `QueueStatusData`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// The `data` of `chat.queued`, `chat.accepted` and `chat.transferred`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatEventData {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The call it belongs to.
    pub call_id: String,
    /// The queue it is in after the change.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// The chat as it is after the change (`position` is null: places change by the moment).
    pub chat: ChatSummary,
}

/// The `data` of `chat.ended`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatEndedData {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The call it belongs to.
    pub call_id: String,
    /// The queue it ended in.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// The chat as it ended.
    pub chat: ChatSummary,
    /// Every message the user could see, in seq order (internal messages are left out).
    pub transcript: Vec<Message>,
    /// Why it ended.
    pub end_reason: EndReason,
    /// The wrap-up; null while it is pending or when the queue has none (it follows as
    /// `chat.wrapped_up`).
    #[schema(value_type = Option<Object>)]
    pub wrap_up: Option<serde_json::Value>,
}

/// The `data` of `chat.wrapped_up` (contract §9.1).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatWrappedUpData {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The call it belongs to.
    pub call_id: String,
    /// The queue it ended in.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// The chat as it ended.
    pub chat: ChatSummary,
    /// The code (or `timeout`), note, who and when.
    pub wrap_up: WrapUpView,
}

/// The `data` of `chat.rated` (contract §9.4).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatRatedData {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The call it belongs to.
    pub call_id: String,
    /// The queue it ended in.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// The chat as it ended.
    pub chat: ChatSummary,
    /// The user's score and comment.
    pub rating: RatingView,
}

/// The `data` of `analyst.status_changed`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalystStatusData {
    /// Whose status changed.
    pub analyst_id: String,
    /// The new status.
    pub status: AnalystStatus,
    /// Who changed it: the analyst, a manager, or the engine (`system`).
    pub by: Person,
    /// When, RFC 3339.
    pub at: String,
}

/// The `data` of `queue.status_changed`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueStatusData {
    /// The queue.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// Whether it accepts new chats (the manager's switch).
    pub enabled: bool,
    /// Whether it is within its opening hours (always true until queues have schedules).
    pub open_now: bool,
    /// Who changed it.
    pub by: Person,
    /// When, RFC 3339.
    pub at: String,
}

/// `call.created` carries the call view (`CallView`), as `GET /api/v1/calls/{id}` shows it.
pub type CallCreatedData = CallView;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(t.as_str()), Some(*t));
            let json = serde_json::to_string(t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
        assert_eq!(WebhookEventType::parse("chat.deleted"), None);
    }
}
