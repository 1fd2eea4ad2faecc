//! Analysts' statuses (contract §3.5, §9.2): `set_status` now, or once the analyst holds no chat
//! and no wrap-up (`after_chats`: a pending status, routed nothing new meanwhile, applied by
//! `settle` after any change however the chats left), and the store and announcement of each
//! change. Any status set at once (the analyst's, a manager's `PATCH`, the end of the reconnect
//! grace, a lapsed offer) clears a pending one. In `required` wrap-up mode `available` waits for
//! the wrap-up (`wrap_up_required`).

use actix::prelude::*;
use chrono::Utc;

use super::Router;
use crate::actors::delivery::Who;
use crate::actors::hub::Reply;
use crate::actors::store_writer::{ChatChange, StoreChanges, committed};
use crate::actors::webhook_events;
use crate::domain::{AnalystId, AnalystStatus};
use crate::error::{AppError, ErrorCode};
use crate::protocol::{OkResult, Person, ServerFrame, StatusWhen};
use crate::timefmt::rfc3339;

/// `set_status` from an analyst, or a manager's change through HTTP.
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

impl Handler<SetStatus> for Router {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: SetStatus, ctx: &mut Context<Self>) -> Self::Result {
        let result = self.change_status(&msg);
        if let Some(reply) = &msg.reply {
            match &result {
                Ok(ok) => reply.ok(ok.clone()),
                Err(err) => reply.err(err),
            }
        }
        self.after_change(ctx);
        result.map(|_| ())
    }
}

impl Router {
    fn change_status(&mut self, msg: &SetStatus) -> Result<OkResult, AppError> {
        let a = self
            .core
            .analysts
            .get(msg.analyst_id.as_str())
            .ok_or_else(|| AppError::not_found(format!("analyst {}", msg.analyst_id)))?;
        let own = msg.reply.is_some();
        if own
            && msg.when == StatusWhen::Now
            && msg.status == AnalystStatus::Available
            && a.wrap_up_required()
        {
            return Err(AppError::new(
                ErrorCode::WrapUpRequired,
                "finish your wrap-up first: this queue requires one before new chats",
            ));
        }
        let holding = a.load() > 0 || a.offer.is_some();
        if msg.when == StatusWhen::AfterChats && holding {
            let status = a.status;
            self.set_pending(&msg.analyst_id, Some(msg.status), msg.by.clone());
            return Ok(OkResult::Status {
                status,
                pending_status: Some(msg.status),
            });
        }
        self.set_status(&msg.analyst_id, msg.status, msg.by.clone());
        Ok(OkResult::Status {
            status: msg.status,
            pending_status: None,
        })
    }

    /// Sets (or replaces) a pending status: stored, then all the analyst's sessions are told.
    fn set_pending(&mut self, analyst: &str, pending: Option<AnalystStatus>, by: Person) {
        self.core.set_pending_status(analyst, pending);
        let Some(status) = self.core.analysts.get(analyst).map(|a| a.status) else {
            return;
        };
        self.dirty.extend(self.core.queue_ids_of(analyst));
        let change = ChatChange::PendingStatus {
            analyst_id: analyst.to_string(),
            pending,
        };
        let frame = ServerFrame::StatusChanged {
            status,
            pending_status: pending,
            by,
            at: rfc3339(Utc::now()),
        }
        .encode();
        let stored = committed(&self.deps.writer, StoreChanges(vec![change]));
        let delivery = self.deps.delivery.clone();
        let who = Who::Staff(AnalystId::from(analyst));
        actix::spawn(async move {
            match stored.await {
                Ok(()) => delivery.send(&who, &frame),
                Err(err) => tracing::warn!(error = %err, "pending status not stored"),
            }
        });
    }

    /// Changes an analyst's status at once (clearing any pending one), stores it, and tells all
    /// their sessions who changed it.
    pub(super) fn set_status(&mut self, analyst: &str, status: AnalystStatus, by: Person) {
        self.core.set_pending_status(analyst, None);
        let Some(a) = self.core.analysts.get_mut(analyst) else {
            return;
        };
        a.status = status;
        self.ops_analyst_status(analyst, status, &by);
        let at = Utc::now();
        let event = webhook_events::analyst_status(analyst, status, by.clone(), at);
        let frame = ServerFrame::StatusChanged {
            status,
            pending_status: None,
            by,
            at: rfc3339(at),
        }
        .encode();
        self.deps
            .delivery
            .send(&Who::Staff(AnalystId::from(analyst)), &frame);
        self.dirty.extend(self.core.queue_ids_of(analyst));
        let changes = vec![
            ChatChange::AnalystStatus {
                analyst_id: analyst.to_string(),
                status,
            },
            ChatChange::PendingStatus {
                analyst_id: analyst.to_string(),
                pending: None,
            },
            ChatChange::Outbox(vec![event]),
        ];
        let stored = committed(&self.deps.writer, StoreChanges(changes));
        let analyst = analyst.to_string();
        actix::spawn(async move {
            if let Err(err) = stored.await {
                tracing::warn!(analyst, error = %err, "status not stored");
            }
        });
    }

    /// Applies the pending statuses of analysts who now hold no chat and no wrap-up.
    pub(super) fn settle(&mut self) {
        for (analyst, status) in self.core.settled() {
            let by = self.analyst_person(&analyst).unwrap_or_else(super::system);
            self.set_status(&analyst, status, by);
        }
    }
}
