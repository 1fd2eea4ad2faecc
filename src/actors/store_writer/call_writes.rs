//! The store writer's share of the host's tickets (contract §10.2): `POST` and `PATCH
//! /api/v1/calls` are committed here, one transaction each, in order with everything else the
//! writer commits (so a ref taken by a `start_chat {call_ref}` batch and one taken by a `POST`
//! never race). The answer is the call's id, or why nothing was written (`conflict`,
//! `not_found`); a database failure is `StoreError`, which callers report as `unavailable`.

use actix::prelude::*;
use sea_orm::TransactionTrait;
use tokio::sync::oneshot;

use super::{StoreError, StoreWriter, Work};
use crate::actors::webhook_events;
use crate::protocol::{CallView, Person};
use crate::store::calls::{self, CallOutcome, CallPatch, NewCall};
use crate::store::{users, webhooks};
use crate::timefmt::rfc3339;

/// Writes the new call's `call.created` to the webhook outbox, in its transaction.
async fn report_created(
    txn: &impl sea_orm::ConnectionTrait,
    id: &str,
    call: &NewCall,
) -> Result<(), StoreError> {
    let names = users::names(txn, std::slice::from_ref(&call.user_id)).await?;
    let view = CallView {
        id: id.to_string(),
        user: Person {
            id: call.user_id.clone(),
            name: names.get(&call.user_id).cloned().unwrap_or_default(),
        },
        summary: call.summary.clone(),
        source: "Chat".to_string(),
        status: "open".to_string(),
        created_at: rfc3339(call.at),
        first_contact_at: None,
        external_ref: call.external_ref.clone(),
        external_url: call.external_url.clone(),
        history: Vec::new(),
    };
    webhooks::insert_outbox(txn, &[webhook_events::call_created(&view, call.at)]).await?;
    Ok(())
}

/// A call write.
#[derive(Debug, Clone)]
pub enum CallWrite {
    /// Open a call (`POST /api/v1/calls`).
    Create(NewCall),
    /// Edit call `id` (`PATCH /api/v1/calls/{id}`).
    Update { id: String, patch: CallPatch },
}

/// Commits a call write; answered once committed (or refused, or failed).
#[derive(Debug, Message)]
#[rtype(result = "Result<CallOutcome, StoreError>")]
pub struct StoreCall(pub CallWrite);

/// A call write waiting its turn.
pub struct CallWork {
    write: CallWrite,
    done: oneshot::Sender<Result<CallOutcome, StoreError>>,
}

impl Handler<StoreCall> for StoreWriter {
    type Result = ResponseFuture<Result<CallOutcome, StoreError>>;

    fn handle(&mut self, msg: StoreCall, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting
            .push_back(Work::Call(CallWork { write: msg.0, done }));
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}

impl StoreWriter {
    /// Commits one call write in a transaction of its own; a refused write commits nothing.
    pub(super) fn commit_call(&mut self, work: CallWork, ctx: &mut Context<Self>) {
        self.in_flight = true;
        let db = self.db.clone();
        let fence = self.fence.clone();
        let CallWork { write, done } = work;
        ctx.spawn(
            async move {
                let txn = db.begin().await?;
                if let Some(fence) = &fence {
                    crate::store::lease::check(&txn, fence).await?;
                }
                let outcome = match &write {
                    CallWrite::Create(call) => {
                        let outcome = calls::create_external(&txn, call).await?;
                        if let Ok(id) = &outcome {
                            report_created(&txn, id, call).await?;
                        }
                        outcome
                    }
                    CallWrite::Update { id, patch } => {
                        calls::update_external(&txn, id, patch).await?
                    }
                };
                if outcome.is_ok() {
                    txn.commit().await?;
                } else {
                    txn.rollback().await?;
                }
                Ok(outcome)
            }
            .into_actor(self)
            .map(move |result: Result<CallOutcome, StoreError>, act, ctx| {
                act.committed(&result, 1);
                if matches!(result, Ok(Ok(_))) {
                    act.webhooks.notify_one();
                }
                let _ = done.send(result);
                act.flush(ctx);
            }),
        );
    }
}
