//! The store writer: group commit for chat messages and for chats given to analysts. Chat actors
//! hand it groups of rows (or an activation); it writes whatever has gathered in one transaction,
//! with at most one transaction in flight, so batches grow with load (one row at a time when
//! idle, hundreds under pressure) and each group learns whether it is durable. A group's rows are
//! acknowledged only after that commit returns. A failed commit fails every group in it (their
//! senders get `unavailable` and may send again: repeats are stored once), marks the store
//! unhealthy for `/readyz`, and the next commit that succeeds marks it healthy again. It runs on
//! its own thread with its own connection (see `store::connect_writer`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::oneshot;

use crate::settings::StoreSettings;
use crate::store::messages::{self, NewMessage};
use crate::store::{calls, chats};

/// Rows to store together; answered once they are committed (or could not be).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreRows(pub Vec<NewMessage>);

/// A chat given to an analyst: its state, analyst and acceptance time, and the first contact of
/// its call the first time. Stored in the next commit, with the messages: a burst of assignments
/// costs a few commits on the writer's connection, not two commits each racing for SQLite's lock.
#[derive(Debug, Clone)]
pub struct Activation {
    pub chat_id: String,
    pub analyst_id: String,
    pub at: DateTime<Utc>,
    /// The call whose first contact this is, on the chat's first acceptance.
    pub first_contact: Option<String>,
}

/// Stores an activation; answered once it is committed (or could not be).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreActivation(pub Activation);

/// The rows were not stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not store: {0}")]
pub struct StoreError(pub String);

impl From<sea_orm::DbErr> for StoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        StoreError(err.to_string())
    }
}

impl From<crate::error::AppError> for StoreError {
    fn from(err: crate::error::AppError) -> Self {
        StoreError(err.to_string())
    }
}

struct Group {
    rows: Vec<NewMessage>,
    activation: Option<Activation>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

pub struct StoreWriter {
    db: DatabaseConnection,
    /// Largest number of rows in one transaction.
    max_rows: usize,
    /// Most rows that may wait for a commit; past it new groups are refused at once, so a database
    /// that cannot keep up sheds load (`unavailable`) instead of growing memory.
    max_waiting_rows: usize,
    /// Rows in `waiting`.
    waiting_rows: usize,
    /// Groups handed in since the last commit started, oldest first.
    waiting: Vec<Group>,
    /// Whether a commit is running (there is never more than one).
    in_flight: bool,
    /// Whether the last commit succeeded (read by `/readyz`).
    healthy: Arc<AtomicBool>,
    /// Callers of `Drain` waiting for everything handed in to be committed.
    drained: Vec<oneshot::Sender<()>>,
}

impl StoreWriter {
    pub fn new(db: DatabaseConnection, settings: &StoreSettings, healthy: Arc<AtomicBool>) -> Self {
        StoreWriter {
            db,
            max_rows: settings.batch_max_rows.max(1),
            max_waiting_rows: settings.max_waiting_rows,
            waiting_rows: 0,
            waiting: Vec::new(),
            in_flight: false,
            healthy,
            drained: Vec::new(),
        }
    }

    /// Starts a commit of the waiting groups (up to `max_rows`) unless one is in flight.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        if self.waiting.is_empty() {
            self.drained.drain(..).for_each(|done| {
                let _ = done.send(());
            });
            return;
        }
        let mut counted = 0;
        let take = self
            .waiting
            .iter()
            .take_while(|g| {
                // An activation counts as a row: two small statements.
                counted += g.rows.len() + usize::from(g.activation.is_some());
                counted <= self.max_rows
            })
            .count()
            .max(1);
        // The rows move into the batch; each group keeps only its answer.
        let (mut rows, mut activations, mut answers) = (Vec::new(), Vec::new(), Vec::new());
        for group in self.waiting.drain(..take) {
            rows.extend(group.rows);
            activations.extend(group.activation);
            answers.push(group.done);
        }
        self.waiting_rows -= rows.len();
        self.in_flight = true;
        let db = self.db.clone();
        ctx.spawn(
            async move { write(&db, &rows, &activations).await }
                .into_actor(self)
                .map(move |result, act, ctx| {
                    let result = result.inspect_err(|err| {
                        tracing::warn!(error = %err, groups = answers.len(), "batch not stored");
                    });
                    act.healthy.store(result.is_ok(), Ordering::Release);
                    for done in answers {
                        let _ = done.send(result.clone());
                    }
                    act.in_flight = false;
                    act.flush(ctx);
                }),
        );
    }
}

async fn write(
    db: &DatabaseConnection,
    rows: &[NewMessage],
    activations: &[Activation],
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    if activations.is_empty() {
        messages::insert_batch(db, rows).await?;
    } else {
        let txn = db.begin().await?;
        messages::insert_in(&txn, rows).await?;
        let given: Vec<_> = activations
            .iter()
            .map(|a| (a.chat_id.as_str(), a.analyst_id.as_str(), a.at))
            .collect();
        chats::mark_all_active(&txn, &given).await?;
        let first: Vec<_> = activations
            .iter()
            .filter_map(|a| Some((a.first_contact.as_deref()?, a.at)))
            .collect();
        calls::record_first_contacts(&txn, &first).await?;
        txn.commit().await?;
    }
    crate::metrics::batch_committed(rows.len(), started);
    Ok(())
}

/// Mailbox size before `send` waits (chat actors wait on `send` here, one group each); `do_send`
/// is never held back.
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
        if self.waiting_rows + msg.0.len() > self.max_waiting_rows {
            crate::metrics::store_overloaded();
            return Box::pin(async { Err(StoreError("the store is overloaded".into())) });
        }
        self.waiting_rows += msg.0.len();
        self.enqueue(msg.0, None, ctx)
    }
}

impl Handler<StoreActivation> for StoreWriter {
    type Result = ResponseFuture<Result<(), StoreError>>;

    /// Never refused for load: there is one per assignment, and a refused one would leave the
    /// chat's row behind its state.
    fn handle(&mut self, msg: StoreActivation, ctx: &mut Context<Self>) -> Self::Result {
        self.enqueue(Vec::new(), Some(msg.0), ctx)
    }
}

impl StoreWriter {
    fn enqueue(
        &mut self,
        rows: Vec<NewMessage>,
        activation: Option<Activation>,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<(), StoreError>> {
        let (done, result) = oneshot::channel();
        self.waiting.push(Group {
            rows,
            activation,
            done,
        });
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}

/// Resolves once every row handed in so far has been committed or refused (graceful stop).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for StoreWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let (done, drained) = oneshot::channel();
        self.drained.push(done);
        self.flush(ctx);
        Box::pin(async move {
            let _ = drained.await;
        })
    }
}
