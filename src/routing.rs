//! The routing core: who gets which chat. A plain data structure with no actix, no database and no
//! clock of its own, owned by the router actor and property-tested against the invariants of
//! contract §4: each chat in exactly one state, at most one analyst per chat, load within capacity,
//! only eligible analysts chosen, FIFO within priority, and no chat waiting while an eligible
//! analyst is free.

use std::collections::{BTreeSet, HashMap};

pub use crate::domain::ChatId;
use crate::domain::{AnalystId, AnalystStatus, ChatState, QueueId, RoutingMode, UserId};
use crate::error::{AppError, ErrorCode};

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
}

#[derive(Debug, Clone)]
pub struct QueueState {
    pub config: QueueConfig,
    /// Member analysts (as analyst or manager).
    pub members: BTreeSet<AnalystId>,
    /// Chats waiting here (waiting or offered), in queue order.
    waiting: BTreeSet<(i64, ChatId)>,
}

impl QueueState {
    /// Waiting chats in queue order.
    pub fn waiting(&self) -> impl Iterator<Item = ChatId> + '_ {
        self.waiting.iter().map(|(_, id)| *id)
    }

    pub fn waiting_len(&self) -> usize {
        self.waiting.len()
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
        }
    }

    /// Available, connected, below capacity, no offer pending.
    pub fn is_eligible(&self) -> bool {
        self.status == AnalystStatus::Available
            && self.sessions > 0
            && self.open.len() < self.capacity
            && self.offer.is_none()
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
    /// Waiting, Offered or Active.
    pub state: ChatState,
    /// The analyst it is active with, or offered to.
    pub analyst: Option<AnalystId>,
    /// Analysts who declined or let an offer lapse: not offered this chat again.
    pub passed: BTreeSet<AnalystId>,
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

/// The whole routing state.
#[derive(Debug, Default, Clone)]
pub struct Core {
    pub queues: HashMap<QueueId, QueueState>,
    pub analysts: HashMap<AnalystId, AnalystState>,
    pub chats: HashMap<ChatId, ChatRoute>,
    /// Each user's open chats (kept with `chats`, so finding them never scans every chat).
    by_user: HashMap<UserId, BTreeSet<ChatId>>,
    /// Monotonic counter for `last_assigned`.
    tick: u64,
}

fn err(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::new(code, message)
}

impl Core {
    /// Adds or updates a queue's settings, keeping its waiting chats.
    pub fn upsert_queue(&mut self, config: QueueConfig) {
        match self.queues.get_mut(&config.id) {
            Some(q) => q.config = config,
            None => {
                self.queues.insert(
                    config.id.clone(),
                    QueueState {
                        config,
                        members: BTreeSet::new(),
                        waiting: BTreeSet::new(),
                    },
                );
            }
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

    /// A new chat starts waiting in its queue.
    pub fn enqueue(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        created_ms: i64,
    ) -> Result<(), AppError> {
        let queue = self
            .queues
            .get_mut(queue_id)
            .ok_or_else(|| AppError::not_found(format!("queue {queue_id}")))?;
        queue.waiting.insert((created_ms, id));
        self.admit(id, queue_id, user_id, created_ms, None);
        Ok(())
    }

    /// Files an open chat under its id and its user: waiting, or active with `analyst`.
    fn admit(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        created_ms: i64,
        analyst: Option<&str>,
    ) {
        self.by_user
            .entry(UserId::from(user_id))
            .or_default()
            .insert(id);
        let state = if analyst.is_some() {
            ChatState::Active
        } else {
            ChatState::Waiting
        };
        self.chats.insert(
            id,
            ChatRoute {
                id,
                queue_id: queue_id.into(),
                user_id: user_id.into(),
                created_ms,
                state,
                analyst: analyst.map(AnalystId::from),
                passed: BTreeSet::new(),
                order_key: created_ms,
            },
        );
    }

    /// Restores an active chat after a restart.
    pub fn restore_active(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        created_ms: i64,
        analyst: &str,
    ) {
        self.admit(id, queue_id, user_id, created_ms, Some(analyst));
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.open.insert(id);
        }
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

    /// An analyst takes a chat: it must be waiting in one of their queues or offered to them.
    pub fn accept(&mut self, analyst: &str, chat: ChatId) -> Result<(), AppError> {
        let route = self
            .chats
            .get(&chat)
            .ok_or_else(|| AppError::not_found(format!("chat {chat}")))?;
        let member = self
            .queues
            .get(&route.queue_id)
            .is_some_and(|q| q.members.contains(analyst));
        let offered_to_me =
            route.state == ChatState::Offered && route.analyst.as_deref() == Some(analyst);
        if !member && !offered_to_me {
            return Err(AppError::not_found(format!("chat {chat}")));
        }
        // A chat offered to someone else is still waiting: a member may pick it (the offer is revoked).
        if !route.state.is_waiting() {
            return Err(err(ErrorCode::Conflict, "the chat has already been taken"));
        }
        let a = self
            .analysts
            .get(analyst)
            .ok_or_else(|| AppError::not_found(format!("analyst {analyst}")))?;
        if a.open.len() >= a.capacity {
            return Err(err(
                ErrorCode::AtCapacity,
                format!("you already have {} open chats", a.open.len()),
            ));
        }
        self.activate(chat, analyst);
        Ok(())
    }

    /// Makes a waiting (or offered) chat active with `analyst`.
    fn activate(&mut self, chat: ChatId, analyst: &str) {
        let Some(route) = self.chats.get_mut(&chat) else {
            return;
        };
        if let Some(previous) = route.analyst.take()
            && let Some(p) = self.analysts.get_mut(&previous)
            && p.offer == Some(chat)
        {
            p.offer = None;
        }
        if let Some(q) = self.queues.get_mut(&route.queue_id) {
            q.waiting.remove(&(route.order_key, chat));
        }
        route.state = ChatState::Active;
        route.analyst = Some(AnalystId::from(analyst));
        self.tick += 1;
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.open.insert(chat);
            a.last_assigned = self.tick;
        }
    }

    /// The analyst passes on an offered chat (decline or timeout); it waits for the next one.
    /// Returns false when the chat was not offered to them.
    pub fn pass(&mut self, analyst: &str, chat: ChatId) -> bool {
        let Some(route) = self.chats.get_mut(&chat) else {
            return false;
        };
        if route.state != ChatState::Offered || route.analyst.as_deref() != Some(analyst) {
            return false;
        }
        route.state = ChatState::Waiting;
        route.analyst = None;
        route.passed.insert(AnalystId::from(analyst));
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.offer = None;
        }
        true
    }

    /// Whether a chat may be offered to `analyst` directly: connected, no offer pending, room left.
    pub fn check_offer(&self, analyst: &str) -> Result<(), AppError> {
        let a = self
            .analysts
            .get(analyst)
            .ok_or_else(|| AppError::not_found(format!("analyst {analyst}")))?;
        if !a.is_connected() {
            return Err(err(
                ErrorCode::Conflict,
                format!("{} is not connected", a.name),
            ));
        }
        if a.offer.is_some() {
            return Err(err(
                ErrorCode::Conflict,
                format!("{} already has an offer pending", a.name),
            ));
        }
        if a.open.len() >= a.capacity {
            return Err(err(
                ErrorCode::AtCapacity,
                format!("{} is at capacity", a.name),
            ));
        }
        Ok(())
    }

    /// Offers a waiting chat to one analyst directly (transfer to an analyst).
    pub fn offer_to(&mut self, chat: ChatId, analyst: &str) -> Result<(), AppError> {
        self.check_offer(analyst)?;
        let route = self
            .chats
            .get_mut(&chat)
            .ok_or_else(|| AppError::not_found(format!("chat {chat}")))?;
        if route.state != ChatState::Waiting {
            return Err(err(ErrorCode::Conflict, "the chat is not waiting"));
        }
        route.state = ChatState::Offered;
        route.analyst = Some(AnalystId::from(analyst));
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.offer = Some(chat);
        }
        Ok(())
    }

    /// An active chat goes back to waiting in `queue_id` (transfer, or its analyst was lost).
    pub fn requeue(&mut self, chat: ChatId, queue_id: &str, place: Place) -> Result<(), AppError> {
        let head = self
            .queues
            .get(queue_id)
            .ok_or_else(|| AppError::not_found(format!("queue {queue_id}")))?
            .waiting
            .first()
            .map(|(key, _)| *key);
        let route = self
            .chats
            .get_mut(&chat)
            .ok_or_else(|| AppError::not_found(format!("chat {chat}")))?;
        if route.state != ChatState::Active {
            return Err(err(
                ErrorCode::Conflict,
                "only an active chat can be requeued",
            ));
        }
        if let Some(analyst) = route.analyst.take()
            && let Some(a) = self.analysts.get_mut(&analyst)
        {
            a.open.remove(&chat);
        }
        route.state = ChatState::Waiting;
        route.queue_id = QueueId::from(queue_id);
        route.passed.clear();
        route.order_key = match (place, head) {
            (Place::Head, Some(head)) => head.min(route.created_ms) - 1,
            _ => route.created_ms,
        };
        let key = (route.order_key, chat);
        if let Some(q) = self.queues.get_mut(queue_id) {
            q.waiting.insert(key);
        }
        Ok(())
    }

    /// Puts an open chat back as `route` describes it, after a change the store could not keep:
    /// waiting at its place in its queue, or active with its analyst. A chat that was offered
    /// comes back waiting (its offer is gone), to be routed again.
    pub fn restore(&mut self, mut route: ChatRoute) {
        self.end(route.id);
        if route.state == ChatState::Offered {
            route.state = ChatState::Waiting;
            route.analyst = None;
        }
        self.by_user
            .entry(route.user_id.clone())
            .or_default()
            .insert(route.id);
        match (&route.analyst, route.state) {
            (Some(analyst), ChatState::Active) => {
                if let Some(a) = self.analysts.get_mut(analyst) {
                    a.open.insert(route.id);
                }
            }
            _ => {
                if let Some(q) = self.queues.get_mut(&route.queue_id) {
                    q.waiting.insert((route.order_key, route.id));
                }
            }
        }
        self.chats.insert(route.id, route);
    }

    /// Forgets an ended chat, freeing its analyst's capacity or offer.
    pub fn end(&mut self, chat: ChatId) -> Option<ChatRoute> {
        let route = self.chats.remove(&chat)?;
        if let Some(mine) = self.by_user.get_mut(&route.user_id) {
            mine.remove(&chat);
            if mine.is_empty() {
                self.by_user.remove(&route.user_id);
            }
        }
        if let Some(q) = self.queues.get_mut(&route.queue_id) {
            q.waiting.remove(&(route.order_key, chat));
        }
        if let Some(analyst) = &route.analyst
            && let Some(a) = self.analysts.get_mut(analyst)
        {
            a.open.remove(&chat);
            if a.offer == Some(chat) {
                a.offer = None;
            }
        }
        Some(route)
    }

    /// Hands waiting chats to eligible analysts until no pair is left: higher priority first, then
    /// longest waiting; among eligible members, fewest open chats, then longest since their last
    /// assignment. Manual queues are left for analysts to pick.
    pub fn route(&mut self) -> Vec<Decision> {
        let mut decisions = Vec::new();
        while let Some((chat, analyst, mode)) = self.best_pair() {
            if mode == RoutingMode::Offer {
                if let Some(route) = self.chats.get_mut(&chat) {
                    route.state = ChatState::Offered;
                    route.analyst = Some(analyst.clone());
                }
                if let Some(a) = self.analysts.get_mut(&analyst) {
                    a.offer = Some(chat);
                }
                decisions.push(Decision::Offer { chat, analyst });
            } else {
                self.activate(chat, &analyst);
                decisions.push(Decision::Assign { chat, analyst });
            }
        }
        decisions
    }

    /// The next (chat, analyst) pair to route, if any.
    fn best_pair(&self) -> Option<(ChatId, AnalystId, RoutingMode)> {
        let mut eligible: Vec<&AnalystState> =
            self.analysts.values().filter(|a| a.is_eligible()).collect();
        if eligible.is_empty() {
            return None;
        }
        eligible.sort_by(|a, b| {
            (a.open.len(), a.last_assigned, &a.id).cmp(&(b.open.len(), b.last_assigned, &b.id))
        });
        let mut best: Option<((i32, i64), ChatId, &AnalystId, RoutingMode)> = None;
        for queue in self.queues.values() {
            if queue.config.routing == RoutingMode::Manual
                || !eligible.iter().any(|a| queue.members.contains(&a.id))
            {
                continue;
            }
            // The first chat in queue order that some eligible member may take.
            for &(key, chat) in &queue.waiting {
                let rank = (-queue.config.priority, key);
                if best.as_ref().is_some_and(|(b, ..)| *b <= rank) {
                    break;
                }
                let Some(route) = self.chats.get(&chat) else {
                    continue;
                };
                if route.state != ChatState::Waiting {
                    continue;
                }
                let pick = eligible
                    .iter()
                    .find(|a| queue.members.contains(&a.id) && !route.passed.contains(&a.id));
                if let Some(a) = pick {
                    best = Some((rank, chat, &a.id, queue.config.routing));
                    break;
                }
            }
        }
        best.map(|(_, chat, analyst, mode)| (chat, analyst.clone(), mode))
    }
}

#[cfg(test)]
mod tests;
