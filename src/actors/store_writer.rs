//! The store writer: the one component that commits chat state. Chat actors hand it groups of
//! message rows and typed changes of a chat's state (`ChatChange`: given to an analyst, requeued,
//! ended, linked to a call, its history written); the router hands it batches of `start_chat`s;
//! the upload route hands it files, chunk by chunk (`attachment_writes`).
//! Webhook outbox rows ride along (`ChatChange::Outbox`, and the events of each start batch):
//! they commit in the same transaction as the change they report, and the webhook worker is
//! woken once they have.
//! It writes whatever has gathered in one transaction, in the order it was handed in, with at
//! most one transaction in flight, so batches grow with load (one row at a time when idle,
//! hundreds under pressure) and each request learns whether it is durable: only then is it
//! acknowledged or announced. A failed commit fails every request in it (their senders get
//! `unavailable`, or retry), marks the store unhealthy for `/readyz`, and the next commit that
//! succeeds marks it healthy again. It runs on its own thread with its own connection (see
//! `store::connect_writer`). In cluster mode every transaction it commits is fenced
//! (`store::lease::check`): refused unless this node leads the cluster under a live epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::{Notify, oneshot};

use crate::actors::webhook_events;
use crate::domain::{AnalystStatus, ChatState, EndReason};
use crate::error::{AppError, ErrorCode};
use crate::settings::StoreSettings;
use crate::store::attachments;
use crate::store::chats::ChatToStart;
use crate::store::history::{self, HistoryEntry};
use crate::store::lease::{self, Fence};
use crate::store::messages::{self, NewMessage};
use crate::store::ratings::{self, NewRating};
use crate::store::supervisors::{self, Supervisor, SupervisorKind};
use crate::store::webhooks::{DeliveryChange, OutboxEvent};
use crate::store::wrap_ups::{self, DoneWrapUp, NewWrapUp};
use crate::store::{analysts, calls, chats, queues, webhooks};

mod attachment_writes;
mod call_writes;
mod webhook_prune;
pub use attachment_writes::{DiscardUpload, StoreAttachment, StoreChunk};
pub use call_writes::{CallWrite, StoreCall};
pub use webhook_prune::PruneWebhooks;

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

/// A change of one chat's state, committed in order with everything handed in before it.
#[derive(Debug, Clone)]
pub enum ChatChange {
    /// Given to an analyst (accepted, or routed automatically).
    Activate(Activation),
    /// Back to waiting in `queue_id`, without an analyst (transfer, or its analyst was lost).
    /// `queued_at` is when it entered that queue; `skills` what it still asks there (JSON).
    Requeue {
        chat_id: String,
        queue_id: String,
        queued_at: DateTime<Utc>,
        skills: String,
    },
    /// Ended (`closed` or `unanswered`) with `last_seq` messages.
    End {
        chat_id: String,
        state: ChatState,
        reason: EndReason,
        ended_at: DateTime<Utc>,
        last_seq: i64,
    },
    /// Also written to another call's history when it ends.
    Link { chat_id: String, call_id: String },
    /// The ended chat's transcript, onto its call and every linked call.
    History(Vec<HistoryEntry>),
    /// Webhook events reporting the other changes of the same request (`StoreChanges`).
    Outbox(Vec<OutboxEvent>),
    /// An analyst's status (with `Outbox`, its `analyst.status_changed`).
    AnalystStatus {
        analyst_id: String,
        status: AnalystStatus,
    },
    /// A queue turned on or off (with `Outbox`, its `queue.status_changed`).
    QueueEnabled { queue_id: String, enabled: bool },
    /// A webhook delivery attempted, retried, or its endpoint disabled.
    Delivery(DeliveryChange),
    /// A manager or admin starts monitoring or joins the chat (contract §9.3).
    Supervise(Supervisor),
    /// They stop monitoring, or leave.
    Unsupervise {
        chat_id: String,
        principal_id: String,
        kind: SupervisorKind,
    },
    /// The user rated the ended chat (contract §9.4); a chat already rated keeps its rating.
    /// `event` (`chat.rated`) is written only when this rating is the one stored.
    Rate(NewRating, Option<OutboxEvent>),
    /// The ended chat's wrap-up starts (contract §9.1), with its deadline.
    WrapUpStart(NewWrapUp),
    /// The wrap-up is done; `event` (`chat.wrapped_up`) is written only if it was still pending.
    WrapUpDone(DoneWrapUp, OutboxEvent),
    /// The status an analyst asked for once their chats are over (contract §9.2), or none.
    PendingStatus {
        analyst_id: String,
        pending: Option<AnalystStatus>,
    },
}

impl ChatChange {
    /// Whether committing it gives the webhook worker something to do.
    fn wakes_webhooks(&self) -> bool {
        matches!(
            self,
            ChatChange::Outbox(_)
                | ChatChange::Delivery(DeliveryChange::Retry { .. })
                | ChatChange::WrapUpDone(..)
                | ChatChange::Rate(_, Some(_))
        )
    }
}

/// Stores a change of a chat's state; answered once it is committed (or could not be).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreChange(pub ChatChange);

/// Stores several changes in one transaction, all or none (a change and the webhook events
/// that report it: `vec![change, ChatChange::Outbox(events)]`); answered once committed.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), StoreError>")]
pub struct StoreChanges(pub Vec<ChatChange>);

/// Stores a batch of checked `start_chat`s (with their users and new calls) in one transaction;
/// answered with each chat's call id, in order (or why that start was refused).
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<calls::CallOutcome>, StoreError>")]
pub struct StoreStarts(pub Vec<ChatToStart>);

/// Hands `request` to the writer and waits for its commit. A request that could not be stored,
/// or a writer that stopped, is `unavailable`, as clients are told.
pub fn committed<M, T>(
    writer: &Addr<StoreWriter>,
    request: M,
) -> impl Future<Output = Result<T, AppError>> + 'static
where
    M: Message<Result = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
    StoreWriter: Handler<M>,
{
    let sent = writer.send(request);
    async move {
        match sent.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(unavailable(err)),
            Err(err) => Err(unavailable(err)),
        }
    }
}

fn unavailable(err: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %err, "chat change not stored");
    AppError::new(
        ErrorCode::Unavailable,
        "the change could not be stored; try again",
    )
}

/// The rows were not stored.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not store: {0}")]
pub struct StoreError(pub String);

impl From<sea_orm::DbErr> for StoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        StoreError(err.to_string())
    }
}

impl From<AppError> for StoreError {
    fn from(err: AppError) -> Self {
        StoreError(err.to_string())
    }
}

/// Messages and changes from one request, answered together.
struct Group {
    rows: Vec<NewMessage>,
    changes: Vec<ChatChange>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// What waits for a commit, in the order it was handed in.
enum Work {
    Group(Group),
    /// A batch of starts: committed in a transaction of its own.
    Starts(
        Vec<ChatToStart>,
        oneshot::Sender<Result<Vec<calls::CallOutcome>, StoreError>>,
    ),
    /// A call the host opens or edits: committed in a transaction of its own.
    Call(call_writes::CallWork),
    /// A chunk of an upload, a file's row, or a discarded upload: each committed on its own.
    Attachment(attachment_writes::AttachmentWork),
    /// A batch of old webhook rows to delete: committed in a transaction of its own.
    Prune(webhook_prune::PruneWork),
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
    /// Work handed in since the last commit started, oldest first.
    waiting: std::collections::VecDeque<Work>,
    /// Whether a commit is running (there is never more than one).
    in_flight: bool,
    /// Whether the last commit succeeded (read by `/readyz`).
    healthy: Arc<AtomicBool>,
    /// Callers of `Drain` waiting for everything handed in to be committed.
    drained: Vec<oneshot::Sender<()>>,
    /// Woken after a commit that wrote webhook outbox rows (the delivery worker waits on it).
    webhooks: Arc<Notify>,
    /// In cluster mode, the leader's epoch each transaction must still hold; `None` on a single
    /// node, where nothing is fenced.
    fence: Option<Arc<Fence>>,
}

impl StoreWriter {
    pub fn new(db: DatabaseConnection, settings: &StoreSettings, healthy: Arc<AtomicBool>) -> Self {
        StoreWriter {
            db,
            max_rows: settings.batch_max_rows.max(1),
            max_waiting_rows: settings.max_waiting_rows,
            waiting_rows: 0,
            waiting: std::collections::VecDeque::new(),
            in_flight: false,
            healthy,
            drained: Vec::new(),
            webhooks: Arc::new(Notify::new()),
            fence: None,
        }
    }

    /// Fences every transaction with `fence` (cluster mode).
    pub fn fenced(mut self, fence: Option<Arc<Fence>>) -> Self {
        self.fence = fence;
        self
    }

    /// Wakes `webhooks` after each commit that gives the webhook worker something to do.
    pub fn waking(mut self, webhooks: Arc<Notify>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Starts a commit of the waiting work (up to `max_rows`) unless one is in flight.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            return;
        }
        match self.waiting.pop_front() {
            None => self.drained.drain(..).for_each(|done| {
                let _ = done.send(());
            }),
            Some(Work::Starts(starts, done)) => self.commit_starts(starts, done, ctx),
            Some(Work::Group(first)) => self.commit_groups(first, ctx),
            Some(Work::Call(work)) => self.commit_call(work, ctx),
            Some(Work::Attachment(work)) => self.commit_attachment(work, ctx),
            Some(Work::Prune(work)) => self.commit_prune(work, ctx),
        }
    }

    /// Commits `first` and the groups after it, up to `max_rows`, in one transaction.
    fn commit_groups(&mut self, first: Group, ctx: &mut Context<Self>) {
        // A change counts as a row: a statement or two.
        let weight = |g: &Group| g.rows.len() + g.changes.len();
        let mut counted = weight(&first);
        let mut groups = vec![first];
        while let Some(Work::Group(next)) = self.waiting.front() {
            counted += weight(next);
            if counted > self.max_rows {
                break;
            }
            if let Some(Work::Group(next)) = self.waiting.pop_front() {
                groups.push(next);
            }
        }
        // The rows and changes move into the batch; each group keeps only its answer.
        let (mut rows, mut changes, mut answers) = (Vec::new(), Vec::new(), Vec::new());
        for group in groups {
            rows.extend(group.rows);
            changes.extend(group.changes);
            answers.push(group.done);
        }
        self.waiting_rows -= rows.len();
        self.in_flight = true;
        let db = self.db.clone();
        let fence = self.fence.clone();
        let wakes = changes.iter().any(ChatChange::wakes_webhooks);
        ctx.spawn(
            async move { write(&db, fence.as_deref(), &rows, &changes).await }
                .into_actor(self)
                .map(move |result, act, ctx| {
                    act.committed(&result, answers.len());
                    if wakes && result.is_ok() {
                        act.webhooks.notify_one();
                    }
                    for done in answers {
                        let _ = done.send(result.clone());
                    }
                    act.flush(ctx);
                }),
        );
    }

    /// Commits a batch of starts in a transaction of its own.
    fn commit_starts(
        &mut self,
        starts: Vec<ChatToStart>,
        done: oneshot::Sender<Result<Vec<calls::CallOutcome>, StoreError>>,
        ctx: &mut Context<Self>,
    ) {
        self.in_flight = true;
        let db = self.db.clone();
        let fence = self.fence.clone();
        ctx.spawn(
            async move {
                let report =
                    |calls: &[Option<chats::StartedCall>]| webhook_events::started(&starts, calls);
                let Some(fence) = fence else {
                    return chats::start_all_reported(&db, &starts, report)
                        .await
                        .map_err(StoreError::from);
                };
                let txn = db.begin().await?;
                lease::check(&txn, &fence).await?;
                let outcomes = chats::start_all_reported(&txn, &starts, report).await?;
                txn.commit().await?;
                Ok(outcomes)
            }
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.committed(&result, 1);
                if result.is_ok() {
                    act.webhooks.notify_one();
                }
                let _ = done.send(result);
                act.flush(ctx);
            }),
        );
    }

    /// A commit returned: the store is healthy as long as commits succeed.
    fn committed<T>(&mut self, result: &Result<T, StoreError>, requests: usize) {
        if let Err(err) = result {
            tracing::warn!(error = %err, requests, "batch not stored");
        }
        self.healthy.store(result.is_ok(), Ordering::Release);
        self.in_flight = false;
    }
}

async fn write(
    db: &DatabaseConnection,
    fence: Option<&Fence>,
    rows: &[NewMessage],
    changes: &[ChatChange],
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    if changes.is_empty() && fence.is_none() {
        messages::insert_batch(db, rows).await?;
    } else {
        let txn = db.begin().await?;
        if let Some(fence) = fence {
            lease::check(&txn, fence).await?;
        }
        messages::insert_in(&txn, rows).await?;
        apply(&txn, changes).await?;
        txn.commit().await?;
    }
    crate::metrics::batch_committed(rows.len(), started);
    Ok(())
}

/// Applies changes in order; each run of activations is one multi-row statement (a burst of
/// assignments costs a few statements, not two each).
async fn apply(
    txn: &impl sea_orm::ConnectionTrait,
    changes: &[ChatChange],
) -> Result<(), StoreError> {
    let mut run: Vec<&Activation> = Vec::new();
    for change in changes {
        if let ChatChange::Activate(activation) = change {
            run.push(activation);
            continue;
        }
        activate(txn, &std::mem::take(&mut run)).await?;
        match change {
            ChatChange::Activate(_) => {}
            ChatChange::Requeue {
                chat_id,
                queue_id,
                queued_at,
                skills,
            } => {
                chats::mark_requeued(txn, chat_id, queue_id, *queued_at, Some(skills)).await?;
            }
            ChatChange::End {
                chat_id,
                state,
                reason,
                ended_at,
                last_seq,
            } => {
                chats::mark_ended(txn, chat_id, *state, *reason, *ended_at, *last_seq).await?;
                // Files uploaded but never sent go with the chat's end (contract §12).
                attachments::delete_unsent(txn, chat_id).await?;
            }
            ChatChange::Link { chat_id, call_id } => {
                history::link(txn, chat_id, call_id).await?;
            }
            ChatChange::History(entries) => {
                for entry in entries {
                    history::write(txn, entry.clone()).await?;
                }
            }
            ChatChange::Outbox(events) => {
                webhooks::insert_outbox(txn, events).await?;
            }
            ChatChange::AnalystStatus { analyst_id, status } => {
                analysts::set_status(txn, analyst_id, *status).await?;
            }
            ChatChange::QueueEnabled { queue_id, enabled } => {
                queues::switch(txn, queue_id, *enabled).await?;
            }
            ChatChange::Delivery(change) => webhooks::apply(txn, change).await?,
            ChatChange::Supervise(supervisor) => supervisors::add(txn, supervisor).await?,
            ChatChange::Rate(rating, event) => {
                if ratings::insert(txn, rating).await?
                    && let Some(event) = event
                {
                    webhooks::insert_outbox(txn, std::slice::from_ref(event)).await?;
                }
            }
            ChatChange::WrapUpStart(wrap_up) => wrap_ups::start(txn, wrap_up).await?,
            ChatChange::WrapUpDone(done, event) => {
                if wrap_ups::finish(txn, done).await? {
                    webhooks::insert_outbox(txn, std::slice::from_ref(event)).await?;
                }
            }
            ChatChange::PendingStatus {
                analyst_id,
                pending,
            } => analysts::set_pending_status(txn, analyst_id, *pending).await?,
            ChatChange::Unsupervise {
                chat_id,
                principal_id,
                kind,
            } => supervisors::remove(txn, chat_id, principal_id, *kind).await?,
        }
    }
    activate(txn, &run).await
}

/// Marks chats active with their analysts and records first contacts.
async fn activate(
    txn: &impl sea_orm::ConnectionTrait,
    activations: &[&Activation],
) -> Result<(), StoreError> {
    if activations.is_empty() {
        return Ok(());
    }
    let given: Vec<_> = activations
        .iter()
        .map(|a| (a.chat_id.as_str(), a.analyst_id.as_str(), a.at))
        .collect();
    chats::mark_all_active(txn, &given).await?;
    let first: Vec<_> = activations
        .iter()
        .filter_map(|a| Some((a.first_contact.as_deref()?, a.at)))
        .collect();
    calls::record_first_contacts(txn, &first).await?;
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
        self.enqueue(msg.0, Vec::new(), ctx)
    }
}

impl Handler<StoreChange> for StoreWriter {
    type Result = ResponseFuture<Result<(), StoreError>>;

    /// Never refused for load: a refused change would leave the chat's row behind its state.
    fn handle(&mut self, msg: StoreChange, ctx: &mut Context<Self>) -> Self::Result {
        self.enqueue(Vec::new(), vec![msg.0], ctx)
    }
}

impl Handler<StoreChanges> for StoreWriter {
    type Result = ResponseFuture<Result<(), StoreError>>;

    /// Never refused for load, like `StoreChange`.
    fn handle(&mut self, msg: StoreChanges, ctx: &mut Context<Self>) -> Self::Result {
        self.enqueue(Vec::new(), msg.0, ctx)
    }
}

impl Handler<StoreStarts> for StoreWriter {
    type Result = ResponseFuture<Result<Vec<calls::CallOutcome>, StoreError>>;

    fn handle(&mut self, msg: StoreStarts, ctx: &mut Context<Self>) -> Self::Result {
        let (done, result) = oneshot::channel();
        self.waiting.push_back(Work::Starts(msg.0, done));
        self.flush(ctx);
        Box::pin(async move {
            result
                .await
                .unwrap_or_else(|_| Err(StoreError("the store writer stopped".into())))
        })
    }
}

impl StoreWriter {
    fn enqueue(
        &mut self,
        rows: Vec<NewMessage>,
        changes: Vec<ChatChange>,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<(), StoreError>> {
        let (done, result) = oneshot::channel();
        self.waiting.push_back(Work::Group(Group {
            rows,
            changes,
            done,
        }));
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
