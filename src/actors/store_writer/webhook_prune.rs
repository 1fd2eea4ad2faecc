//! The store writer's share of webhook retention (issue 15): one bounded batch of old, ended
//! deliveries and unneeded events deleted in a transaction of its own, in order with everything
//! else the writer commits (`store::webhook_retention`). The retention sweeper hands these in.

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use tokio::sync::oneshot;

use super::{StoreError, StoreWriter, Work};
use crate::store::webhook_retention;

/// Deletes at most `limit` ended deliveries last attempted before `before` (and as many events
/// no delivery needs); answered with the rows deleted and whether a batch was full.
#[derive(Debug, Message)]
#[rtype(result = "Result<(u64, bool), StoreError>")]
pub struct PruneWebhooks {
    pub before: DateTime<Utc>,
    pub limit: u64,
}

/// A prune waiting its turn.
pub struct PruneWork {
    prune: PruneWebhooks,
    done: oneshot::Sender<Result<(u64, bool), StoreError>>,
}

impl Handler<PruneWebhooks> for StoreWriter {
    type Result = ResponseFuture<Result<(u64, bool), StoreError>>;

    fn handle(&mut self, msg: PruneWebhooks, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting
            .push_back(Work::Prune(PruneWork { prune: msg, done }));
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}

impl StoreWriter {
    /// Commits one prune batch in a transaction of its own.
    pub(super) fn commit_prune(&mut self, work: PruneWork, ctx: &mut Context<Self>) {
        self.in_flight = true;
        let db = self.db.clone();
        let PruneWork { prune, done } = work;
        ctx.spawn(
            async move {
                let txn = db.begin().await?;
                let pruned = webhook_retention::prune(&txn, prune.before, prune.limit).await?;
                txn.commit().await?;
                Ok(pruned)
            }
            .into_actor(self)
            .map(move |result: Result<(u64, bool), StoreError>, act, ctx| {
                act.committed(&result, 1);
                let _ = done.send(result);
                act.flush(ctx);
            }),
        );
    }
}
