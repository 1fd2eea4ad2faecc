//! A chat's life as the router decides it: given to an analyst, requeued, ended (with its
//! transcript written to the call's history and to linked calls' histories), linked to a call.
//! Each change is a step: the store writer commits it (`StoreChange`), and only then does the
//! chat update its facts, answer the command and tell its participants. Steps run one at a time,
//! in the order they came, and never hold the actor's mailbox: messages keep flowing meanwhile.
//! A step that could not be stored answers `unavailable` and tells the router (`ChatChanged`),
//! which puts the chat back as it was; a step nobody waits on (auto routing, the end of a grace
//! period, the history) is tried again a bounded number of times first.

use std::time::Duration;

use super::*;
use crate::actors::linking;
use crate::actors::store_writer::{Activation, ChatChange, StoreChange, StoreChanges, committed};
use crate::actors::webhook_events;
use crate::protocol::{OkResult, ServerFrame, WebhookEventType};
use crate::store::webhooks::OutboxEvent;

/// Transcripts being read at once. Each holds a whole chat's messages in memory: when a thousand
/// long chats end together, they take their turn here instead of all loading at once (closing
/// 1,000 chats of 1,500 messages at once raised the peak RSS from ~550 MB to ~1 GB).
static HISTORY_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// How often a change nobody waits on (auto routing, a requeue or an end the engine decided) is
/// tried, a second apart, before the router is told it failed and puts the chat back.
const RETRIES: u32 = 30;
/// How often the history of an ended chat is tried (it is derived from stored messages, so
/// nothing acknowledged is lost if it never lands, but the call's page would lack it).
const HISTORY_RETRIES: u32 = 60;
/// The pause between tries.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Which router decision a change carries out; the router hears back with it.
pub type ChangeId = u64;

/// Whether a change the router decided is stored (`committed`), or could not be.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ChatChanged {
    pub chat: ChatId,
    pub change: ChangeId,
    pub committed: bool,
}

/// The router gave the chat to an analyst (accept or auto routing): store it, then tell everyone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Activate {
    pub change: ChangeId,
    pub analyst: Person,
    pub accepted_at: DateTime<Utc>,
    /// When the chat last joined a queue.
    pub waiting_since: std::time::Instant,
    /// The accepting session, when an analyst accepted; `None` for auto routing.
    pub reply: Option<Reply>,
    /// The expansion step in force when the router decided (§8.1).
    pub skills_relaxed: usize,
}

/// The chat goes back to waiting (transfer, its analyst was lost, or overflow to another queue).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Requeue {
    pub change: ChangeId,
    pub queue_id: QueueId,
    pub position: Option<usize>,
    /// When it entered `queue_id` (expansion and overflow count from here).
    pub queued_at: DateTime<Utc>,
    /// The skills it still asks there, as stored (JSON).
    pub skills: String,
    /// The transferring analyst's session; `None` when the analyst was lost.
    pub reply: Option<Reply>,
}

/// The chat ends: store the end, answer the closer, tell everyone, then write the history.
#[derive(Message)]
#[rtype(result = "()")]
pub struct End {
    pub change: ChangeId,
    pub reason: EndReason,
    pub by: Option<ActorRef>,
    pub reply: Option<Reply>,
    /// The wrap-up that starts with the end (§9.1), stored in the same transaction.
    pub wrap_up: Option<crate::store::wrap_ups::NewWrapUp>,
}

/// `link_call`: the chat is also written to another call's history.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LinkCall {
    pub who: ActorRef,
    pub call_id: String,
    pub reply: Reply,
}

/// One change of the chat's state, waiting its turn.
pub(super) enum Step {
    Activate(Activate),
    Requeue(Requeue),
    End(End),
    Link(LinkCall),
    /// The ended chat's transcript onto its calls.
    History,
}

impl Step {
    /// How often the step is tried: once when a client waits for the answer.
    fn tries(&self) -> u32 {
        match self {
            Step::Activate(Activate { reply: None, .. })
            | Step::Requeue(Requeue { reply: None, .. })
            | Step::End(End { reply: None, .. }) => RETRIES,
            Step::History => HISTORY_RETRIES,
            _ => 1,
        }
    }
}

impl Handler<Activate> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Activate, ctx: &mut Context<Self>) {
        self.step(Step::Activate(msg), ctx);
    }
}

impl Handler<Requeue> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Requeue, ctx: &mut Context<Self>) {
        self.step(Step::Requeue(msg), ctx);
    }
}

impl Handler<End> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: End, ctx: &mut Context<Self>) {
        self.step(Step::End(msg), ctx);
    }
}

impl Handler<LinkCall> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: LinkCall, ctx: &mut Context<Self>) {
        self.step(Step::Link(msg), ctx);
    }
}

impl ChatActor {
    /// Queues a change; it runs once every earlier one has.
    pub(super) fn step(&mut self, step: Step, ctx: &mut Context<Self>) {
        self.steps.push_back((step, 0));
        self.next_step(ctx);
    }

    fn next_step(&mut self, ctx: &mut Context<Self>) {
        if self.stepping {
            return;
        }
        let Some((step, attempt)) = self.steps.pop_front() else {
            return;
        };
        self.stepping = true;
        match step {
            Step::Activate(msg) => self.activate(msg, attempt, ctx),
            Step::Requeue(msg) => self.requeue(msg, attempt, ctx),
            Step::End(msg) => self.end(msg, attempt, ctx),
            Step::Link(msg) => self.link(msg, ctx),
            Step::History => self.history(attempt, ctx),
        }
    }

    fn step_done(&mut self, ctx: &mut Context<Self>) {
        self.stepping = false;
        self.next_step(ctx);
    }

    /// A step that could not be stored: `None` when it will be tried again shortly (it stays
    /// first in line meanwhile), the step itself when it has had its tries.
    fn retry(&mut self, step: Step, attempt: u32, ctx: &mut Context<Self>) -> Option<Step> {
        if attempt + 1 >= step.tries() {
            return Some(step);
        }
        ctx.run_later(RETRY_DELAY, move |act, ctx| {
            act.steps.push_front((step, attempt + 1));
            act.step_done(ctx);
        });
        None
    }

    fn tell_router(&self, change: ChangeId, committed: bool) {
        self.deps.router.do_send(ChatChanged {
            chat: self.facts.id,
            change,
            committed,
        });
    }

    /// Stores `change` with the webhook event that reports it, in one transaction.
    fn store(
        &self,
        change: ChatChange,
        event: OutboxEvent,
    ) -> impl Future<Output = Result<(), AppError>> + 'static {
        let changes = vec![change, ChatChange::Outbox(vec![event])];
        committed(&self.deps.writer, StoreChanges(changes))
    }

    fn activate(&mut self, msg: Activate, attempt: u32, ctx: &mut Context<Self>) {
        let chat_id = self.facts.id.to_string();
        let mut chat = self.summary(None);
        // Webhooks show what the user sees: no whisper counts.
        chat.last_seq = self.last_visible;
        chat.state = ChatState::Active;
        chat.analyst = Some(msg.analyst.clone());
        chat.skills_relaxed = msg.skills_relaxed;
        chat.accepted_at = Some(rfc3339(self.facts.accepted_at.unwrap_or(msg.accepted_at)));
        let event = webhook_events::chat(WebhookEventType::ChatAccepted, chat, msg.accepted_at);
        let stored = self.store(
            ChatChange::Activate(Activation {
                chat_id: chat_id.clone(),
                analyst_id: msg.analyst.id.clone(),
                at: msg.accepted_at,
                first_contact: self
                    .facts
                    .accepted_at
                    .is_none()
                    .then(|| self.facts.call_id.clone()),
            }),
            event,
        );
        // Memory holds the latest messages only; a longer transcript is read back.
        let whole_in_memory = self.recent.front().is_none_or(|(m, _)| m.seq == 1);
        let db = self.deps.db.clone();
        let work = async move {
            stored.await?;
            if whole_in_memory {
                return Ok(None);
            }
            let read = async {
                let rows = store::messages::transcript(&db, &chat_id, 0, u64::MAX).await?;
                let files = store::attachments::of_messages(&db, &chat_id, &rows).await?;
                Ok::<_, AppError>((rows, files))
            };
            match read.await {
                Ok((rows, mut files)) => Ok(Some(
                    rows.into_iter()
                        .filter_map(|r| {
                            let carried = files.remove(&r.seq).unwrap_or_default();
                            views::message(r, carried).ok()
                        })
                        .collect::<Vec<_>>(),
                )),
                Err(err) => {
                    tracing::warn!(chat_id, error = %err, "transcript not read back: sending the latest messages");
                    Ok(None)
                }
            }
        };
        ctx.spawn(
            work.into_actor(self)
                .map(move |result: Result<_, AppError>, act, ctx| {
                    match result {
                        Ok(stored) => act.activated(msg, stored),
                        Err(err) => {
                            let Some(Step::Activate(msg)) =
                                act.retry(Step::Activate(msg), attempt, ctx)
                            else {
                                return;
                            };
                            if let Some(reply) = &msg.reply {
                                reply.err(&err);
                            }
                            act.tell_router(msg.change, false);
                        }
                    }
                    act.step_done(ctx);
                }),
        );
    }

    /// The activation is stored: the analyst gets the chat and its transcript, the user is told.
    fn activated(&mut self, msg: Activate, stored: Option<Vec<Message>>) {
        self.facts.state = ChatState::Active;
        self.facts.analyst = Some(msg.analyst.clone());
        self.facts.skills_relaxed = msg.skills_relaxed;
        self.facts.accepted_at.get_or_insert(msg.accepted_at);
        let chat = self.summary(None);
        let in_memory: Vec<Message> = self.transcript().into_iter().cloned().collect();
        let transcript = stored.unwrap_or(in_memory);
        let analyst = Who::Staff(AnalystId::from(msg.analyst.id.as_str()));
        let assigned = ServerFrame::ChatAssigned {
            chat: chat.clone(),
            transcript: transcript.clone(),
        }
        .encode();
        match &msg.reply {
            Some(reply) => {
                reply.ok(OkResult::Accepted { chat, transcript });
                self.deps
                    .delivery
                    .send_except(&analyst, reply.session_id, &assigned);
            }
            None => {
                self.deps.delivery.send(&analyst, &assigned);
                crate::metrics::queued_to_assigned(msg.waiting_since.elapsed());
            }
        }
        let accepted = ServerFrame::ChatAccepted {
            chat_id: self.facts.id,
            analyst: msg.analyst,
            accepted_at: rfc3339(msg.accepted_at),
        };
        self.deps.delivery.send(&self.user(), &accepted.encode());
        self.tell_router(msg.change, true);
    }

    fn requeue(&mut self, msg: Requeue, attempt: u32, ctx: &mut Context<Self>) {
        let mut chat = self.summary(None);
        // Webhooks show what the user sees: no whisper counts.
        chat.last_seq = self.last_visible;
        chat.state = ChatState::Waiting;
        chat.analyst = None;
        chat.skills_relaxed = 0;
        chat.queue_id = msg.queue_id.clone();
        let kind = match msg.reply {
            Some(_) => WebhookEventType::ChatTransferred,
            None => WebhookEventType::ChatQueued,
        };
        let stored = self.store(
            ChatChange::Requeue {
                chat_id: self.facts.id.to_string(),
                queue_id: msg.queue_id.to_string(),
                queued_at: msg.queued_at,
                skills: msg.skills.clone(),
            },
            webhook_events::chat(kind, chat, Utc::now()),
        );
        ctx.spawn(stored.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(()) => {
                    act.facts.state = ChatState::Waiting;
                    act.facts.analyst = None;
                    act.facts.skills_relaxed = 0;
                    act.facts.queue_id = msg.queue_id.clone();
                    act.facts.skills = crate::views::rules::chat_skills(&msg.skills);
                    let chat_id = act.facts.id;
                    if let Some(reply) = &msg.reply {
                        reply.ok(OkResult::Chat { chat_id });
                    }
                    let frame = ServerFrame::ChatRequeued {
                        chat_id,
                        position: msg.position,
                        queue_id: msg.queue_id.clone(),
                    };
                    act.deps.delivery.send(&act.user(), &frame.encode());
                    act.tell_router(msg.change, true);
                }
                Err(err) => {
                    let Some(Step::Requeue(msg)) = act.retry(Step::Requeue(msg), attempt, ctx)
                    else {
                        return;
                    };
                    if let Some(reply) = &msg.reply {
                        reply.err(&err);
                    }
                    act.tell_router(msg.change, false);
                }
            }
            act.step_done(ctx);
        }));
    }

    fn end(&mut self, msg: End, attempt: u32, ctx: &mut Context<Self>) {
        if self.ended.is_some() {
            if let Some(reply) = &msg.reply {
                reply.err(&AppError::conflict("the chat has ended"));
            }
            self.tell_router(msg.change, true);
            return self.step_done(ctx);
        }
        // No message is taken from now on, so `last_seq` is the chat's last.
        self.closing = true;
        let ended_at = Utc::now();
        let state = if self.facts.accepted_at.is_some() {
            ChatState::Closed
        } else {
            ChatState::Unanswered
        };
        let mut chat = self.summary(None);
        // Webhooks show what the user sees: no whisper counts.
        chat.last_seq = self.last_visible;
        chat.state = state;
        chat.ended_at = Some(rfc3339(ended_at));
        chat.end_reason = Some(msg.reason);
        if msg.wrap_up.is_some() {
            chat.wrap_up = Some(crate::protocol::WrapUpState::Pending);
        }
        let mut changes = vec![ChatChange::End {
            chat_id: self.facts.id.to_string(),
            state,
            reason: msg.reason,
            ended_at,
            last_seq: self.next_seq - 1,
        }];
        changes.extend(msg.wrap_up.clone().map(ChatChange::WrapUpStart));
        changes.push(ChatChange::Outbox(vec![webhook_events::chat_ended(
            chat, msg.reason, ended_at,
        )]));
        let stored = committed(&self.deps.writer, StoreChanges(changes));
        ctx.spawn(stored.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(()) => act.ended(msg, state, ended_at, ctx),
                Err(err) => {
                    act.closing = false;
                    let Some(Step::End(msg)) = act.retry(Step::End(msg), attempt, ctx) else {
                        return;
                    };
                    if let Some(reply) = &msg.reply {
                        reply.err(&err);
                    }
                    act.tell_router(msg.change, false);
                }
            }
            act.step_done(ctx);
        }));
    }

    /// The end is stored: the closer gets ok, both sides `chat_closed`, and the history follows
    /// once the last messages are stored.
    fn ended(&mut self, msg: End, state: ChatState, at: DateTime<Utc>, ctx: &mut Context<Self>) {
        self.ended = Some(at);
        self.facts.state = state;
        self.deps.directory.remove(&self.facts.id);
        let chat_id = self.facts.id;
        if let Some(reply) = &msg.reply {
            reply.ok(OkResult::Chat { chat_id });
        }
        let frame = ServerFrame::ChatClosed {
            chat_id,
            by: msg.by,
            reason: msg.reason,
            ended_at: rfc3339(at),
        };
        self.broadcast(&frame.encode());
        // An answered chat that ended asks its user how it went (§9.4).
        if state == ChatState::Closed {
            let survey = ServerFrame::Survey { chat_id }.encode();
            self.deps.delivery.send(&self.user(), &survey);
        }
        self.tell_router(msg.change, true);
        self.finish_if_done(ctx);
    }

    fn link(&mut self, msg: LinkCall, ctx: &mut Context<Self>) {
        let LinkCall {
            who,
            call_id,
            reply,
        } = msg;
        let db = self.deps.db.clone();
        let writer = self.deps.writer.clone();
        let chat_id = self.facts.id;
        let queue_id = self.facts.queue_id.clone();
        let user_id = self.facts.user.id.clone();
        let active_analyst = self
            .facts
            .analyst
            .as_ref()
            .filter(|_| self.facts.state == ChatState::Active)
            .map(|a| a.id.clone());
        let work = async move {
            let target = linking::LinkTarget {
                chat_id,
                queue_id: &queue_id,
                user_id: &user_id,
                active_analyst: active_analyst.as_deref(),
                former_analyst: None,
            };
            linking::check(&db, &who, &target, &call_id).await?;
            let link = ChatChange::Link {
                chat_id: chat_id.to_string(),
                call_id: call_id.clone(),
            };
            committed(&writer, StoreChange(link)).await?;
            Ok(OkResult::Linked { chat_id, call_id })
        };
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            reply.answer(result);
            act.step_done(ctx);
        }));
    }

    /// Writes the ended chat's transcript to its call's history and to every linked call's.
    fn history(&mut self, attempt: u32, ctx: &mut Context<Self>) {
        let Some(ended_at) = self.ended else {
            return self.step_done(ctx);
        };
        let db = self.deps.db.clone();
        let writer = self.deps.writer.clone();
        let facts = self.facts.clone();
        let work = async move {
            let entries = {
                let _slot = HISTORY_SLOTS.acquire().await;
                history_entries(&db, &facts, ended_at).await?
            };
            committed(&writer, StoreChange(ChatChange::History(entries))).await
        };
        ctx.spawn(work.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(()) => act.history_written = true,
                Err(err) => {
                    if act.retry(Step::History, attempt, ctx).is_none() {
                        return;
                    }
                    tracing::error!(chat_id = %act.facts.id, error = %err, "call history not written");
                    act.history_written = true;
                }
            }
            act.stop_if_idle(ctx);
            act.step_done(ctx);
        }));
    }
}

/// The history entries of an ended chat: its transcript as text, on its call and linked calls.
async fn history_entries(
    db: &DatabaseConnection,
    facts: &ChatFacts,
    ended_at: DateTime<Utc>,
) -> Result<Vec<store::history::HistoryEntry>, AppError> {
    let chat_id = facts.id.to_string();
    let contents = {
        let messages = store::messages::transcript(db, &chat_id, 0, u64::MAX).await?;
        let files = store::attachments::of_messages(db, &chat_id, &messages).await?;
        store::history::transcript_text(&messages, &files)
    };
    let mut calls = vec![facts.call_id.clone()];
    calls.extend(store::history::linked_calls(db, &chat_id).await?);
    Ok(calls
        .into_iter()
        .map(|call_id| store::history::HistoryEntry {
            call_id,
            chat_id: chat_id.clone(),
            started_at: facts.created_at,
            ended_at,
            contents: contents.clone(),
        })
        .collect())
}
