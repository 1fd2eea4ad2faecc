//! The store writer's share of attachments (contract §12): an uploaded file is committed here, in
//! a transaction of its own, in order with everything else the writer commits, and never through
//! a chat actor (so an upload does not hold up that chat's messages). The row is written only if
//! its chat is still open: a chat's end, which deletes its unsent files in the same writer, is
//! either before it (refused: `false`) or after it (the file goes with the end).

use actix::prelude::*;
use sea_orm::TransactionTrait;
use tokio::sync::oneshot;

use super::{StoreError, StoreWriter, Work};
use crate::store::attachments::{self, NewAttachment};

/// Stores an uploaded file; answered `true` once committed, `false` when its chat had ended
/// (nothing stored).
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, StoreError>")]
pub struct StoreAttachment(pub NewAttachment);

/// A file waiting its turn.
pub struct AttachmentWork {
    file: NewAttachment,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

impl Handler<StoreAttachment> for StoreWriter {
    type Result = ResponseFuture<Result<bool, StoreError>>;

    fn handle(&mut self, msg: StoreAttachment, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting
            .push_back(Work::Attachment(AttachmentWork { file: msg.0, done }));
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}

impl StoreWriter {
    /// Commits one uploaded file in a transaction of its own.
    pub(super) fn commit_attachment(&mut self, work: AttachmentWork, ctx: &mut Context<Self>) {
        self.in_flight = true;
        let db = self.db.clone();
        let fence = self.fence.clone();
        let AttachmentWork { file, done } = work;
        ctx.spawn(
            async move {
                let bytes = file.data.len();
                let txn = db.begin().await?;
                if let Some(fence) = &fence {
                    crate::store::lease::check(&txn, fence).await?;
                }
                let stored = attachments::insert_if_open(&txn, file).await?;
                txn.commit().await?;
                if stored {
                    crate::metrics::attachment_stored(bytes);
                }
                Ok(stored)
            }
            .into_actor(self)
            .map(move |result: Result<bool, StoreError>, act, ctx| {
                act.committed(&result, 1);
                let _ = done.send(result);
                act.flush(ctx);
            }),
        );
    }
}
