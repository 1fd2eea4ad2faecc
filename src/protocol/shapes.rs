//! The shapes frames are made of (contract §3.1): `Person`, `Actor`, `ChatSummary`, `Message` (with
//! its `AttachmentRef`s, §12), and
//! `QueueView` (contract §5, in analysts' `hello`), and the §8 routing rules' shapes
//! (`SkillRequest`, `ExpansionRule`, `OverflowRule`, `ScheduleSpec`),
//! shared by WebSocket frames and HTTP bodies.

use serde::{Deserialize, Serialize};

use crate::domain::{ChatId, ChatState, EndReason, QueueId, Role, Visibility, WrapUpMode};
pub use crate::routing::hours::{HolidaySpec, ScheduleSpec};

/// `{"id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Person {
    /// The principal's id.
    pub id: String,
    /// Their display name.
    pub name: String,
}

/// Who did something: `{"role","id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    /// Whose id space `id` is in.
    pub role: Role,
    /// The principal's id.
    pub id: String,
    /// Their display name.
    pub name: String,
}

/// A chat as clients see it (contract §3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatSummary {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The queue it waits in or was answered from.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// Where it is in its life.
    pub state: ChatState,
    /// The user who started it.
    pub user: Person,
    /// The analyst who has (or had) it; null while waiting.
    pub analyst: Option<Person>,
    /// The user's subject (may be empty).
    pub subject: String,
    /// The call it belongs to.
    pub call_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; null until an analyst accepted it.
    pub accepted_at: Option<String>,
    /// RFC 3339; null while open.
    pub ended_at: Option<String>,
    /// Why it ended; null while open.
    pub end_reason: Option<EndReason>,
    /// 1-based place in its queue while waiting, else null.
    pub position: Option<usize>,
    /// The seq of its last stored message (0 for none).
    pub last_seq: i64,
    /// Skills the user asked for (those its queue lists), §8.1.
    #[serde(default)]
    pub skills: Vec<SkillRequest>,
    /// The expansion step in force (0 = none), §8.1.
    #[serde(default)]
    pub skills_relaxed: usize,
    /// After-chat work (§9.1): `pending` while its analyst wraps it up, `done` after; null when
    /// there is none (open, unanswered, or a queue without wrap-up).
    #[serde(default)]
    pub wrap_up: Option<WrapUpState>,
}

/// Where a chat's wrap-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WrapUpState {
    Pending,
    Done,
}

impl WrapUpState {
    /// As stored in `chats.wrap_up`.
    pub fn as_str(self) -> &'static str {
        match self {
            WrapUpState::Pending => "pending",
            WrapUpState::Done => "done",
        }
    }

    /// From `chats.wrap_up`.
    pub fn parse(stored: Option<&str>) -> Option<Self> {
        match stored? {
            "pending" => Some(WrapUpState::Pending),
            "done" => Some(WrapUpState::Done),
            _ => None,
        }
    }
}

/// A queue's wrap-up settings (§9.1): `{"mode","timeout_secs","codes"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapUpRule {
    /// `off` (default), `optional` or `required` (routed nothing while one is pending).
    #[serde(default = "mode_off")]
    pub mode: WrapUpMode,
    /// Seconds until a pending wrap-up ends with code `timeout` (1 to 86400; default 60).
    #[serde(default = "sixty")]
    #[schema(minimum = 1, maximum = 86400, default = 60)]
    pub timeout_secs: u64,
    /// The codes an analyst chooses from (id syntax; `timeout` is reserved); default
    /// `["resolved", "escalated", "no_response"]`.
    #[serde(default = "default_codes")]
    pub codes: Vec<String>,
}

fn mode_off() -> WrapUpMode {
    WrapUpMode::Off
}

fn sixty() -> u64 {
    60
}

fn default_codes() -> Vec<String> {
    ["resolved", "escalated", "no_response"]
        .map(String::from)
        .to_vec()
}

impl Default for WrapUpRule {
    fn default() -> Self {
        WrapUpRule {
            mode: WrapUpMode::Off,
            timeout_secs: sixty(),
            codes: default_codes(),
        }
    }
}

/// A pending wrap-up as `hello` and `wrap_up_started` show it: `{chat_id, codes, deadline}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingWrapUp {
    /// The ended chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// The codes to choose from.
    pub codes: Vec<String>,
    /// When it ends with code `timeout`, RFC 3339.
    pub deadline: String,
}

/// A finished wrap-up: `{"code","note","by","at"}` (call history, `chat.wrapped_up`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WrapUpView {
    /// One of the queue's codes, or `timeout`.
    pub code: String,
    /// The analyst's note, if any.
    pub note: Option<String>,
    /// Who wrapped it up (the system for `timeout`).
    pub by: Person,
    /// When, RFC 3339.
    pub at: String,
}

/// A skill asked for at a minimum level: `{"name","level"}` (§8.1).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SkillRequest {
    /// A skill from the queue's list (id syntax).
    pub name: String,
    /// 1 to 5; default 1.
    #[serde(default = "level_one")]
    #[schema(minimum = 1, maximum = 5, default = 1)]
    pub level: u8,
}

fn level_one() -> u8 {
    1
}

/// What an expansion step relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelaxKind {
    /// Any level ≥ 1 of the requested skills.
    Level,
    /// Skills ignored.
    All,
}

/// One expansion step of a queue: `{"after_secs","relax"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpansionRule {
    /// Seconds in the queue before the step begins.
    pub after_secs: u64,
    /// What it relaxes.
    pub relax: RelaxKind,
}

/// A queue's overflow: `{"after_secs","queue_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverflowRule {
    /// Seconds in the queue before a chat moves (at least 1).
    pub after_secs: u64,
    /// The queue it moves to.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
}

/// A stored chat message (contract §3.1); its `type` is always `message`, so it is a whole frame
/// on its own (`ServerFrame::Message`) as well as an item of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// Always `message`.
    #[serde(rename = "type")]
    pub kind: MessageTag,
    /// The chat it was sent in.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// Its place in the chat: 1, 2, 3, … with no gaps.
    pub seq: i64,
    /// Who sent it.
    pub from: Actor,
    /// The text.
    pub body: String,
    /// When it was stored, RFC 3339.
    pub at: String,
    /// The sender's id for it, if they gave one.
    pub client_msg_id: Option<String>,
    /// `all`, or `internal` for a whisper: seen by the chat's analyst, joined managers and
    /// monitors only, never by the user (contract §9.3).
    #[serde(default)]
    pub visibility: Visibility,
    /// The files it carries (contract §12), in upload order; `[]` for none.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

/// A file a message carries: `{"id","name","content_type","size","url"}` (contract §12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttachmentRef {
    /// The attachment's id (as the upload answered it).
    pub id: String,
    /// Its cleaned file name.
    pub name: String,
    /// Its media type, as checked against its bytes.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Where to download it: `/api/v1/attachments/{id}` (bearer token or `?ticket=`).
    pub url: String,
}

impl AttachmentRef {
    /// The download path of attachment `id`.
    pub fn url_of(id: &str) -> String {
        format!("/api/v1/attachments/{id}")
    }
}

/// The constant `"message"` tag of `Message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageTag {
    Message,
}

/// A queue as clients see it (contract §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueView {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub routing: String,
    pub priority: i32,
    pub sla_answer_secs: i32,
    pub max_wait_secs: i32,
    pub offer_timeout_secs: i32,
    pub waiting: u64,
    pub longest_wait_secs: i64,
    pub analysts_online: u64,
    pub analysts_available: u64,
    pub active_chats: u64,
    pub answered_today: u64,
    pub unanswered_today: u64,
    pub service_level: Option<f64>,
    /// Skills a chat may ask for here (§8.1).
    pub skills: Vec<String>,
    /// Expansion steps, ordered by `after_secs` (§8.1).
    pub expansion: Vec<ExpansionRule>,
    /// Where chats overflow to, or null (§8.2).
    pub overflow: Option<OverflowRule>,
    /// Most chats waiting before `start_chat` answers `queue_full` (0 = no limit).
    pub max_waiting: i32,
    /// Business hours, or null for always open (§8.3).
    pub schedule: Option<ScheduleSpec>,
    /// Inside its business hours now (true without a schedule).
    pub open_now: bool,
    /// RFC 3339: when `open_now` next changes; null if never.
    pub next_change_at: Option<String>,
    /// Estimated wait in seconds of a chat starting now; null when none can be made (§8.4).
    pub estimated_wait_secs: Option<u64>,
    /// Share of today's end-of-chat ratings that scored 4 or 5; null when there were none.
    pub csat_today: Option<f64>,
    /// After-chat work (§9.1).
    pub wrap_up: WrapUpRule,
}
