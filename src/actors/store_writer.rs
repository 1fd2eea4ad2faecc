//! The store writer: group commit for chat messages. Chat actors hand it groups of rows; it writes
//! whatever has gathered in one transaction, with at most one transaction in flight, so batches
//! grow with load (one row at a time when idle, hundreds under pressure) and each group learns
//! whether it is durable. A group's rows are acknowledged only after that commit returns.

use actix::prelude::*;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::oneshot;

use crate::store::messages::{self, NewMessage};

/// Rows to store together; answered once they are committed (or could not be).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreRows(pub Vec<NewMessage>);

/// The rows were not stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not store messages: {0}")]
pub struct StoreError(pub String);

struct Group {
    rows: Vec<NewMessage>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

pub struct StoreWriter {
    db: DatabaseConnection,
    /// Largest number of rows in one transaction.
    max_rows: usize,
    /// Groups handed in since the last commit started, oldest first.
    waiting: Vec<Group>,
    /// Whether a commit is running (there is never more than one).
    in_flight: bool,
}

impl StoreWriter {
    pub fn new(db: DatabaseConnection, max_rows: usize) -> Self {
        StoreWriter {
            db,
            max_rows: max_rows.max(1),
            waiting: Vec::new(),
            in_flight: false,
        }
    }

    /// Starts a commit of the waiting groups (up to `max_rows`) unless one is in flight.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight || self.waiting.is_empty() {
            return;
        }
        let mut rows = 0;
        let take = self
            .waiting
            .iter()
            .take_while(|g| {
                rows += g.rows.len();
                rows <= self.max_rows
            })
            .count()
            .max(1);
        let batch: Vec<Group> = self.waiting.drain(..take).collect();
        self.in_flight = true;
        let db = self.db.clone();
        ctx.spawn(
            async move {
                let result = write(&db, &batch).await;
                (batch, result)
            }
            .into_actor(self)
            .then(|(batch, result), act, _| {
                let db = act.db.clone();
                async move {
                    match result {
                        Ok(()) => answer_all(batch, Ok(())),
                        Err(err) if is_connection_error(&err) => {
                            tracing::warn!(error = %err, "message batch not stored: database unavailable");
                            answer_all(batch, Err(StoreError(err.to_string())));
                        }
                        // One bad group must not fail its neighbours: retry each alone.
                        Err(err) => {
                            tracing::warn!(error = %err, "message batch failed; retrying group by group");
                            for group in batch {
                                let started = std::time::Instant::now();
                                let result = messages::insert_batch(&db, &group.rows).await;
                                if result.is_ok() {
                                    crate::metrics::batch_committed(group.rows.len(), started);
                                }
                                let _ = group.done.send(result.map_err(|e| StoreError(e.to_string())));
                            }
                        }
                    }
                }
                .into_actor(act)
            })
            .map(|(), act, ctx| {
                act.in_flight = false;
                act.flush(ctx);
            }),
        );
    }
}

async fn write(db: &DatabaseConnection, batch: &[Group]) -> Result<(), DbErr> {
    let rows: Vec<NewMessage> = batch.iter().flat_map(|g| g.rows.iter().cloned()).collect();
    let started = std::time::Instant::now();
    messages::insert_batch(db, &rows).await?;
    crate::metrics::batch_committed(rows.len(), started);
    Ok(())
}

fn answer_all(batch: Vec<Group>, result: Result<(), StoreError>) {
    for group in batch {
        let _ = group.done.send(result.clone());
    }
}

fn is_connection_error(err: &DbErr) -> bool {
    matches!(err, DbErr::Conn(_) | DbErr::ConnectionAcquire(_))
}

/// Mailbox size before `send` waits (chat actors wait on `send` here, one group each); `do_send` is never held back.
const MAILBOX: usize = 1 << 16;

impl Actor for StoreWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

impl Handler<StoreRows> for StoreWriter {
    type Result = ResponseFuture<Result<(), StoreError>>;

    fn handle(&mut self, msg: StoreRows, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting.push(Group { rows: msg.0, done });
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}
