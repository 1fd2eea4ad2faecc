//! A chat's life as the router decides it: activated with an analyst, requeued, ended (with its
//! transcript written to the call's history and to linked calls' histories), linked to a call.

use super::*;
use crate::actors::linking;
use crate::actors::store_writer::{Activation, StoreActivation};

/// Transcripts being written at once. Each holds a whole chat's messages in memory: when a
/// thousand long chats end together, they take their turn here instead of all loading at once
/// (closing 1,000 chats of 1,500 messages at once raised the peak RSS from ~550 MB to ~1 GB).
static HISTORY_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Writes the chat's transcript to its call's history and to every linked call's.
pub async fn write_history(
    db: &DatabaseConnection,
    facts: &ChatFacts,
    ended_at: DateTime<Utc>,
) -> Result<(), AppError> {
    let _slot = HISTORY_SLOTS.acquire().await;
    let chat_id = facts.id.to_string();
    let contents = {
        let messages = store::messages::transcript(db, &chat_id, 0, u64::MAX).await?;
        store::history::transcript_text(&messages)
    };
    let mut calls = vec![facts.call_id.clone()];
    calls.extend(store::history::linked_calls(db, &chat_id).await?);
    for call_id in calls {
        store::history::write(
            db,
            store::history::HistoryEntry {
                call_id,
                chat_id: chat_id.clone(),
                started_at: facts.created_at,
                ended_at,
                contents: contents.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// The router gave the chat to an analyst (accept or auto routing): store it, then tell everyone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Activate {
    pub analyst: Person,
    pub accepted_at: DateTime<Utc>,
    /// When the chat last joined a queue.
    pub waiting_since: std::time::Instant,
    /// The accepting session, when an analyst accepted; `None` for auto routing.
    pub reply: Option<Reply>,
}

impl Handler<Activate> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Activate, ctx: &mut Context<Self>) {
        let db = self.deps.db.clone();
        let chat_id = self.facts.id.to_string();
        let activation = Activation {
            chat_id: chat_id.clone(),
            analyst_id: msg.analyst.id.clone(),
            at: msg.accepted_at,
            first_contact: self
                .facts
                .accepted_at
                .is_none()
                .then(|| self.facts.call_id.clone()),
        };
        let stored = self.deps.writer.send(StoreActivation(activation));
        // Memory holds the latest messages only; a longer transcript is read back.
        let whole_in_memory = self.recent.front().is_none_or(|(m, _)| m.seq == 1);
        ctx.wait(
            async move {
                stored
                    .await
                    .map_err(|err| AppError::new(ErrorCode::Unavailable, err.to_string()))?
                    .map_err(|err| AppError::new(ErrorCode::Unavailable, err.to_string()))?;
                if whole_in_memory {
                    return Ok::<_, AppError>(None);
                }
                let rows = store::messages::transcript(&db, &chat_id, 0, u64::MAX).await?;
                Ok(Some(rows.into_iter().filter_map(|r| views::message(r).ok()).collect::<Vec<_>>()))
            }
            .into_actor(self)
            .map(move |result, act, _| {
                let stored = match result {
                    Ok(stored) => stored,
                    Err(err) => {
                        tracing::error!(chat_id = %act.facts.id, error = %err, "chat activation not stored");
                        None
                    }
                };
                act.facts.state = ChatState::Active;
                act.facts.analyst = Some(msg.analyst.clone());
                act.facts.accepted_at.get_or_insert(msg.accepted_at);
                let chat = act.summary(None);
                let in_memory: Vec<Message> = act.transcript().into_iter().cloned().collect();
                let transcript = stored.unwrap_or(in_memory);
                let analyst = Who::Staff(msg.analyst.id.clone());
                let assigned = protocol::event("chat_assigned", json!({"chat": chat, "transcript": transcript}));
                match &msg.reply {
                    Some(reply) => {
                        reply.ok(json!({"chat": chat, "transcript": transcript}));
                        act.deps.hub.send_except(&analyst, reply.session_id, &assigned);
                    }
                    None => {
                        act.deps.hub.send(&analyst, &assigned);
                        crate::metrics::queued_to_assigned(msg.waiting_since.elapsed());
                    }
                }
                let accepted = protocol::event(
                    "chat_accepted",
                    json!({"chat_id": act.facts.id, "analyst": msg.analyst, "accepted_at": rfc3339(msg.accepted_at)}),
                );
                act.deps.hub.send(&act.user(), &accepted);
            }),
        );
    }
}

/// The chat goes back to waiting (transfer, or its analyst was lost).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Requeue {
    pub queue_id: String,
    pub position: Option<usize>,
}

impl Handler<Requeue> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Requeue, ctx: &mut Context<Self>) {
        let db = self.deps.db.clone();
        let chat_id = self.facts.id.to_string();
        let queue_id = msg.queue_id.clone();
        ctx.wait(
            async move { store::chats::mark_waiting(&db, &chat_id, &queue_id).await }
                .into_actor(self)
                .map(move |result, act, _| {
                    if let Err(err) = result {
                        tracing::error!(chat_id = %act.facts.id, error = %err, "requeue not stored");
                    }
                    act.facts.state = ChatState::Waiting;
                    act.facts.analyst = None;
                    act.facts.queue_id = msg.queue_id;
                    let frame = protocol::event(
                        "chat_requeued",
                        json!({"chat_id": act.facts.id, "position": msg.position}),
                    );
                    act.deps.hub.send(&act.user(), &frame);
                }),
        );
    }
}

/// The chat ends: store the end, answer the closer, tell everyone, then write the history.
#[derive(Message)]
#[rtype(result = "()")]
pub struct End {
    pub reason: EndReason,
    pub by: Option<ActorRef>,
    pub reply: Option<Reply>,
}

impl Handler<End> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: End, ctx: &mut Context<Self>) {
        if self.ended.is_some() {
            if let Some(reply) = msg.reply {
                reply.err(&AppError::conflict("the chat has ended"));
            }
            return;
        }
        let ended_at = Utc::now();
        self.ended = Some(ended_at);
        self.deps.directory.remove(&self.facts.id);
        let state = if self.facts.accepted_at.is_some() {
            ChatState::Closed
        } else {
            ChatState::Unanswered
        };
        let db = self.deps.db.clone();
        let chat_id = self.facts.id.to_string();
        let last_seq = self.next_seq - 1;
        ctx.wait(
            async move { store::chats::mark_ended(&db, &chat_id, state, msg.reason, ended_at, last_seq).await }
                .into_actor(self)
                .map(move |result, act, ctx| {
                    if let Err(err) = result {
                        tracing::error!(chat_id = %act.facts.id, error = %err, "chat end not stored");
                    }
                    act.facts.state = state;
                    if let Some(reply) = &msg.reply {
                        reply.ok(json!({"chat_id": act.facts.id}));
                    }
                    let frame = protocol::event(
                        "chat_closed",
                        json!({"chat_id": act.facts.id, "by": msg.by, "reason": msg.reason, "ended_at": rfc3339(ended_at)}),
                    );
                    act.broadcast(&frame);
                    act.finish_if_done(ctx);
                }),
        );
    }
}

/// `link_call`: the chat is also written to another call's history.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LinkCall {
    pub who: ActorRef,
    pub call_id: String,
    pub reply: Reply,
}

impl Handler<LinkCall> for ChatActor {
    type Result = ();

    /// Checked against the linking rule (`actors::linking`) before anything is written; the chat
    /// waits for the link, so a chat ending meanwhile writes its history to the new link too.
    fn handle(&mut self, msg: LinkCall, ctx: &mut Context<Self>) {
        let LinkCall {
            who,
            call_id,
            reply,
        } = msg;
        let db = self.deps.db.clone();
        let chat_id = self.facts.id;
        let queue_id = self.facts.queue_id.clone();
        let user_id = self.facts.user.id.clone();
        let active_analyst = self
            .facts
            .analyst
            .as_ref()
            .filter(|_| self.facts.state == ChatState::Active)
            .map(|a| a.id.clone());
        ctx.wait(
            async move {
                let target = linking::LinkTarget {
                    chat_id,
                    queue_id: &queue_id,
                    user_id: &user_id,
                    active_analyst: active_analyst.as_deref(),
                    former_analyst: None,
                };
                linking::check(&db, &who, &target, &call_id).await?;
                store::history::link(&db, &chat_id.to_string(), &call_id).await?;
                Ok(json!({"chat_id": chat_id, "call_id": call_id}))
            }
            .into_actor(self)
            .map(move |result, _, _| reply.answer(result)),
        );
    }
}
