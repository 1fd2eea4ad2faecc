//! Sessions coming and going. A principal's first session brings them back (cancelling their
//! grace timer and telling the other side of their chats `peer_status`); their last session
//! leaving starts the grace period of contract §4. Past it, an analyst goes offline and their
//! active chats return to the head of their queues; a user's open chats end `user_left`.

use std::time::Duration;

use actix::prelude::*;

use super::pending::Announce;
use super::{Answer, Router, system};
use crate::actors::hub::Who;
use crate::domain::{AnalystStatus, ChatState, EndReason};
use crate::error::AppError;
use crate::protocol::{ChatSummary, PendingWrapUp, RevokeReason, ServerFrame};
use crate::routing::{ChatId, Place};

/// What a new session is told first.
#[derive(Debug, Default)]
pub struct Hello {
    /// For analysts: their status and capacity.
    pub status: Option<(AnalystStatus, usize)>,
    /// The principal's open chats.
    pub chats: Vec<ChatSummary>,
    /// For analysts: the chats waiting in their queues.
    pub waiting: Vec<ChatSummary>,
    /// For analysts: their pending wrap-ups (§9.1).
    pub wrap_ups: Vec<PendingWrapUp>,
    /// For analysts: the status asked for once their chats are over (§9.2).
    pub pending_status: Option<AnalystStatus>,
}

/// A session opened (it is already registered in the hub).
#[derive(Message)]
#[rtype(result = "Result<Hello, AppError>")]
pub struct Connect {
    pub who: Who,
}

impl Handler<Connect> for Router {
    type Result = Result<Hello, AppError>;

    fn handle(&mut self, msg: Connect, ctx: &mut Context<Self>) -> Self::Result {
        let sessions = self.deps.delivery.sessions(&msg.who);
        let returning = self.away.remove(&msg.who).is_some();
        let hello = match &msg.who {
            Who::Staff(id) => {
                let analyst = self.core.analysts.get_mut(id.as_str()).ok_or_else(|| {
                    AppError::forbidden(format!("analyst {id} is not in the directory"))
                })?;
                analyst.sessions = sessions;
                let status = (analyst.status, analyst.capacity);
                let pending_status = analyst.pending_status;
                let mine: Vec<ChatId> = self.chats_of(&msg.who);
                let waiting: Vec<ChatId> =
                    self.core.queues_of(id).flat_map(|q| q.waiting()).collect();
                self.dirty.extend(self.core.queue_ids_of(id));
                Hello {
                    status: Some(status),
                    chats: mine.iter().filter_map(|c| self.summary(*c)).collect(),
                    waiting: waiting.iter().filter_map(|c| self.summary(*c)).collect(),
                    wrap_ups: self.wrap_ups_of(id),
                    pending_status,
                }
            }
            Who::User(_) => Hello {
                status: None,
                chats: self
                    .chats_of(&msg.who)
                    .iter()
                    .filter_map(|c| self.summary(*c))
                    .collect(),
                ..Hello::default()
            },
            Who::Admin(_) => return Ok(Hello::default()),
        };
        if returning {
            self.peer_status(&msg.who, true);
        }
        self.after_change(ctx);
        Ok(hello)
    }
}

/// A session closed (it is already gone from the hub).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub who: Who,
}

impl Handler<Disconnect> for Router {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, ctx: &mut Context<Self>) {
        let sessions = self.deps.delivery.sessions(&msg.who);
        if let Who::Staff(id) = &msg.who
            && let Some(analyst) = self.core.analysts.get_mut(id.as_str())
        {
            analyst.sessions = sessions;
            self.dirty.extend(self.core.queue_ids_of(id));
            // An offer never waits on an analyst who is gone.
            if sessions == 0
                && let Some(chat) = self.core.analysts.get(id.as_str()).and_then(|a| a.offer)
            {
                self.revoke_offer(chat, RevokeReason::Timeout);
                self.core.pass(id, chat);
            }
        }
        // A user with no open chat has nothing to come back to: no grace timer for them.
        let has_grace = match &msg.who {
            Who::Admin(_) => false,
            Who::User(_) => !self.chats_of(&msg.who).is_empty(),
            Who::Staff(_) => true,
        };
        if sessions == 0 && has_grace {
            let generation = self.next_generation();
            self.away.insert(msg.who.clone(), generation);
            self.peer_status(&msg.who, false);
            let grace = Duration::from_secs(self.deps.settings.routing.reconnect_grace_secs);
            let who = msg.who;
            ctx.run_later(grace, move |act, ctx| act.grace_over(who, generation, ctx));
        }
        self.after_change(ctx);
    }
}

impl Router {
    /// The open chats a principal takes part in.
    fn chats_of(&self, who: &Who) -> Vec<ChatId> {
        let mut chats: Vec<(i64, ChatId)> = match who {
            Who::User(id) => self
                .core
                .chats_of_user(id)
                .map(|c| (c.created_ms, c.id))
                .collect(),
            Who::Staff(id) => self
                .core
                .analysts
                .get(id.as_str())
                .into_iter()
                .flat_map(|a| &a.open)
                .filter_map(|c| self.core.chats.get(c))
                .map(|c| (c.created_ms, c.id))
                .collect(),
            Who::Admin(_) => Vec::new(),
        };
        chats.sort();
        chats.into_iter().map(|(_, id)| id).collect()
    }

    /// Tells the other side of each of a principal's active chats whether they are connected.
    fn peer_status(&self, who: &Who, connected: bool) {
        for chat in self.chats_of(who) {
            let Some(route) = self.core.chats.get(&chat) else {
                continue;
            };
            let other = match who {
                Who::Admin(_) => continue,
                Who::User(_) => match (&route.analyst, route.state) {
                    (Some(a), ChatState::Active) => Who::Staff(a.clone()),
                    _ => continue,
                },
                Who::Staff(_) => Who::User(route.user_id.clone()),
            };
            let frame = ServerFrame::PeerStatus {
                chat_id: chat,
                connected,
            };
            self.deps.delivery.send(&other, &frame.encode());
        }
    }

    /// The grace period ran out: if the principal has not come back, let their chats go.
    pub(super) fn grace_over(&mut self, who: Who, generation: u64, ctx: &mut Context<Self>) {
        if self.away.get(&who) != Some(&generation) {
            return;
        }
        self.away.remove(&who);
        let chats = self.chats_of(&who);
        match &who {
            Who::Staff(id) => {
                self.set_status(id, AnalystStatus::Offline, system(), Answer::default(), ctx);
                for chat in chats {
                    let Some(before) = self.core.chats.get(&chat).cloned() else {
                        continue;
                    };
                    if self
                        .core
                        .requeue(
                            chat,
                            &before.queue_id,
                            Place::Head,
                            chrono::Utc::now().timestamp_millis(),
                        )
                        .is_ok()
                    {
                        self.requeued(chat, before, vec![Announce::Queued], None);
                    }
                }
            }
            Who::Admin(_) => {}
            Who::User(_) => {
                for chat in chats {
                    self.end_chat(chat, EndReason::UserLeft, None, None);
                }
            }
        }
        self.after_change(ctx);
    }
}
