//! Analysts' statuses (contract §3.5, §9.2): `set_status` now, or once the analyst holds no chat
//! and no wrap-up (`after_chats`: a pending status, routed nothing new meanwhile, applied by
//! `settle` after any change however the chats left), and the store and announcement of each
//! change. Any status set at once (the analyst's, a manager's `PATCH`, the end of the reconnect
//! grace, a lapsed offer) clears a pending one. In `required` wrap-up mode `available` waits for
//! the wrap-up (`wrap_up_required`).
//!
//! One write path: the routing core takes a change at once (so nothing new is routed to an
//! analyst going away), but the analyst, a manager and the analyst's sessions hear of it only
//! once it is committed. A change the store refuses is answered `unavailable` and undone in the
//! core, and nobody is told of it.

use actix::prelude::*;
use chrono::Utc;
use tokio::sync::oneshot;

use super::Router;
use crate::actors::delivery::Who;
use crate::actors::hub::Reply;
use crate::actors::store_writer::{ChatChange, StoreChanges, committed};
use crate::actors::webhook_events;
use crate::domain::{AnalystId, AnalystStatus};
use crate::error::{AppError, ErrorCode};
use crate::protocol::{OkResult, Person, ServerFrame, StatusWhen};
use crate::timefmt::rfc3339;

/// `set_status` from an analyst, or a manager's change through HTTP. Answered once the change
/// is committed.
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct SetStatus {
    pub analyst_id: AnalystId,
    pub status: AnalystStatus,
    /// `now`, or `after_chats` (a pending status while they hold chats or wrap-ups).
    pub when: StatusWhen,
    pub by: Person,
    /// The analyst's own session; `None` for a manager's change.
    pub reply: Option<Reply>,
}

/// Who hears how a status change ended, once it is committed or refused: the analyst's session
/// that asked (its `ok` or `error`) and the HTTP call of a manager.
#[derive(Default)]
pub(super) struct Answer {
    reply: Option<Reply>,
    done: Option<oneshot::Sender<Result<(), AppError>>>,
}

impl Answer {
    fn send(self, result: Result<OkResult, AppError>) {
        if let Some(reply) = &self.reply {
            match &result {
                Ok(ok) => reply.ok(ok.clone()),
                Err(err) => reply.err(err),
            }
        }
        if let Some(done) = self.done {
            // A caller that stopped waiting has nothing left to hear.
            let _ = done.send(result.map(|_| ()));
        }
    }
}

impl Handler<SetStatus> for Router {
    type Result = ResponseFuture<Result<(), AppError>>;

    fn handle(&mut self, msg: SetStatus, ctx: &mut Context<Self>) -> Self::Result {
        let (done, outcome) = oneshot::channel();
        let answer = Answer {
            reply: msg.reply.clone(),
            done: Some(done),
        };
        self.change_status(msg, answer, ctx);
        self.after_change(ctx);
        Box::pin(async move {
            outcome.await.unwrap_or_else(|_| {
                Err(AppError::new(
                    ErrorCode::Unavailable,
                    "the engine is stopping",
                ))
            })
        })
    }
}

impl Router {
    fn change_status(&mut self, msg: SetStatus, answer: Answer, ctx: &mut Context<Self>) {
        let Some(a) = self.core.analysts.get(msg.analyst_id.as_str()) else {
            let err = AppError::not_found(format!("analyst {}", msg.analyst_id));
            return answer.send(Err(err));
        };
        let own = msg.reply.is_some();
        if own
            && msg.when == StatusWhen::Now
            && msg.status == AnalystStatus::Available
            && a.wrap_up_required()
        {
            return answer.send(Err(AppError::new(
                ErrorCode::WrapUpRequired,
                "finish your wrap-up first: this queue requires one before new chats",
            )));
        }
        let holding = a.load() > 0 || a.offer.is_some();
        if msg.when == StatusWhen::AfterChats && holding {
            self.set_pending(&msg.analyst_id, msg.status, msg.by, answer, ctx);
        } else {
            self.set_status(&msg.analyst_id, msg.status, msg.by, answer, ctx);
        }
    }

    /// Sets (or replaces) a pending status: stored, then the analyst is answered and all their
    /// sessions are told.
    fn set_pending(
        &mut self,
        analyst: &str,
        pending: AnalystStatus,
        by: Person,
        answer: Answer,
        ctx: &mut Context<Self>,
    ) {
        let Some(before) = self.core.analysts.get(analyst).map(|a| a.pending_status) else {
            return;
        };
        self.core.set_pending_status(analyst, Some(pending));
        self.dirty.extend(self.core.queue_ids_of(analyst));
        let change = ChatChange::PendingStatus {
            analyst_id: analyst.to_string(),
            pending: Some(pending),
        };
        let stored = committed(&self.deps.writer, StoreChanges(vec![change]));
        let analyst = analyst.to_string();
        ctx.spawn(
            fut::wrap_future(stored).map(move |stored, act: &mut Router, ctx| {
                let status = act.core.analysts.get(analyst.as_str()).map(|a| a.status);
                match (stored, status) {
                    (Ok(()), Some(status)) => {
                        answer.send(Ok(OkResult::Status {
                            status,
                            pending_status: Some(pending),
                        }));
                        act.announce_status(&analyst, status, Some(pending), by, Utc::now());
                    }
                    (Ok(()), None) => {
                        answer.send(Err(AppError::not_found(format!("analyst {analyst}"))))
                    }
                    (Err(err), _) => {
                        let current = act
                            .core
                            .analysts
                            .get(analyst.as_str())
                            .map(|a| a.pending_status);
                        if current == Some(Some(pending)) {
                            act.core.set_pending_status(&analyst, before);
                            act.dirty.extend(act.core.queue_ids_of(&analyst));
                            act.after_change(ctx);
                        }
                        answer.send(Err(err));
                    }
                }
            }),
        );
    }

    /// Changes an analyst's status at once in the core (clearing any pending one) and stores it;
    /// once it is committed, answers whoever asked and tells all the analyst's sessions who
    /// changed it. Undone in the core if the store refuses it.
    pub(super) fn set_status(
        &mut self,
        analyst: &str,
        status: AnalystStatus,
        by: Person,
        answer: Answer,
        ctx: &mut Context<Self>,
    ) {
        let Some(a) = self.core.analysts.get(analyst) else {
            return answer.send(Err(AppError::not_found(format!("analyst {analyst}"))));
        };
        let before = (a.status, a.pending_status);
        self.core.set_pending_status(analyst, None);
        if let Some(a) = self.core.analysts.get_mut(analyst) {
            a.status = status;
        }
        self.dirty.extend(self.core.queue_ids_of(analyst));
        let at = Utc::now();
        let changes = vec![
            ChatChange::AnalystStatus {
                analyst_id: analyst.to_string(),
                status,
            },
            ChatChange::PendingStatus {
                analyst_id: analyst.to_string(),
                pending: None,
            },
            ChatChange::Outbox(vec![webhook_events::analyst_status(
                analyst,
                status,
                by.clone(),
                at,
            )]),
        ];
        let stored = committed(&self.deps.writer, StoreChanges(changes));
        let analyst = analyst.to_string();
        ctx.spawn(fut::wrap_future(stored).map(
            move |stored, act: &mut Router, ctx| match stored {
                Ok(()) => {
                    answer.send(Ok(OkResult::Status {
                        status,
                        pending_status: None,
                    }));
                    act.ops_analyst_status(&analyst, status, &by);
                    act.announce_status(&analyst, status, None, by, at);
                }
                Err(err) => {
                    tracing::warn!(analyst, error = %err, "status not stored");
                    let current = act.core.analysts.get(analyst.as_str()).map(|a| a.status);
                    if current == Some(status) {
                        let (status, pending) = before;
                        if let Some(a) = act.core.analysts.get_mut(analyst.as_str()) {
                            a.status = status;
                        }
                        act.core.set_pending_status(&analyst, pending);
                        act.dirty.extend(act.core.queue_ids_of(&analyst));
                        act.after_change(ctx);
                    }
                    answer.send(Err(err));
                }
            },
        ));
    }

    /// `status_changed` to every session of the analyst.
    fn announce_status(
        &self,
        analyst: &str,
        status: AnalystStatus,
        pending_status: Option<AnalystStatus>,
        by: Person,
        at: chrono::DateTime<Utc>,
    ) {
        let frame = ServerFrame::StatusChanged {
            status,
            pending_status,
            by,
            at: rfc3339(at),
        }
        .encode();
        self.deps
            .delivery
            .send(&Who::Staff(AnalystId::from(analyst)), &frame);
    }

    /// Applies the pending statuses of analysts who now hold no chat and no wrap-up.
    pub(super) fn settle(&mut self, ctx: &mut Context<Self>) {
        for (analyst, status) in self.core.settled() {
            let by = self.analyst_person(&analyst).unwrap_or_else(super::system);
            self.set_status(&analyst, status, by, Answer::default(), ctx);
        }
    }
}
