//! What HTTP reads from the router: live figures of queues, live state of open chats, and the
//! Chat Manager's analyst table. Answers are copies; nothing here changes state.

use std::collections::HashMap;

use actix::prelude::*;
use serde::Serialize;

use super::Router;
use crate::domain::{AnalystId, AnalystStatus, ChatState, QueueId};
use crate::ops::{OpsSnapshot, QueueLive};
use crate::protocol::Person;
use crate::routing::ChatId;
use crate::timefmt::rfc3339;
use crate::views::{LiveChat, QueueLiveView};

/// Per queue: analysts online and available, business hours and the estimate for a new chat.
#[derive(Message)]
#[rtype(result = "HashMap<String, QueueLiveView>")]
pub struct QueuePresence;

impl Handler<QueuePresence> for Router {
    type Result = MessageResult<QueuePresence>;

    fn handle(&mut self, _: QueuePresence, _: &mut Context<Self>) -> Self::Result {
        let out = self
            .core
            .queues
            .values()
            .map(|q| {
                let members = q.members.iter().filter_map(|m| self.core.analysts.get(m));
                let (mut online, mut available) = (0, 0);
                for a in members.filter(|a| a.is_connected() && a.status != AnalystStatus::Offline)
                {
                    online += 1;
                    available += u64::from(a.status == AnalystStatus::Available);
                }
                let hours = self.hours_state(&q.config.id);
                let live = QueueLiveView {
                    online,
                    available,
                    open_now: hours.open_now,
                    next_change_at: hours.next_change_at.map(rfc3339),
                    estimated_wait_secs: self.core.estimate_new(&q.config.id),
                };
                (q.config.id.to_string(), live)
            })
            .collect();
        MessageResult(out)
    }
}

/// Live state of the given chats (those still open).
#[derive(Message)]
#[rtype(result = "HashMap<ChatId, LiveChat>")]
pub struct LiveChats(pub Vec<ChatId>);

impl Handler<LiveChats> for Router {
    type Result = MessageResult<LiveChats>;

    fn handle(&mut self, msg: LiveChats, _: &mut Context<Self>) -> Self::Result {
        let out = msg
            .0
            .into_iter()
            .filter_map(|id| {
                let s = self.summary(id)?;
                Some((
                    id,
                    LiveChat {
                        state: s.state,
                        position: s.position,
                        analyst: s.analyst,
                        last_seq: s.last_seq,
                        skills_relaxed: s.skills_relaxed,
                    },
                ))
            })
            .collect();
        MessageResult(out)
    }
}

/// One row of the Chat Manager's analyst table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnalystRow {
    #[schema(value_type = String)]
    pub id: AnalystId,
    pub name: String,
    pub status: AnalystStatus,
    pub connected: bool,
    pub capacity: usize,
    /// Open chats plus pending wrap-ups (§9.1).
    pub open_chats: usize,
    /// The status that applies once their chats and wrap-ups are over (§9.2), or null.
    pub pending_status: Option<AnalystStatus>,
    pub chat_users: Vec<ChatUser>,
    /// Skills and levels 1–5 (§8.1).
    pub skills: std::collections::BTreeMap<String, u8>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatUser {
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    pub user: Person,
}

/// The analysts of a queue with their status, load and who they are chatting with.
#[derive(Message)]
#[rtype(result = "Vec<AnalystRow>")]
pub struct AnalystTable {
    pub queue_id: QueueId,
}

impl Handler<AnalystTable> for Router {
    type Result = MessageResult<AnalystTable>;

    fn handle(&mut self, msg: AnalystTable, _: &mut Context<Self>) -> Self::Result {
        let Some(queue) = self.core.queues.get(msg.queue_id.as_str()) else {
            return MessageResult(Vec::new());
        };
        let rows = queue
            .members
            .iter()
            .filter_map(|m| self.core.analysts.get(m.as_str()))
            .map(|a| AnalystRow {
                id: a.id.clone(),
                name: a.name.clone(),
                status: a.status,
                connected: a.is_connected(),
                capacity: a.capacity,
                open_chats: a.load(),
                pending_status: a.pending_status,
                skills: a.skills.clone(),
                chat_users: a
                    .open
                    .iter()
                    .filter_map(|c| {
                        let meta = self.chats.get(c)?;
                        Some(ChatUser {
                            chat_id: *c,
                            user: meta.user.clone(),
                        })
                    })
                    .collect(),
            })
            .collect();
        MessageResult(rows)
    }
}

/// An analyst's live state (HTTP `GET /analysts/{id}` and `/me`).
#[derive(Debug, Clone)]
pub struct AnalystLive {
    pub status: AnalystStatus,
    pub connected: bool,
    /// The status asked for once their chats are over (§9.2).
    pub pending_status: Option<AnalystStatus>,
    /// Open chats plus pending wrap-ups.
    pub open_chats: usize,
}

/// Asks for an analyst's `AnalystLive`.
#[derive(Message)]
#[rtype(result = "Option<AnalystLive>")]
pub struct AnalystPresence(pub String);

impl Handler<AnalystPresence> for Router {
    type Result = Option<AnalystLive>;

    fn handle(&mut self, msg: AnalystPresence, _: &mut Context<Self>) -> Self::Result {
        self.core.analysts.get(msg.0.as_str()).map(|a| AnalystLive {
            status: a.status,
            connected: a.is_connected(),
            pending_status: a.pending_status,
            open_chats: a.load(),
        })
    }
}

/// Asks the router for an `OpsSnapshot`.
#[derive(Message)]
#[rtype(result = "OpsSnapshot")]
pub struct TakeSnapshot;

impl Handler<TakeSnapshot> for Router {
    type Result = MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) -> Self::Result {
        let mut snap = OpsSnapshot::default();
        for s in [ChatState::Waiting, ChatState::Offered, ChatState::Active] {
            snap.chats_by_state.insert(s, 0);
        }
        for route in self.core.chats.values() {
            *snap.chats_by_state.entry(route.state).or_default() += 1;
        }
        for a in self.core.analysts.values() {
            let status = if a.is_connected() {
                a.status
            } else {
                AnalystStatus::Offline
            };
            *snap.analysts_by_status.entry(status).or_default() += 1;
        }
        let mut ids: Vec<&QueueId> = self.core.queues.keys().collect();
        ids.sort();
        snap.queues = ids
            .into_iter()
            .filter_map(|id| self.queue_live(id))
            .collect();
        snap.feed_id = self.deps.feed.last_id();
        MessageResult(snap)
    }
}

impl Router {
    /// A queue's live figures, from the routing core.
    pub(super) fn queue_live(&self, queue_id: &str) -> Option<QueueLive> {
        let q = self.core.queues.get(queue_id)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let oldest = q
            .waiting()
            .filter_map(|c| self.core.chats.get(&c).map(|r| r.created_ms))
            .min();
        let (mut online, mut available) = (0, 0);
        for a in q.members.iter().filter_map(|m| self.core.analysts.get(m)) {
            if a.is_connected() && a.status != AnalystStatus::Offline {
                online += 1;
                available += u64::from(a.status == AnalystStatus::Available);
            }
        }
        let active = self
            .core
            .chats
            .values()
            .filter(|r| r.queue_id == queue_id && r.state == ChatState::Active)
            .count();
        Some(QueueLive {
            id: q.config.id.clone(),
            waiting: q.waiting_len() as u64,
            longest_wait_secs: oldest.map_or(0, |t| (now_ms - t).max(0) / 1000),
            analysts_online: online,
            analysts_available: available,
            active_chats: active as u64,
        })
    }
}
