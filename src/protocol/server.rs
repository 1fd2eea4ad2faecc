//! What the server sends (contract §3): `ServerFrame`, one variant per frame `type` (the `ok` and
//! `error` replies, `hello`, `pong` and every event of §3.6). What each command's `ok` carries is
//! `OkResult` (`results`). A frame is built, encoded once with `encode` and the bytes shared by
//! every session that receives it.

use bytestring::ByteString;
use serde::{Deserialize, Serialize};

use super::{Actor, ChatSummary, Message, OkResult, PendingWrapUp, Person};
use crate::domain::{AnalystStatus, ChatId, EndReason, QueueId, Role};
use crate::error::{AppError, ErrorCode};
use crate::protocol::QueueView;

/// A frame the server sends, tagged by `type`. Frames are short-lived (built, encoded, dropped),
/// so the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A command succeeded: `{"type":"ok","ref", ...result}`.
    Ok {
        /// The command's `ref`, when it had one.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// What the command produced, beside `ref`.
        #[serde(flatten)]
        result: OkResult,
    },
    /// A command failed (or a frame could not be read).
    Error {
        /// The command's `ref`, when it could be read.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// What went wrong, from the contract's list.
        code: ErrorCode,
        /// A sentence that names the problem.
        message: String,
        /// For `queue_closed`: when the queue next opens, RFC 3339 (null if never); absent
        /// for other codes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_at: Option<Option<String>>,
    },
    /// The first frame of a connection (§3.2).
    Hello(Hello),
    /// The answer to `ping`.
    Pong {
        /// The ping's `ref`, when it had one.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// To a waiting user, whenever their place or the number of available analysts changes.
    QueuePosition {
        /// Their waiting chat.
        chat_id: ChatId,
        /// 1-based place in the queue.
        position: usize,
        /// Analysts of the queue now available.
        analysts_available: usize,
        /// Estimated wait in seconds; null when no estimate can be made (§8.4).
        estimated_wait_secs: Option<u64>,
    },
    /// To the user: an analyst took their chat.
    ChatAccepted {
        /// The chat.
        chat_id: ChatId,
        /// Who took it.
        analyst: Person,
        /// When, RFC 3339.
        accepted_at: String,
    },
    /// To the user: their chat waits again (the analyst was lost or transferred it).
    ChatRequeued {
        /// The chat.
        chat_id: ChatId,
        /// Its new place in the queue; null when it was offered at once.
        position: Option<usize>,
        /// The queue it now waits in (another one after a transfer or an overflow).
        queue_id: QueueId,
    },
    /// To the other side of a chat: someone is typing.
    Typing {
        /// The chat.
        chat_id: ChatId,
        /// Who is typing.
        from: Person,
    },
    /// To everyone in a chat: it ended.
    ChatClosed {
        /// The chat.
        chat_id: ChatId,
        /// Who closed it; null when the engine did (user left, max wait).
        by: Option<Actor>,
        /// Why it ended.
        reason: EndReason,
        /// When, RFC 3339.
        ended_at: String,
    },
    /// To the other side of a chat: the peer's last session closed, or one opened again.
    PeerStatus {
        /// The chat.
        chat_id: ChatId,
        /// Whether the peer has a session open.
        connected: bool,
    },
    /// To analysts of a queue: a chat started waiting there.
    ChatQueued {
        /// The chat.
        chat: ChatSummary,
    },
    /// To analysts of a queue: a chat stopped waiting there.
    ChatDequeued {
        /// The chat.
        chat_id: ChatId,
        /// The queue it left.
        queue_id: QueueId,
        /// Why it left.
        reason: DequeueReason,
    },
    /// To analysts of a queue: a manager turned it on or off.
    QueueStatus {
        /// The queue.
        queue_id: QueueId,
        /// Whether it now takes new chats.
        enabled: bool,
        /// Who turned it.
        by: Person,
        /// When, RFC 3339.
        at: String,
    },
    /// To analysts of a queue: it opened or closed by its business hours (§8.3).
    QueueHours {
        /// The queue.
        queue_id: QueueId,
        /// Whether it is now inside its hours.
        open_now: bool,
        /// When that next changes, RFC 3339; null if never.
        next_change_at: Option<String>,
        /// When it changed, RFC 3339.
        at: String,
    },
    /// To one analyst: a chat is offered to them until `expires_at`.
    ChatOffered {
        /// The chat.
        chat: ChatSummary,
        /// When the offer lapses, RFC 3339.
        expires_at: String,
    },
    /// To one analyst: their offer is gone.
    OfferRevoked {
        /// The chat that was offered.
        chat_id: ChatId,
        /// Why.
        reason: RevokeReason,
    },
    /// To one analyst: a chat was routed to them (auto routing) or accepted in another tab.
    ChatAssigned {
        /// The chat, now active.
        chat: ChatSummary,
        /// Its messages so far.
        transcript: Vec<Message>,
    },
    /// To one analyst: their status, or the status they asked for after their chats, changed.
    StatusChanged {
        /// The status now.
        status: AnalystStatus,
        /// The status that applies once their chats and wrap-ups are over (§9.2); null for none.
        #[serde(default)]
        pending_status: Option<AnalystStatus>,
        /// The analyst, or the manager who changed it.
        by: Person,
        /// When, RFC 3339.
        at: String,
    },
    /// To one analyst: an answered chat of theirs ended into wrap-up (§9.1); its capacity is
    /// held until `wrap_up` or the deadline.
    WrapUpStarted(PendingWrapUp),
    /// To the user, once their answered chat has ended: "How did we do?" (contract §9.4).
    Survey {
        /// The chat to `rate`.
        chat_id: ChatId,
    },
    /// To everyone in a chat: a manager or admin joined it (contract §9.3).
    ParticipantJoined {
        /// The chat.
        chat_id: ChatId,
        /// Who joined.
        who: Person,
        /// Their role (`manager` or `admin`).
        role: Role,
    },
    /// To everyone in a chat: a joined manager or admin left it.
    ParticipantLeft {
        /// The chat.
        chat_id: ChatId,
        /// Who left.
        who: Person,
        /// Their role (`manager` or `admin`).
        role: Role,
    },
    /// A stored message, relayed or replayed. `Message` carries its own `type`, so it is written
    /// as it is (the hot path: no tag is added).
    #[serde(untagged)]
    Message(Message),
}

impl ServerFrame {
    /// Serializes the frame once, for every session that receives it.
    pub fn encode(&self) -> ByteString {
        super::encode(self)
    }

    /// The `ok` reply to a command with `ref` `reference`.
    pub fn ok(reference: Option<&str>, result: impl Into<OkResult>) -> ServerFrame {
        ServerFrame::Ok {
            reference: reference.map(str::to_owned),
            result: result.into(),
        }
    }

    /// The `error` reply to a command with `ref` `reference`.
    pub fn error(reference: Option<&str>, err: &AppError) -> ServerFrame {
        ServerFrame::Error {
            reference: reference.map(str::to_owned),
            code: err.code,
            message: err.message.clone(),
            opens_at: err.opens_at.clone(),
        }
    }
}

/// `hello` (§3.2), by role: a user's, or an analyst's or manager's.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Hello {
    /// `{"role":"user","user","chats"}`.
    User {
        /// Who the user is.
        user: Person,
        /// Their open chats.
        chats: Vec<ChatSummary>,
    },
    /// `{"role":"analyst","analyst","queues","chats"}`.
    Analyst(StaffHello),
    /// `{"role":"manager","analyst","queues","chats"}`.
    Manager(StaffHello),
    /// `{"role":"admin", ...}`: an admin may open a socket (to ping); it gets the staff shape.
    Admin(StaffHello),
}

/// The fields of an analyst's or a manager's `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffHello {
    /// Who they are and how they stand.
    pub analyst: AnalystHello,
    /// The queues they are a member of.
    pub queues: Vec<QueueView>,
    /// Their open chats.
    pub chats: Vec<ChatSummary>,
    /// The open chats they monitor (contract §9.3; always empty for analysts).
    #[serde(default)]
    pub monitoring: Vec<ChatId>,
    /// Their pending wrap-ups (contract §9.1).
    #[serde(default)]
    pub wrap_ups: Vec<PendingWrapUp>,
}

/// `{"id","name","status","capacity"}` in a staff `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalystHello {
    /// The analyst's id.
    pub id: String,
    /// Their display name.
    pub name: String,
    /// Their status now.
    pub status: AnalystStatus,
    /// How many chats they may hold at once.
    pub capacity: usize,
    /// The status that applies once their chats and wrap-ups are over (§9.2), or null.
    #[serde(default)]
    pub pending_status: Option<AnalystStatus>,
}

/// Why a chat left a queue (`chat_dequeued`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DequeueReason {
    Accepted,
    Unanswered,
    Transferred,
    /// It moved to another queue by overflow (§8.2).
    Overflow,
}

/// Why an offer is gone (`offer_revoked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeReason {
    Timeout,
    Taken,
    Closed,
    /// The chat moved to another queue by overflow (§8.2).
    Overflow,
}

/// `{"type":"error","ref":...,"code":...,"message":...}`, encoded.
pub fn error_frame(reference: Option<&str>, err: &AppError) -> ByteString {
    ServerFrame::error(reference, err).encode()
}

#[cfg(test)]
mod tests;
