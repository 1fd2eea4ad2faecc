//! The routing core: who gets which chat. A plain data structure with no actix, no database and no
//! clock of its own (the router hands it the time where a rule needs one), owned by the router
//! actor and property-tested against the invariants of contract §4 and §8: each chat in exactly
//! one state, at most one analyst per chat, load within capacity, only analysts eligible at the
//! chat's expansion step chosen, order by priority (or aged creation time) then age, and no chat
//! waiting while an eligible analyst is free.
//!
//! Its parts: this file (the state), `lifecycle` (chats joining, taken, passed, requeued, ended),
//! `choose` (the routing decision), `index` (waiting chats by what they require, for `choose`),
//! `skills` (skills, levels and expansion steps), `timed`
//! (expansion, overflow and max_wait as the clock moves), `hours` (business hours) and `estimate`
//! (estimated wait) and `wrap_up` (capacity held in after-chat work, pending statuses).

mod choose;
pub mod estimate;
pub mod hours;
mod index;
mod lifecycle;
pub mod skills;
mod timed;
mod wrap_up;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

pub use crate::domain::ChatId;
use crate::domain::{AnalystId, AnalystStatus, ChatState, QueueId, RoutingMode, UserId};
use crate::error::{AppError, ErrorCode};
pub use skills::{ExpansionStep, Relax, SkillAsk};
pub use timed::Timed;
pub use wrap_up::{Hold, WrapUpConfig};

/// Overflow of a queue: a chat still waiting `after_secs` after joining moves to `queue_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    pub after_secs: u64,
    pub queue_id: QueueId,
}

/// A queue's routing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    pub id: QueueId,
    pub name: String,
    pub enabled: bool,
    pub routing: RoutingMode,
    pub priority: i32,
    pub max_wait_secs: i64,
    pub offer_timeout_secs: u64,
    /// Skills a chat may ask for here (§8.1).
    pub skills: Vec<String>,
    /// Expansion steps, ordered by `after_secs`.
    pub expansion: Vec<ExpansionStep>,
    /// Where chats go when they have waited too long here.
    pub overflow: Option<Overflow>,
    /// Most chats waiting or offered before `start_chat` answers `queue_full` (0 = no limit).
    pub max_waiting: usize,
    /// After-chat work (§9.1); `None` = off.
    pub wrap_up: Option<WrapUpConfig>,
}

impl QueueConfig {
    /// A queue with the contract's defaults for everything but its id, name and routing mode.
    pub fn new(id: &str, name: &str, routing: RoutingMode) -> Self {
        QueueConfig {
            id: QueueId::from(id),
            name: name.to_string(),
            enabled: true,
            routing,
            priority: 0,
            max_wait_secs: 0,
            offer_timeout_secs: 20,
            skills: Vec::new(),
            expansion: Vec::new(),
            overflow: None,
            max_waiting: 0,
            wrap_up: None,
        }
    }
}

/// How many recent handle times a queue keeps for its estimate.
pub const HANDLE_SAMPLES: usize = 20;

#[derive(Debug, Clone)]
pub struct QueueState {
    pub config: QueueConfig,
    /// Member analysts (as analyst or manager).
    pub members: BTreeSet<AnalystId>,
    /// Inside its business hours (set by the router from the schedule; true without one).
    pub open: bool,
    /// Recent handle times (accepted → ended) in seconds, newest last.
    pub handle_secs: VecDeque<u64>,
    /// Chats waiting here (waiting or offered), in queue order.
    waiting: BTreeSet<(i64, ChatId)>,
    /// The chats of `waiting` not offered to anyone, by what they require of an analyst now, so
    /// a freed analyst finds its next chat without walking the ones it cannot take.
    index: index::Node,
}

impl QueueState {
    /// Waiting chats in queue order.
    pub fn waiting(&self) -> impl Iterator<Item = ChatId> + '_ {
        self.waiting.iter().map(|(_, id)| *id)
    }

    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// Whether a chat may move in by overflow: enabled, open and below `max_waiting`.
    pub fn takes_overflow(&self) -> bool {
        self.config.enabled
            && self.open
            && (self.config.max_waiting == 0 || self.waiting.len() < self.config.max_waiting)
    }
}

/// An analyst as the router sees them.
#[derive(Debug, Clone)]
pub struct AnalystState {
    pub id: AnalystId,
    pub name: String,
    pub capacity: usize,
    pub status: AnalystStatus,
    /// Open WebSocket sessions; zero means disconnected.
    pub sessions: usize,
    /// Active chats assigned to this analyst.
    pub open: BTreeSet<ChatId>,
    /// The chat currently offered to this analyst, if any.
    pub offer: Option<ChatId>,
    /// When this analyst was last given a chat (the core's tick); 0 = never.
    pub last_assigned: u64,
    /// Skills and their levels 1–5 (§8.1).
    pub skills: BTreeMap<String, u8>,
    /// Pending wrap-ups (§9.1), each holding one unit of capacity.
    pub wrap_ups: BTreeMap<ChatId, Hold>,
    /// The status asked for once their chats are over (§9.2): routed nothing new meanwhile.
    pub pending_status: Option<AnalystStatus>,
}

impl AnalystState {
    pub fn new(id: &str, name: &str, capacity: usize) -> Self {
        AnalystState {
            id: id.into(),
            name: name.into(),
            capacity,
            status: AnalystStatus::Offline,
            sessions: 0,
            open: BTreeSet::new(),
            offer: None,
            last_assigned: 0,
            skills: BTreeMap::new(),
            wrap_ups: BTreeMap::new(),
            pending_status: None,
        }
    }

    /// Available, connected, below capacity (wrap-ups included), no offer pending, no required
    /// wrap-up and no pending status (skills aside).
    pub fn is_eligible(&self) -> bool {
        self.status == AnalystStatus::Available
            && self.sessions > 0
            && self.load() < self.capacity
            && self.offer.is_none()
            && self.pending_status.is_none()
            && !self.wrap_up_required()
    }

    pub fn is_connected(&self) -> bool {
        self.sessions > 0
    }
}

/// A chat while it is open.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRoute {
    pub id: ChatId,
    pub queue_id: QueueId,
    pub user_id: UserId,
    /// Creation time in milliseconds; orders the queue.
    pub created_ms: i64,
    /// When it joined its current queue (start, transfer, requeue, overflow), in milliseconds:
    /// expansion and overflow count from here.
    pub entered_ms: i64,
    /// Waiting, Offered or Active.
    pub state: ChatState,
    /// The analyst it is active with, or offered to.
    pub analyst: Option<AnalystId>,
    /// Analysts who declined or let an offer lapse: not offered this chat again.
    pub passed: BTreeSet<AnalystId>,
    /// Skills asked for (those its current queue lists).
    pub skills: Vec<SkillAsk>,
    /// Expansion steps begun in its current queue (0 = none).
    pub relaxed: usize,
    /// When its overflow is next tried (ms), if its queue overflows.
    overflow_at: Option<i64>,
    /// Its entry in `Core::due`, while waiting with a timed rule ahead.
    due_ms: Option<i64>,
    /// Key in the queue's order (creation time, or before the head when requeued there).
    order_key: i64,
}

/// What the router decided for one chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Auto routing: the chat is now active with the analyst.
    Assign { chat: ChatId, analyst: AnalystId },
    /// Offer routing: the chat is offered to the analyst.
    Offer { chat: ChatId, analyst: AnalystId },
}

/// Where a requeued chat goes in its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Its place by creation time (transfer).
    ByCreation,
    /// Before every waiting chat (its analyst was lost).
    Head,
}

/// How a new chat joins its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Creation time (ms): its place by age.
    pub created_ms: i64,
    /// When it joined this queue (ms): expansion and overflow count from here.
    pub entered_ms: i64,
    /// Skills asked for.
    pub skills: Vec<SkillAsk>,
}

/// The whole routing state.
#[derive(Debug, Default, Clone)]
pub struct Core {
    pub queues: HashMap<QueueId, QueueState>,
    pub analysts: HashMap<AnalystId, AnalystState>,
    pub chats: HashMap<ChatId, ChatRoute>,
    /// `routing.priority_aging_secs` in ms (0 = strict priority, §8.2).
    pub aging_ms: i64,
    /// How long a blocked overflow waits before it is tried again (ms).
    pub overflow_retry_ms: i64,
    /// Each user's open chats (kept with `chats`, so finding them never scans every chat).
    by_user: HashMap<UserId, BTreeSet<ChatId>>,
    /// Waiting chats by the time their next timed rule (expansion, overflow, max_wait) is due.
    due: BTreeSet<(i64, ChatId)>,
    /// Where each chat of the queues' indexes is filed (so it is taken out where it was put).
    filed: HashMap<ChatId, index::Filed>,
    /// Monotonic counter for `last_assigned`.
    tick: u64,
    /// Pending wrap-ups by deadline (ms).
    hold_due: BTreeSet<(i64, ChatId)>,
    /// Whose capacity each pending wrap-up holds.
    holders: HashMap<ChatId, AnalystId>,
    /// Analysts with a pending status whose load may have reached zero.
    settling: BTreeSet<AnalystId>,
}

fn err(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::new(code, message)
}

impl Core {
    /// An empty core with priority aging and the overflow retry pause (ms).
    pub fn with_rules(aging_ms: i64, overflow_retry_ms: i64) -> Self {
        Core {
            aging_ms,
            overflow_retry_ms,
            ..Core::default()
        }
    }

    /// Adds or updates a queue's settings, keeping its waiting chats (their timed rules follow
    /// the new settings).
    pub fn upsert_queue(&mut self, mut config: QueueConfig) {
        config.expansion.sort_by_key(|s| s.after_secs);
        let id = config.id.clone();
        match self.queues.get_mut(&config.id) {
            Some(q) => q.config = config,
            None => {
                self.queues.insert(
                    config.id.clone(),
                    QueueState {
                        config,
                        members: BTreeSet::new(),
                        open: true,
                        handle_secs: VecDeque::new(),
                        waiting: BTreeSet::new(),
                        index: index::Node::default(),
                    },
                );
            }
        }
        let waiting: Vec<ChatId> = self.queues[&id].waiting().collect();
        for chat in waiting {
            if let Some(route) = self.chats.get_mut(&chat) {
                route.overflow_at = self.queues[&id]
                    .config
                    .overflow
                    .as_ref()
                    .map(|o| route.entered_ms + secs_ms(o.after_secs));
            }
            self.schedule(chat);
            // Its expansion steps may have changed, and with them what the chat requires now.
            self.refile(chat);
        }
    }

    /// Replaces a queue's members.
    pub fn set_members(&mut self, queue_id: &str, members: BTreeSet<AnalystId>) {
        if let Some(q) = self.queues.get_mut(queue_id) {
            q.members = members;
        }
    }

    /// Adds an analyst, or updates their name and capacity keeping presence and load.
    pub fn upsert_analyst(&mut self, id: &str, name: &str, capacity: usize) {
        let a = self
            .analysts
            .entry(AnalystId::from(id))
            .or_insert_with(|| AnalystState::new(id, name, capacity));
        a.name = name.to_string();
        a.capacity = capacity;
    }

    /// Replaces an analyst's skills.
    pub fn set_skills(&mut self, id: &str, skills: BTreeMap<String, u8>) {
        if let Some(a) = self.analysts.get_mut(id) {
            a.skills = skills;
        }
    }

    /// Records a handled chat's time (accepted → ended) for its queue's estimate.
    pub fn record_handle(&mut self, queue_id: &str, secs: u64) {
        if let Some(q) = self.queues.get_mut(queue_id) {
            q.handle_secs.push_back(secs);
            while q.handle_secs.len() > HANDLE_SAMPLES {
                q.handle_secs.pop_front();
            }
        }
    }

    /// The queues an analyst belongs to.
    pub fn queues_of<'a>(&'a self, analyst: &'a str) -> impl Iterator<Item = &'a QueueState> + 'a {
        self.queues
            .values()
            .filter(move |q| q.members.contains(analyst))
    }

    /// The ids of the queues an analyst belongs to.
    pub fn queue_ids_of(&self, analyst: &str) -> Vec<QueueId> {
        self.queues_of(analyst)
            .map(|q| q.config.id.clone())
            .collect()
    }

    /// A user's open chats.
    pub fn chats_of_user<'a>(&'a self, user_id: &str) -> impl Iterator<Item = &'a ChatRoute> + 'a {
        self.by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.chats.get(id))
    }

    /// The 1-based place of a waiting chat in its queue.
    pub fn position(&self, chat: ChatId) -> Option<usize> {
        let route = self.chats.get(&chat)?;
        if !route.state.is_waiting() {
            return None;
        }
        let queue = self.queues.get(&route.queue_id)?;
        queue
            .waiting
            .range(..(route.order_key, chat))
            .count()
            .checked_add(1)
    }

    /// Analysts of the queue who are available and connected (shown to waiting users).
    pub fn analysts_available(&self, queue_id: &str) -> usize {
        self.queues.get(queue_id).map_or(0, |q| {
            q.members
                .iter()
                .filter_map(|m| self.analysts.get(m))
                .filter(|a| a.status == AnalystStatus::Available && a.is_connected())
                .count()
        })
    }
}

/// Seconds as milliseconds, saturating.
fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
