//! What clients ask the router: start a chat, accept, decline, close, transfer,
//! and a manager turning a queue on or off. Each command is checked against the caller and the
//! current state before anything changes; its reply goes to the asking session before any event
//! about what it created. Status changes are `status`, wrap-ups `wrap_up`.

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::Router;
use super::pending::Announce;
use super::starts::PendingStart;
use crate::actors::chat::Requeue;
use crate::actors::hub::Reply;
use crate::domain::{AnalystId, ChatState, EndReason, QueueId, Role, UserId};
use crate::error::{AppError, ErrorCode};
use crate::protocol::{Actor as ActorRef, OkResult, Person, ServerFrame, SkillRequest};
use crate::routing::skills::LEVELS;
use crate::routing::{ChatId, ChatRoute, Place, SkillAsk};
use crate::timefmt::rfc3339;
use crate::views::rules::asks_json;

/// `start_chat` from a user.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StartChat {
    pub user: Person,
    pub queue_id: QueueId,
    pub subject: String,
    pub call_id: Option<String>,
    /// Skills asked for (checked here against the queue's list).
    pub skills: Vec<SkillRequest>,
    /// What the session found wrong with the command, answered once the queue is known.
    pub invalid: Option<AppError>,
    /// The host's ticket id to file the chat under.
    pub call_ref: Option<String>,
    pub reply: Reply,
}

impl Handler<StartChat> for Router {
    type Result = ();

    fn handle(&mut self, msg: StartChat, ctx: &mut Context<Self>) {
        let asks = match self.check_start(&msg) {
            Ok(asks) => asks,
            Err(err) => return msg.reply.err(&err),
        };
        let key = (UserId::from(msg.user.id.as_str()), msg.queue_id.clone());
        self.starting.insert(key);
        let StartChat {
            user,
            queue_id,
            subject,
            call_id,
            call_ref,
            reply,
            ..
        } = msg;
        let start = PendingStart {
            chat_id: ChatId::new(),
            created_at: Utc::now(),
            user,
            queue_id,
            subject,
            call_id,
            skills: asks,
            call_ref,
            reply,
        };
        self.queue_start(start, ctx);
    }
}

impl Router {
    /// `start_chat`'s checks in the contract's order (§8.2): `not_found`, `bad_request`,
    /// `queue_offline`, `queue_closed`, `queue_full`, `conflict`. Returns the skills asked.
    fn check_start(&self, msg: &StartChat) -> Result<Vec<SkillAsk>, AppError> {
        let queue = self
            .core
            .queues
            .get(msg.queue_id.as_str())
            .ok_or_else(|| AppError::not_found(format!("queue {}", msg.queue_id)))?;
        if let Some(err) = &msg.invalid {
            return Err(err.clone());
        }
        let mut asks = Vec::with_capacity(msg.skills.len());
        for (i, s) in msg.skills.iter().enumerate() {
            if !queue.config.skills.contains(&s.name) {
                return Err(AppError::bad_request(format!(
                    "skills[{i}].name: {} does not offer {:?}",
                    queue.config.name, s.name
                )));
            }
            if !LEVELS.contains(&s.level) {
                return Err(AppError::bad_request(format!(
                    "skills[{i}].level: must be 1 to 5"
                )));
            }
            if asks.iter().any(|a: &SkillAsk| a.name == s.name) {
                return Err(AppError::bad_request(format!(
                    "skills[{i}].name: {:?} asked twice",
                    s.name
                )));
            }
            asks.push(SkillAsk {
                name: s.name.clone(),
                level: s.level,
            });
        }
        if !queue.config.enabled {
            let text = format!("{} is offline", queue.config.name);
            return Err(AppError::new(ErrorCode::QueueOffline, text));
        }
        let hours = self.hours_state(&msg.queue_id);
        if !hours.open_now {
            return Err(AppError::queue_closed(
                format!("{} is closed", queue.config.name),
                hours.next_change_at.map(rfc3339),
            ));
        }
        let max = queue.config.max_waiting;
        let full = max > 0 && {
            let starting = self
                .starting
                .iter()
                .filter(|(_, q)| *q == msg.queue_id)
                .count();
            queue.waiting_len() + starting >= max
        };
        if full {
            return Err(AppError::new(
                ErrorCode::QueueFull,
                format!(
                    "{} has {max} chats waiting: try again later",
                    queue.config.name
                ),
            ));
        }
        let key = (UserId::from(msg.user.id.as_str()), msg.queue_id.clone());
        let open_here = self
            .core
            .chats_of_user(&msg.user.id)
            .any(|c| c.queue_id == msg.queue_id);
        if open_here || self.starting.contains(&key) {
            return Err(AppError::conflict(
                "you already have an open chat in this queue",
            ));
        }
        Ok(asks)
    }
}

/// `accept` from an analyst: exactly one of two racing accepts wins.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Accept {
    pub analyst_id: AnalystId,
    pub chat_id: ChatId,
    pub reply: Reply,
}

impl Handler<Accept> for Router {
    type Result = ();

    fn handle(&mut self, msg: Accept, ctx: &mut Context<Self>) {
        if let Err(err) = self.core.accept(&msg.analyst_id, msg.chat_id) {
            return msg.reply.err(&err);
        }
        self.assigned(msg.chat_id, &msg.analyst_id, Some(msg.reply));
        self.after_change(ctx);
    }
}

/// `decline` of an offered chat: it is offered to the next analyst.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Decline {
    pub analyst_id: AnalystId,
    pub chat_id: ChatId,
    pub reply: Reply,
}

impl Handler<Decline> for Router {
    type Result = ();

    fn handle(&mut self, msg: Decline, ctx: &mut Context<Self>) {
        if !self.core.pass(&msg.analyst_id, msg.chat_id) {
            return msg.reply.err(&AppError::not_found(format!(
                "offer of chat {}",
                msg.chat_id
            )));
        }
        self.offers.remove(&msg.chat_id);
        crate::metrics::offer("declined");
        msg.reply.ok(OkResult::Chat {
            chat_id: msg.chat_id,
        });
        self.after_change(ctx);
    }
}

/// `close_chat` from the chat's user or its analyst.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseChat {
    pub who: ActorRef,
    pub chat_id: ChatId,
    pub reply: Reply,
}

impl Handler<CloseChat> for Router {
    type Result = ();

    fn handle(&mut self, msg: CloseChat, ctx: &mut Context<Self>) {
        let Some(route) = self.core.chats.get(&msg.chat_id) else {
            return msg
                .reply
                .err(&AppError::not_found(format!("chat {}", msg.chat_id)));
        };
        let reason = match msg.who.role {
            Role::User if route.user_id == msg.who.id => EndReason::ClosedByUser,
            Role::Analyst | Role::Manager
                if route.state == ChatState::Active
                    && route.analyst.as_deref() == Some(&msg.who.id) =>
            {
                EndReason::ClosedByAnalyst
            }
            _ => {
                return msg
                    .reply
                    .err(&AppError::not_found(format!("chat {}", msg.chat_id)));
            }
        };
        self.end_chat(msg.chat_id, reason, Some(msg.who), Some(msg.reply));
        self.after_change(ctx);
    }
}

/// `transfer` from the chat's analyst: back to waiting in a queue, or offered to an analyst.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Transfer {
    pub analyst_id: AnalystId,
    pub chat_id: ChatId,
    pub queue_id: Option<QueueId>,
    pub to_analyst: Option<AnalystId>,
    pub reply: Reply,
}

impl Handler<Transfer> for Router {
    type Result = ();

    /// The transferring analyst's ok comes from the chat actor, once the requeue is stored.
    fn handle(&mut self, msg: Transfer, ctx: &mut Context<Self>) {
        if let Err(err) = self.transfer(&msg) {
            msg.reply.err(&err);
        }
        self.after_change(ctx);
    }
}

impl Router {
    fn transfer(&mut self, msg: &Transfer) -> Result<(), AppError> {
        let not_found = || AppError::not_found(format!("chat {}", msg.chat_id));
        let route = self.core.chats.get(&msg.chat_id).ok_or_else(not_found)?;
        if route.state != ChatState::Active || route.analyst.as_deref() != Some(&msg.analyst_id) {
            return Err(not_found());
        }
        let queue_id = match (&msg.queue_id, &msg.to_analyst) {
            (Some(q), None) => {
                if !self.core.queues.contains_key(q.as_str()) {
                    return Err(AppError::not_found(format!("queue {q}")));
                }
                q.clone()
            }
            (None, Some(target)) => {
                if target == &msg.analyst_id {
                    return Err(AppError::bad_request("transfer to another analyst"));
                }
                self.core.check_offer(target)?;
                route.queue_id.clone()
            }
            _ => {
                return Err(AppError::bad_request(
                    "give exactly one of queue_id or analyst_id",
                ));
            }
        };
        let before = route.clone();
        self.core.requeue(
            msg.chat_id,
            &queue_id,
            Place::ByCreation,
            Utc::now().timestamp_millis(),
        )?;
        let mut announce = vec![Announce::Queued];
        if let Some(target) = &msg.to_analyst {
            if let Err(err) = self.core.offer_to(msg.chat_id, target) {
                self.core.restore(before);
                return Err(err);
            }
            announce.push(Announce::Offer(target.clone()));
        }
        self.requeued(msg.chat_id, before, announce, Some(msg.reply.clone()));
        Ok(())
    }

    /// The core put an active chat back to waiting (transfer, or its analyst was lost): the chat
    /// actor stores it and tells the user; the queue hears once it is stored. Undone (active
    /// with its analyst again) if it cannot be stored.
    pub(super) fn requeued(
        &mut self,
        chat: ChatId,
        before: ChatRoute,
        announce: Vec<Announce>,
        reply: Option<Reply>,
    ) {
        let position = self.core.position(chat);
        let Some((queue_id, entered_ms, skills)) = self
            .core
            .chats
            .get(&chat)
            .map(|r| (r.queue_id.clone(), r.entered_ms, asks_json(&r.skills)))
        else {
            return;
        };
        let queued_at = DateTime::from_timestamp_millis(entered_ms).unwrap_or_else(Utc::now);
        let Some(meta) = self.chats.get_mut(&chat) else {
            return;
        };
        let was = meta.clone();
        meta.waiting_since = Instant::now();
        let addr = meta.addr.clone();
        let change = self.pending_change(chat, Some(before), Some(was), announce);
        addr.do_send(Requeue {
            change,
            queue_id: queue_id.clone(),
            position,
            queued_at,
            skills,
            reply,
        });
    }
}

/// A manager (or admin) turned a queue on or off; the change is already stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetQueueEnabled {
    pub queue_id: QueueId,
    pub enabled: bool,
    pub by: Person,
}

impl Handler<SetQueueEnabled> for Router {
    type Result = ();

    fn handle(&mut self, msg: SetQueueEnabled, _: &mut Context<Self>) {
        if let Some(q) = self.core.queues.get_mut(msg.queue_id.as_str()) {
            q.config.enabled = msg.enabled;
        }
        let frame = ServerFrame::QueueStatus {
            queue_id: msg.queue_id.clone(),
            enabled: msg.enabled,
            by: msg.by,
            at: rfc3339(Utc::now()),
        };
        self.to_queue(&msg.queue_id, frame.encode());
    }
}
