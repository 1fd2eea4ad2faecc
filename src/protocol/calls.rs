//! The call (ticket) view (contract §5): `GET /api/v1/calls/{id}`, `GET /api/v1/chats/{id}` and
//! the `call.created` webhook show it the same way.

use serde::{Deserialize, Serialize};

use crate::protocol::Person;

/// A call with its history.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallView {
    /// The call's id (`CALL-…`).
    pub id: String,
    /// The user it is for.
    pub user: Person,
    /// What it is about (the first chat's subject, or `Chat`).
    pub summary: String,
    /// Where it came from: `Chat`.
    pub source: String,
    /// `open`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; when an analyst first accepted one of its chats.
    pub first_contact_at: Option<String>,
    /// The host's ticket id (contract §10.2), or null.
    pub external_ref: Option<String>,
    /// Where the host's ticket lives (absolute http(s) URL), or null.
    pub external_url: Option<String>,
    /// One entry per chat that ended on it (or was linked to it).
    pub history: Vec<HistoryView>,
}

/// One chat written onto a call.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryView {
    /// `chat`.
    pub kind: String,
    /// The chat.
    pub chat_id: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub ended_at: String,
    /// The whole transcript as text.
    pub contents: String,
    /// The page that reopens the chat: `/chats/{chat_id}`.
    pub link: String,
    /// The user's end-of-chat rating (contract §9.4); null until they rate it.
    pub rating: Option<RatingView>,
    /// The analyst's wrap-up (contract §9.1); null while pending or when the queue has none.
    pub wrap_up: Option<super::WrapUpView>,
}

/// `{"score","comment","at"}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatingView {
    /// 1 to 5.
    pub score: i32,
    /// What the user added, if anything.
    pub comment: Option<String>,
    /// When they rated, RFC 3339.
    pub at: String,
}
