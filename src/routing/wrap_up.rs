//! After-chat work and pending statuses in the routing core (contract §9.1–§9.2). An answered chat
//! that ends in a queue with wrap-up keeps its analyst's capacity (`hold`) until the wrap-up is
//! done or its deadline passes (`release`); in `required` mode the analyst is routed nothing
//! meanwhile. An analyst with a pending status is routed nothing new; it settles once they hold no
//! chat and no wrap-up (`settled`).

use super::*;

/// A queue's wrap-up settings as the core routes them (`None` in `QueueConfig` = off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapUpConfig {
    /// `required` mode: nothing is routed to an analyst with a pending wrap-up.
    pub required: bool,
    pub timeout_secs: u64,
    pub codes: Vec<String>,
}

/// A pending wrap-up holding one unit of an analyst's capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// When it ends with code `timeout` (ms).
    pub deadline_ms: i64,
    pub required: bool,
    /// The codes the analyst may choose from.
    pub codes: Vec<String>,
    /// Its completion is being stored: not due again, not completed twice.
    pub completing: bool,
}

impl AnalystState {
    /// Open chats plus pending wrap-ups: what counts against capacity (and as `open_chats`).
    pub fn load(&self) -> usize {
        self.open.len() + self.wrap_ups.len()
    }

    /// Whether a `required` wrap-up is pending.
    pub fn wrap_up_required(&self) -> bool {
        self.wrap_ups.values().any(|h| h.required)
    }
}

impl Core {
    /// The analyst keeps `chat`'s capacity in wrap-up until `deadline_ms`.
    pub fn hold(&mut self, analyst: &str, chat: ChatId, hold: Hold) {
        let Some(a) = self.analysts.get_mut(analyst) else {
            return;
        };
        self.hold_due.insert((hold.deadline_ms, chat));
        self.holders.insert(chat, AnalystId::from(analyst));
        a.wrap_ups.insert(chat, hold);
    }

    /// Frees a wrap-up's capacity; returns whose it was.
    pub fn release(&mut self, chat: ChatId) -> Option<(AnalystId, Hold)> {
        let analyst = self.holders.remove(&chat)?;
        let hold = self.analysts.get_mut(&analyst)?.wrap_ups.remove(&chat)?;
        self.hold_due.remove(&(hold.deadline_ms, chat));
        self.mark_settling(&analyst);
        Some((analyst, hold))
    }

    /// A pending wrap-up and whose it is.
    pub fn wrap_up(&self, chat: ChatId) -> Option<(&AnalystId, &Hold)> {
        let analyst = self.holders.get(&chat)?;
        Some((analyst, self.analysts.get(analyst)?.wrap_ups.get(&chat)?))
    }

    /// Marks a wrap-up as being completed (true), or back to pending after a failed write.
    pub fn set_completing(&mut self, chat: ChatId, completing: bool) {
        let Some(analyst) = self.holders.get(&chat) else {
            return;
        };
        if let Some(h) = self
            .analysts
            .get_mut(analyst)
            .and_then(|a| a.wrap_ups.get_mut(&chat))
        {
            h.completing = completing;
        }
    }

    /// Wrap-ups whose deadline is at or before `now_ms` and that are not being completed.
    pub fn due_wrap_ups(&self, now_ms: i64) -> Vec<ChatId> {
        self.hold_due
            .range(..=(now_ms, ChatId::from_uuid(uuid::Uuid::max())))
            .map(|(_, chat)| *chat)
            .filter(|chat| self.wrap_up(*chat).is_some_and(|(_, h)| !h.completing))
            .collect()
    }

    /// The earliest deadline of a wrap-up not being completed.
    pub fn next_wrap_up_due(&self) -> Option<i64> {
        self.hold_due
            .iter()
            .find(|(_, chat)| self.wrap_up(*chat).is_some_and(|(_, h)| !h.completing))
            .map(|(at, _)| *at)
    }

    /// Sets (or clears) the status an analyst asked for once their chats are over.
    pub fn set_pending_status(&mut self, analyst: &str, pending: Option<AnalystStatus>) {
        let Some(a) = self.analysts.get_mut(analyst) else {
            return;
        };
        a.pending_status = pending;
        if pending.is_some() {
            self.settling.insert(a.id.clone());
        } else {
            self.settling.remove(analyst);
        }
    }

    /// An analyst whose load may have dropped: checked by the next `settled`.
    pub(super) fn mark_settling(&mut self, analyst: &str) {
        if self
            .analysts
            .get(analyst)
            .is_some_and(|a| a.pending_status.is_some())
        {
            self.settling.insert(AnalystId::from(analyst));
        }
    }

    /// Analysts whose pending status now applies (no chat, wrap-up or offer left), with it; their
    /// pending status is cleared (the caller sets the status).
    pub fn settled(&mut self) -> Vec<(AnalystId, AnalystStatus)> {
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.settling) {
            let Some(a) = self.analysts.get_mut(&id) else {
                continue;
            };
            let Some(status) = a.pending_status else {
                continue;
            };
            if a.load() == 0 && a.offer.is_none() {
                a.pending_status = None;
                out.push((id, status));
            } else {
                self.settling.insert(id);
            }
        }
        out
    }
}
