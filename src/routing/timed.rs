//! Timed rules as the clock moves (contract §4 max_wait, §8.1 expansion, §8.2 overflow). Every
//! waiting chat with a rule ahead sits in `Core::due` under the time its next rule is due, so the
//! router keeps one timer for the earliest (`next_due`) and `advance` touches only the chats due.
//! Times are the stored ones (creation, entry into the current queue), so after a restart a rule
//! applies late at most, never twice.

use super::*;

/// What the clock did to a waiting chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Timed {
    /// An expansion step began: the chat may now go to more analysts.
    Expanded { chat: ChatId, relaxed: usize },
    /// The chat moved to `to` by overflow (`before` is how it was, to put it back if the move
    /// cannot be stored); `revoked` names the analyst whose offer of it is gone.
    Overflowed {
        chat: ChatId,
        from: QueueId,
        to: QueueId,
        revoked: Option<AnalystId>,
        before: Box<ChatRoute>,
    },
    /// It waited past its queue's `max_wait_secs`: the router ends it.
    Expired { chat: ChatId },
}

impl Core {
    /// When the earliest timed rule is due (ms), if any chat has one ahead.
    pub fn next_due(&self) -> Option<i64> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Sets whether a queue is inside its business hours; true when it changed.
    pub fn set_open(&mut self, queue_id: &str, open: bool) -> bool {
        self.queues
            .get_mut(queue_id)
            .is_some_and(|q| std::mem::replace(&mut q.open, open) != open)
    }

    /// Applies every timed rule due at `now_ms`, once. A rule that comes due again at once (an
    /// overflow into a queue with its own rules due) waits for the next call.
    pub fn advance(&mut self, now_ms: i64) -> Vec<Timed> {
        let due: Vec<ChatId> = self
            .due
            .range(..=(now_ms, ChatId::from_uuid(uuid::Uuid::max())))
            .map(|(_, chat)| *chat)
            .collect();
        let mut out = Vec::new();
        for chat in due {
            if let Some(route) = self.chats.get_mut(&chat)
                && let Some(at) = route.due_ms.take()
            {
                self.due.remove(&(at, chat));
            }
            self.apply_due(chat, now_ms, &mut out);
        }
        out
    }

    fn apply_due(&mut self, chat: ChatId, now_ms: i64, out: &mut Vec<Timed>) {
        let Some(route) = self.chats.get_mut(&chat) else {
            return;
        };
        let Some(queue) = self.queues.get(&route.queue_id) else {
            return;
        };
        if !route.state.is_waiting() {
            return;
        }
        let max_wait = queue.config.max_wait_secs;
        if max_wait > 0 && now_ms >= route.created_ms.saturating_add(max_wait * 1000) {
            out.push(Timed::Expired { chat });
            return;
        }
        if let (Some(at), Some(overflow)) = (route.overflow_at, &queue.config.overflow)
            && at <= now_ms
        {
            let to = overflow.queue_id.clone();
            let open = to != route.queue_id
                && self.queues.get(&to).is_some_and(QueueState::takes_overflow);
            if open {
                out.push(self.overflow(chat, &to, now_ms));
                return;
            }
            route.overflow_at = Some(now_ms + self.overflow_retry_ms.max(1));
        }
        let Some(route) = self.chats.get_mut(&chat) else {
            return;
        };
        let begun = expansion_begun(&self.queues[&route.queue_id].config, route, now_ms);
        if begun > route.relaxed {
            route.relaxed = begun;
            out.push(Timed::Expanded {
                chat,
                relaxed: begun,
            });
        }
        self.schedule(chat);
        // A step that began changes what the chat requires of an analyst (never its order key).
        self.refile(chat);
    }

    /// Moves a waiting chat to `to` keeping its creation time (its place by age); its pending
    /// offer is gone and its expansion starts again there.
    fn overflow(&mut self, chat: ChatId, to: &QueueId, now_ms: i64) -> Timed {
        let (listed, overflow_at) = match self.queues.get(to) {
            Some(q) => (
                q.config.skills.clone(),
                q.config
                    .overflow
                    .as_ref()
                    .map(|o| now_ms + secs_ms(o.after_secs)),
            ),
            None => (Vec::new(), None),
        };
        let Some(route) = self.chats.get_mut(&chat) else {
            return Timed::Expired { chat };
        };
        let before = Box::new(route.clone());
        let from = std::mem::replace(&mut route.queue_id, to.clone());
        if let Some(q) = self.queues.get_mut(&from) {
            q.waiting.remove(&(route.order_key, chat));
        }
        let revoked = if route.state == ChatState::Offered {
            route.analyst.take()
        } else {
            None
        };
        if let Some(a) = revoked.as_ref().and_then(|a| self.analysts.get_mut(a)) {
            a.offer = None;
        }
        route.state = ChatState::Waiting;
        route.order_key = route.created_ms;
        route.entered_ms = now_ms;
        route.relaxed = 0;
        route.passed.clear();
        route.overflow_at = overflow_at;
        route.skills = skills::listed(std::mem::take(&mut route.skills), &listed);
        let key = (route.order_key, chat);
        if let Some(q) = self.queues.get_mut(to) {
            q.waiting.insert(key);
        }
        self.schedule(chat);
        self.refile(chat);
        Timed::Overflowed {
            chat,
            from,
            to: to.clone(),
            revoked,
            before,
        }
    }

    /// Files a waiting chat under the time its next timed rule is due (or nowhere).
    pub(super) fn schedule(&mut self, chat: ChatId) {
        let Some(route) = self.chats.get_mut(&chat) else {
            return;
        };
        if let Some(at) = route.due_ms.take() {
            self.due.remove(&(at, chat));
        }
        if !route.state.is_waiting() {
            return;
        }
        let Some(queue) = self.queues.get(&route.queue_id) else {
            return;
        };
        let config = &queue.config;
        let expiry = (config.max_wait_secs > 0)
            .then(|| route.created_ms.saturating_add(config.max_wait_secs * 1000));
        let step = config
            .expansion
            .get(route.relaxed)
            .filter(|_| !route.skills.is_empty())
            .map(|s| route.entered_ms + secs_ms(s.after_secs));
        let overflow = route.overflow_at.filter(|_| config.overflow.is_some());
        if let Some(at) = [expiry, step, overflow].into_iter().flatten().min() {
            route.due_ms = Some(at);
            self.due.insert((at, chat));
        }
    }
}

/// The expansion steps begun for a chat at `now_ms` (none for a chat asking no skill: there is
/// nothing to relax).
fn expansion_begun(config: &QueueConfig, route: &ChatRoute, now_ms: i64) -> usize {
    if route.skills.is_empty() {
        return 0;
    }
    config
        .expansion
        .iter()
        .filter(|s| route.entered_ms + secs_ms(s.after_secs) <= now_ms)
        .count()
}
