//! After-chat work (contract §9.1) as the router runs it. An answered chat that ends in a queue
//! whose wrap-up mode is not `off` keeps its analyst's capacity in the routing core at once
//! (`start_wrap_up`); the wrap-up is stored with the end, and then its analyst gets
//! `wrap_up_started`. It ends once: by the analyst's `wrap_up` (a code from the list), or with
//! code `timeout` when the router's one clock reaches its stored deadline (`due_wrap_ups`, so a
//! restart re-arms it from the database). The store writer commits the code, the note and the
//! `chat.wrapped_up` event together; only then is the capacity freed, the analyst answered, and
//! the backlog routed.

use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::pending::Announce;
use super::{Router, system};
use crate::actors::delivery::Who;
use crate::actors::hub::Reply;
use crate::actors::store_writer::{ChatChange, StoreChange, committed};
use crate::actors::webhook_events;
use crate::domain::{AnalystId, ChatState};
use crate::error::AppError;
use crate::protocol::{OkResult, PendingWrapUp, Person, ServerFrame, WrapUpView};
use crate::routing::{ChatId, ChatRoute, Hold};
use crate::store::wrap_ups::{DoneWrapUp, NewWrapUp};
use crate::timefmt::rfc3339;

/// The code a wrap-up ends with at its deadline; never one of a queue's codes.
pub const TIMEOUT_CODE: &str = "timeout";
/// How long after a wrap-up that could not be stored its deadline is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// `wrap_up` from the chat's analyst.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WrapUp {
    pub analyst: Person,
    pub chat_id: ChatId,
    pub code: String,
    /// Checked by the session (at most 2000 characters); empty is none.
    pub note: Option<String>,
    pub reply: Reply,
}

impl Handler<WrapUp> for Router {
    type Result = ();

    fn handle(&mut self, msg: WrapUp, ctx: &mut Context<Self>) {
        if let Err(err) = self.check_wrap_up(&msg) {
            return msg.reply.err(&err);
        }
        let WrapUp {
            analyst,
            chat_id,
            code,
            note,
            reply,
        } = msg;
        self.finish_wrap_up(chat_id, code, note, analyst, Some(reply), ctx);
    }
}

impl Router {
    fn check_wrap_up(&self, msg: &WrapUp) -> Result<(), AppError> {
        let chat = msg.chat_id;
        let not_found = || AppError::not_found(format!("wrap-up of chat {chat}"));
        let Some((owner, hold)) = self.core.wrap_up(chat) else {
            let open_mine = self.core.chats.get(&chat).is_some_and(|r| {
                r.state == ChatState::Active && r.analyst.as_deref() == Some(&msg.analyst.id)
            });
            return Err(if open_mine {
                AppError::conflict("the chat has not ended: close it first")
            } else {
                not_found()
            });
        };
        if owner.as_str() != msg.analyst.id {
            return Err(not_found());
        }
        if hold.completing {
            return Err(AppError::conflict(
                "this wrap-up is being stored: try again shortly",
            ));
        }
        if !hold.codes.contains(&msg.code) {
            return Err(AppError::bad_request(format!(
                "code: must be one of {}",
                hold.codes.join(", ")
            )));
        }
        Ok(())
    }

    /// When an answered chat ends in a queue with wrap-up: its analyst keeps the capacity (not
    /// yet completable: `completing` until the end is stored), and the end carries the wrap-up
    /// to store. None when the queue has no wrap-up or the chat was not answered.
    pub(super) fn start_wrap_up(
        &mut self,
        route: &ChatRoute,
        announce: &mut Vec<Announce>,
    ) -> Option<NewWrapUp> {
        if route.state != ChatState::Active {
            return None;
        }
        let analyst = route.analyst.clone()?;
        let config = self
            .core
            .queues
            .get(&route.queue_id)?
            .config
            .wrap_up
            .clone()?;
        let secs = i64::try_from(config.timeout_secs).unwrap_or(i64::MAX / 2000);
        let deadline = Utc::now() + chrono::Duration::seconds(secs);
        let hold = Hold {
            deadline_ms: deadline.timestamp_millis(),
            required: config.required,
            codes: config.codes.clone(),
            completing: true,
        };
        self.core.hold(&analyst, route.id, hold);
        announce.push(Announce::WrapUpStarted(
            analyst.clone(),
            PendingWrapUp {
                chat_id: route.id,
                codes: config.codes.clone(),
                deadline: rfc3339(deadline),
            },
        ));
        Some(NewWrapUp {
            chat_id: route.id.to_string(),
            analyst_id: analyst.to_string(),
            queue_id: route.queue_id.to_string(),
            required: config.required,
            codes: config.codes,
            deadline,
        })
    }

    /// The end and its wrap-up are stored: the analyst is told, and it may now be done (or time out).
    pub(super) fn wrap_up_started(&mut self, analyst: AnalystId, pending: PendingWrapUp) {
        self.core.set_completing(pending.chat_id, false);
        let frame = ServerFrame::WrapUpStarted(pending).encode();
        self.deps.delivery.send(&Who::Staff(analyst), &frame);
    }

    /// A stored wrap-up the router holds again after a restart (its deadline as stored).
    pub(super) fn hold_stored(&mut self, row: &entities::chat_wrap_ups::Model) {
        let Ok(chat) = ChatId::parse(&row.chat_id) else {
            return;
        };
        let hold = Hold {
            deadline_ms: row.deadline.timestamp_millis(),
            required: row.required,
            codes: crate::store::wrap_ups::codes(row),
            completing: false,
        };
        self.core.hold(&row.analyst_id, chat, hold);
    }

    /// An analyst's pending wrap-ups, as `hello` shows them.
    pub(super) fn wrap_ups_of(&self, analyst: &str) -> Vec<PendingWrapUp> {
        self.core
            .analysts
            .get(analyst)
            .into_iter()
            .flat_map(|a| &a.wrap_ups)
            .map(|(chat, hold)| PendingWrapUp {
                chat_id: *chat,
                codes: hold.codes.clone(),
                deadline: DateTime::<Utc>::from_timestamp_millis(hold.deadline_ms)
                    .map(rfc3339)
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Wrap-ups whose deadline has come end with code `timeout`.
    pub(super) fn time_out_wrap_ups(&mut self, now_ms: i64, ctx: &mut Context<Self>) {
        for chat in self.core.due_wrap_ups(now_ms) {
            self.finish_wrap_up(chat, TIMEOUT_CODE.into(), None, system(), None, ctx);
        }
    }

    /// Stores a wrap-up's end (with `chat.wrapped_up`); once committed its capacity is freed,
    /// the analyst answered and the backlog routed. Not stored: it stays pending (a timeout is
    /// tried again shortly).
    fn finish_wrap_up(
        &mut self,
        chat: ChatId,
        code: String,
        note: Option<String>,
        by: Person,
        reply: Option<Reply>,
        ctx: &mut Context<Self>,
    ) {
        self.core.set_completing(chat, true);
        let at = Utc::now();
        let done = DoneWrapUp {
            chat_id: chat.to_string(),
            code: code.clone(),
            note: note.clone(),
            by_id: by.id.clone(),
            by_name: by.name.clone(),
            at,
        };
        let view = WrapUpView {
            code,
            note,
            by,
            at: rfc3339(at),
        };
        let db = self.deps.db.clone();
        let writer = self.deps.writer.clone();
        let work = async move {
            let summary = webhook_events::ended_summary(&db, chat).await?;
            let event = webhook_events::wrapped_up(summary, view, at);
            committed(&writer, StoreChange(ChatChange::WrapUpDone(done, event))).await
        };
        ctx.spawn(
            work.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(()) => {
                        if let Some((analyst, _)) = act.core.release(chat) {
                            act.dirty.extend(act.core.queue_ids_of(&analyst));
                        }
                        if let Some(reply) = reply {
                            reply.ok(OkResult::Chat { chat_id: chat });
                        }
                        act.after_change(ctx);
                    }
                    Err(err) => {
                        tracing::warn!(%chat, error = %err, "wrap-up not stored");
                        act.core.set_completing(chat, false);
                        if let Some(reply) = reply {
                            reply.err(&err);
                        }
                        ctx.run_later(RETRY_AFTER, |act, ctx| act.rearm(ctx));
                    }
                }),
        );
    }
}
