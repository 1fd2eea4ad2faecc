//! A chat's life in the routing core: joining a queue, taken by an analyst (accepted or
//! routed), passed on, offered directly, requeued, restored after a change the store could not
//! keep, and ended. Skills restrict only the router's choice: `accept` needs membership alone.
//! Each change refiles the chat in its queue's index (`index`).

use std::collections::BTreeSet;

use super::*;

impl Core {
    /// A new chat starts waiting in its queue, asking no skills.
    pub fn enqueue(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        created_ms: i64,
    ) -> Result<(), AppError> {
        let entry = Entry {
            created_ms,
            entered_ms: created_ms,
            skills: Vec::new(),
        };
        self.enqueue_entry(id, queue_id, user_id, entry)
    }

    /// A new (or restored) chat starts waiting in its queue, asking `entry.skills` (those the
    /// queue does not list are dropped).
    pub fn enqueue_entry(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        entry: Entry,
    ) -> Result<(), AppError> {
        let queue = self
            .queues
            .get_mut(queue_id)
            .ok_or_else(|| AppError::not_found(format!("queue {queue_id}")))?;
        queue.waiting.insert((entry.created_ms, id));
        let skills = skills::listed(entry.skills.clone(), &queue.config.skills);
        let overflow_at = queue
            .config
            .overflow
            .as_ref()
            .map(|o| entry.entered_ms + secs_ms(o.after_secs));
        self.admit(id, queue_id, user_id, &entry, None);
        if let Some(route) = self.chats.get_mut(&id) {
            route.skills = skills;
            route.overflow_at = overflow_at;
        }
        self.schedule(id);
        self.refile(id);
        Ok(())
    }

    /// Files an open chat under its id and its user: waiting, or active with `analyst`.
    fn admit(
        &mut self,
        id: ChatId,
        queue_id: &str,
        user_id: &str,
        entry: &Entry,
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
                created_ms: entry.created_ms,
                entered_ms: entry.entered_ms,
                state,
                analyst: analyst.map(AnalystId::from),
                passed: BTreeSet::new(),
                skills: entry.skills.clone(),
                relaxed: 0,
                overflow_at: None,
                due_ms: None,
                order_key: entry.created_ms,
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
        let entry = Entry {
            created_ms,
            entered_ms: created_ms,
            skills: Vec::new(),
        };
        self.admit(id, queue_id, user_id, &entry, Some(analyst));
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.open.insert(id);
        }
        self.refile(id);
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
        if a.load() >= a.capacity {
            return Err(err(
                ErrorCode::AtCapacity,
                format!("you already have {} open chats", a.load()),
            ));
        }
        self.activate(chat, analyst);
        Ok(())
    }

    /// Makes a waiting (or offered) chat active with `analyst`.
    pub(super) fn activate(&mut self, chat: ChatId, analyst: &str) {
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
        if let Some(due) = route.due_ms.take() {
            self.due.remove(&(due, chat));
        }
        route.state = ChatState::Active;
        route.analyst = Some(AnalystId::from(analyst));
        self.tick += 1;
        if let Some(a) = self.analysts.get_mut(analyst) {
            a.open.insert(chat);
            a.last_assigned = self.tick;
        }
        self.refile(chat);
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
        self.refile(chat);
        self.mark_settling(analyst);
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
        if a.load() >= a.capacity {
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
        self.refile(chat);
        Ok(())
    }

    /// An active chat goes back to waiting in `queue_id` (transfer, or its analyst was lost),
    /// joining it at `now_ms`: its expansion starts again, and skills the queue does not list
    /// are dropped.
    pub fn requeue(
        &mut self,
        chat: ChatId,
        queue_id: &str,
        place: Place,
        now_ms: i64,
    ) -> Result<(), AppError> {
        let queue = self
            .queues
            .get(queue_id)
            .ok_or_else(|| AppError::not_found(format!("queue {queue_id}")))?;
        let head = queue.waiting.first().map(|(key, _)| *key);
        let listed = queue.config.skills.clone();
        let overflow_at = queue
            .config
            .overflow
            .as_ref()
            .map(|o| now_ms + secs_ms(o.after_secs));
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
        let lost = route.analyst.take();
        if let Some(analyst) = &lost
            && let Some(a) = self.analysts.get_mut(analyst)
        {
            a.open.remove(&chat);
        }
        route.state = ChatState::Waiting;
        route.queue_id = QueueId::from(queue_id);
        route.passed.clear();
        route.entered_ms = now_ms;
        route.relaxed = 0;
        route.overflow_at = overflow_at;
        route.skills = skills::listed(std::mem::take(&mut route.skills), &listed);
        route.order_key = match (place, head) {
            (Place::Head, Some(head)) => head.min(route.created_ms) - 1,
            _ => route.created_ms,
        };
        let key = (route.order_key, chat);
        if let Some(q) = self.queues.get_mut(queue_id) {
            q.waiting.insert(key);
        }
        self.schedule(chat);
        self.refile(chat);
        if let Some(analyst) = lost {
            self.mark_settling(&analyst);
        }
        Ok(())
    }

    /// Puts an open chat back as `route` describes it, after a change the store could not keep:
    /// waiting at its place in its queue, or active with its analyst. A chat that was offered
    /// comes back waiting (its offer is gone), to be routed again.
    pub fn restore(&mut self, mut route: ChatRoute) {
        self.end(route.id);
        // An end that was not stored holds no wrap-up.
        self.release(route.id);
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
        let id = route.id;
        route.due_ms = None;
        self.chats.insert(id, route);
        self.schedule(id);
        self.refile(id);
    }

    /// Forgets an ended chat, freeing its analyst's capacity or offer.
    pub fn end(&mut self, chat: ChatId) -> Option<ChatRoute> {
        let route = self.chats.remove(&chat)?;
        self.refile(chat);
        if let Some(mine) = self.by_user.get_mut(&route.user_id) {
            mine.remove(&chat);
            if mine.is_empty() {
                self.by_user.remove(&route.user_id);
            }
        }
        if let Some(q) = self.queues.get_mut(&route.queue_id) {
            q.waiting.remove(&(route.order_key, chat));
        }
        if let Some(due) = route.due_ms {
            self.due.remove(&(due, chat));
        }
        if let Some(analyst) = &route.analyst
            && let Some(a) = self.analysts.get_mut(analyst)
        {
            a.open.remove(&chat);
            if a.offer == Some(chat) {
                a.offer = None;
            }
            let analyst = analyst.clone();
            self.mark_settling(&analyst);
        }
        Some(route)
    }
}
