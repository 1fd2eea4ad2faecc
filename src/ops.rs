//! The engine's live figures as plain data: what the router answers `TakeSnapshot` with and what
//! metrics, stats and the ops feed render. No actors here, so the readers import downwards.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::{AnalystStatus, ChatState, QueueId};

/// One queue's live figures for ops (metrics, stats, events).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueLive {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub waiting: u64,
    pub longest_wait_secs: i64,
    pub analysts_online: u64,
    pub analysts_available: u64,
    pub active_chats: u64,
}

/// The engine's live state in figures: open chats by state, analysts by status, each queue.
#[derive(Debug, Clone, Default)]
pub struct OpsSnapshot {
    pub chats_by_state: BTreeMap<ChatState, u64>,
    pub analysts_by_status: BTreeMap<AnalystStatus, u64>,
    pub queues: Vec<QueueLive>,
    /// The ops feed's last event id when the snapshot was taken (the router is its only
    /// publisher, so later events describe later states).
    pub feed_id: u64,
}
