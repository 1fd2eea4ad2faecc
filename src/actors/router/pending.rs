//! Changes the router decided and a chat actor is having stored. Each takes effect in the routing
//! core at once (so the next decision sees it) and is kept here with what it replaced and what to
//! announce; the chat actor answers `ChatChanged`. Stored: the queue's analysts, offered analysts
//! and the ops feed are told (`Announce`). Not stored: the chat is put back as it was, unless a
//! later change of the same chat is already on its way (it was decided on top of this one and
//! stands or falls by itself), and the backlog is routed again after a pause, so a database that
//! refuses writes is not asked again in a tight loop.

use std::time::Duration;

use actix::prelude::*;

use super::{ChatMeta, Router};
use crate::actors::chat::{ChangeId, ChatChanged};
use crate::domain::{AnalystId, ChatState, EndReason, QueueId};
use crate::protocol::{DequeueReason, PendingWrapUp, RevokeReason};
use crate::routing::{ChatId, ChatRoute};

/// How long after a change that could not be stored the backlog is routed again.
const REROUTE_AFTER: Duration = Duration::from_secs(1);

/// What the router tells others once a change is stored.
pub(super) enum Announce {
    /// `chat_dequeued` to the queue's analysts, with the reason, if they were told it waits.
    Dequeued(QueueId, DequeueReason),
    /// `chat_dequeued` to the queue's analysts of an ended chat they were told waits.
    Unlisted(QueueId, DequeueReason),
    /// `chat_queued` to the chat's queue's analysts.
    Queued,
    /// The chat is offered to this analyst (a transfer to them).
    Offer(AnalystId),
    /// `offer_revoked` to the analyst the chat was offered to, with the reason.
    Revoked(AnalystId, RevokeReason),
    /// The chat's state on the ops feed, in its queue.
    State(QueueId, ChatState, Option<EndReason>),
    /// The chat ended for this reason (metrics).
    Ended(EndReason),
    /// The chat's wrap-up is stored: its analyst gets `wrap_up_started`, and it may be done.
    WrapUpStarted(AnalystId, PendingWrapUp),
}

/// A change on its way to the database.
pub(super) struct Pending {
    change: ChangeId,
    /// The chat's route before the change, to restore if it is not stored.
    route: Option<ChatRoute>,
    /// What the router knew of the chat before the change.
    meta: Option<ChatMeta>,
    announce: Vec<Announce>,
}

impl Router {
    /// Files a change of `chat` that is being stored; returns its id for the chat actor.
    pub(super) fn pending_change(
        &mut self,
        chat: ChatId,
        route: Option<ChatRoute>,
        meta: Option<ChatMeta>,
        announce: Vec<Announce>,
    ) -> ChangeId {
        self.changes += 1;
        let change = self.changes;
        self.pending.entry(chat).or_default().push_back(Pending {
            change,
            route,
            meta,
            announce,
        });
        change
    }

    fn announce(&mut self, chat: ChatId, what: Announce, ctx: &mut Context<Self>) {
        match what {
            Announce::Dequeued(queue_id, reason) => self.chat_dequeued(chat, &queue_id, reason),
            Announce::Unlisted(queue_id, reason) => self.unlisted(chat, &queue_id, reason),
            Announce::Queued => self.chat_queued(chat),
            Announce::Offer(analyst) => self.offer(chat, &analyst, ctx),
            Announce::Revoked(analyst, reason) => self.offer_revoked(chat, analyst, reason),
            Announce::State(queue_id, state, reason) => {
                self.ops_chat_state(chat, &queue_id, state, reason);
            }
            Announce::Ended(reason) => crate::metrics::chat_ended(reason.as_str()),
            Announce::WrapUpStarted(analyst, pending) => self.wrap_up_started(analyst, pending),
        }
    }

    /// Puts a chat back as it was before a change that could not be stored.
    fn undo(&mut self, chat: ChatId, pending: Pending) {
        if let Some(meta) = pending.meta {
            self.chats.insert(chat, meta);
        }
        if let Some(route) = pending.route {
            self.dirty.insert(route.queue_id.clone());
            self.core.restore(route);
        }
    }
}

impl Handler<ChatChanged> for Router {
    type Result = ();

    fn handle(&mut self, msg: ChatChanged, ctx: &mut Context<Self>) {
        let Some(list) = self.pending.get_mut(&msg.chat) else {
            return;
        };
        let Some(at) = list.iter().position(|p| p.change == msg.change) else {
            return;
        };
        let later = at + 1 < list.len();
        let Some(pending) = list.remove(at) else {
            return;
        };
        if list.is_empty() {
            self.pending.remove(&msg.chat);
        }
        if msg.committed {
            for what in pending.announce {
                self.announce(msg.chat, what, ctx);
            }
            return self.after_change(ctx);
        }
        if !later {
            self.undo(msg.chat, pending);
        }
        ctx.run_later(REROUTE_AFTER, |act, ctx| act.after_change(ctx));
    }
}
