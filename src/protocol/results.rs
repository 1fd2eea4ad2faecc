//! What a command's `ok` carries beside `type` and `ref` (contract §3.3–§3.5): `OkResult`, one
//! variant per result shape, flattened into `ServerFrame::Ok`.

use serde::{Deserialize, Serialize};

use super::{ChatSummary, Message};
use crate::domain::{AnalystStatus, ChatId, ChatState};

/// What an `ok` carries beside `type` and `ref`, by command. Written without a tag of its own;
/// read back by shape, so the variants are ordered richest first and an optional field that
/// tells two shapes apart must be present (`required`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OkResult {
    /// `accept`: the chat, now active, and its messages so far.
    Accepted {
        /// The chat.
        chat: ChatSummary,
        /// Its messages so far.
        transcript: Vec<Message>,
    },
    /// `start_chat`.
    Started {
        /// The new chat.
        chat_id: ChatId,
        /// Its call (the one named, or a new one).
        call_id: String,
        /// Its place as the reply leaves; null if it was answered at once.
        #[serde(deserialize_with = "required")]
        position: Option<usize>,
        /// The first estimate of the wait in seconds; null when answered at once or when no
        /// estimate can be made (§8.4).
        #[serde(default)]
        estimated_wait_secs: Option<u64>,
    },
    /// `send`, also for a repeated `client_msg_id`.
    Sent {
        /// The chat.
        chat_id: ChatId,
        /// The message's seq.
        seq: i64,
        /// When it was stored, RFC 3339 (null if no longer known).
        #[serde(deserialize_with = "required")]
        at: Option<String>,
    },
    /// `resume`, after the replayed messages.
    Resumed {
        /// The chat.
        chat_id: ChatId,
        /// Its state now.
        state: ChatState,
        /// Its last stored seq.
        last_seq: i64,
    },
    /// `link_call`.
    Linked {
        /// The chat.
        chat_id: ChatId,
        /// The call it is now written to.
        call_id: String,
    },
    /// `set_status`.
    Status {
        /// The status now.
        status: AnalystStatus,
        /// The status asked for once the analyst's chats are over (§9.2), or null.
        #[serde(default)]
        pending_status: Option<AnalystStatus>,
    },
    /// `typing`, `close_chat`, `decline`, `transfer`.
    Chat {
        /// The chat.
        chat_id: ChatId,
    },
}

/// Reads an `Option` that must be present (possibly null), unlike serde's default for `Option`.
fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::deserialize(deserializer)
}
