//! The store writer's share of attachments (contract §12): an upload arrives as chunks of at
//! most `store::attachments::CHUNK_BYTES`, each committed as a work item of its own in order with
//! everything else the writer commits (so message batches wait behind one small chunk, never a
//! whole file), then the file's row in a transaction of its own, and never through a chat actor.
//! The row is written only if its chat is still open: a chat's end, which deletes its unsent
//! files in the same writer, is either before it (refused: `false`, its chunks deleted) or after
//! it (the file goes with the end). An upload that fails before its row is discarded
//! (`DiscardUpload`): its chunks are deleted, and without a row they were never visible.

use actix::prelude::*;
use sea_orm::TransactionTrait;
use tokio::sync::oneshot;

use super::{StoreError, StoreWriter, Work};
use crate::store::attachments::{self, NewAttachment, NewChunk};

/// Stores one chunk of an upload; answered once committed.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreChunk(pub NewChunk);

/// Stores an uploaded file's row (its chunks are stored); answered `true` once committed, `false`
/// when its chat had ended (nothing stored, its chunks deleted).
#[derive(Debug, Message)]
#[rtype(result = "Result<bool, StoreError>")]
pub struct StoreAttachment(pub NewAttachment);

/// Deletes the chunks of an upload that will not become a file (cut off, refused, failed).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct DiscardUpload(pub String);

/// An upload's work waiting its turn.
pub enum AttachmentWork {
    Chunk(NewChunk, oneshot::Sender<Result<(), StoreError>>),
    File(NewAttachment, oneshot::Sender<Result<bool, StoreError>>),
    Discard(String),
}

fn answer<T: Send + 'static>(
    result: oneshot::Receiver<Result<T, StoreError>>,
) -> ResponseFuture<Result<T, StoreError>> {
    Box::pin(async move {
        result
            .await
            .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
    })
}

impl Handler<StoreChunk> for StoreWriter {
    type Result = ResponseFuture<Result<(), StoreError>>;

    fn handle(&mut self, msg: StoreChunk, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting
            .push_back(Work::Attachment(AttachmentWork::Chunk(msg.0, done)));
        self.flush(ctx);
        answer(result)
    }
}

impl Handler<StoreAttachment> for StoreWriter {
    type Result = ResponseFuture<Result<bool, StoreError>>;

    fn handle(&mut self, msg: StoreAttachment, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting
            .push_back(Work::Attachment(AttachmentWork::File(msg.0, done)));
        self.flush(ctx);
        answer(result)
    }
}

impl Handler<DiscardUpload> for StoreWriter {
    type Result = ();

    fn handle(&mut self, msg: DiscardUpload, ctx: &mut Context<Self>) {
        self.waiting
            .push_back(Work::Attachment(AttachmentWork::Discard(msg.0)));
        self.flush(ctx);
    }
}

impl StoreWriter {
    /// Commits one piece of an upload's work: a chunk (one statement), a file's row (a
    /// transaction of its own), or the deletion of a discarded upload's chunks.
    pub(super) fn commit_attachment(&mut self, work: AttachmentWork, ctx: &mut Context<Self>) {
        self.in_flight = true;
        let db = self.db.clone();
        match work {
            AttachmentWork::Chunk(chunk, done) => ctx.spawn(
                async move { Ok(attachments::insert_chunk(&db, chunk).await?) }
                    .into_actor(self)
                    .map(move |result: Result<(), StoreError>, act, ctx| {
                        act.committed(&result, 1);
                        let _ = done.send(result);
                        act.flush(ctx);
                    }),
            ),
            AttachmentWork::File(file, done) => ctx.spawn(
                async move {
                    let bytes = usize::try_from(file.size).unwrap_or(0);
                    let txn = db.begin().await?;
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
            ),
            AttachmentWork::Discard(id) => ctx.spawn(
                async move { Ok(attachments::delete_chunks(&db, &id).await?) }
                    .into_actor(self)
                    .map(move |result: Result<(), StoreError>, act, ctx| {
                        act.committed(&result, 1);
                        act.flush(ctx);
                    }),
            ),
        };
    }
}
