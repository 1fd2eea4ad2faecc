//! One actor per open chat: its participants, the next seq, storing and relaying messages in order,
//! typing, resume from memory, and the chat's own row (accepted, requeued, ended). A message gets
//! its seq here, is committed by the store writer, and only then is acked to its sender and relayed
//! to everyone else; at most one group per chat is in flight, so a failed commit never leaves a gap.
//! When the chat ends, its transcript is written to the history of its call and of linked calls.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use actix::prelude::*;
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::directory::ChatDirectory;
use super::hub::{Hub, Reply, Who};
use super::store_writer::StoreRows;
use crate::domain::{ChatState, EndReason, Role};
use crate::error::{AppError, ErrorCode};
use crate::protocol::{self, Actor as ActorRef, ChatSummary, Message, MessageTag, Person};
use crate::routing::ChatId;
use crate::store::{self, messages::NewMessage};
use crate::timefmt::rfc3339;
use crate::views;

/// Most messages a chat holds waiting behind its commit in flight; past it a send is refused
/// (`rate_limited`) rather than queued without bound.
const MAX_QUEUED: usize = 512;

/// How far behind `resume` may be; further behind answers `too_far_behind`.
pub const RESUME_WINDOW: usize = 1000;

/// How many of its latest messages a chat keeps in memory (with their encoded frames) for
/// `resume` and the transcript on accept; older ones are read from the database.
pub const KEPT_IN_MEMORY: usize = 100;

/// What a chat actor needs from the rest of the engine.
#[derive(Clone)]
pub struct ChatDeps {
    pub hub: Arc<Hub>,
    pub directory: Arc<ChatDirectory>,
    pub writer: Recipient<StoreRows>,
    pub db: DatabaseConnection,
}

/// The chat's own facts, as the chat actor knows them.
#[derive(Debug, Clone)]
pub struct ChatFacts {
    pub id: ChatId,
    pub queue_id: String,
    pub call_id: String,
    pub subject: String,
    pub user: Person,
    pub analyst: Option<Person>,
    pub state: ChatState,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// A message with its seq, waiting for its commit.
struct Pending {
    message: Message,
    reply: Reply,
}

pub struct ChatActor {
    facts: ChatFacts,
    deps: ChatDeps,
    /// Seq of the last committed message, shared with the router for summaries.
    last_seq: Arc<AtomicI64>,
    /// Seq the next message will get.
    next_seq: i64,
    /// The latest committed messages and their encoded frames, oldest first.
    recent: VecDeque<(Message, ByteString)>,
    /// (sender id, client_msg_id) → seq, so a repeated send is stored once.
    sent_ids: HashMap<(String, String), i64>,
    /// Messages with a seq, not yet handed to the store writer.
    queued: Vec<Pending>,
    /// The group being committed, if any.
    in_flight: Option<Vec<Pending>>,
    /// Repeats of a message still being committed: answered with its seq once it is.
    repeats: Vec<(i64, Reply)>,
    /// Set once the chat has ended: no more messages; the actor stops when the last commit lands.
    ended: Option<DateTime<Utc>>,
}

impl ChatActor {
    /// A chat actor for `facts`, with the messages it already has (restart) and their client ids.
    pub fn new(
        facts: ChatFacts,
        deps: ChatDeps,
        last_seq: Arc<AtomicI64>,
        recent: Vec<Message>,
        sent_ids: HashMap<(String, String), i64>,
    ) -> Self {
        let next_seq = last_seq.load(Ordering::Acquire) + 1;
        let recent = recent
            .into_iter()
            .map(|m| {
                let frame = protocol::encode(&m);
                (m, frame)
            })
            .collect();
        ChatActor {
            facts,
            deps,
            last_seq,
            next_seq,
            recent,
            sent_ids,
            queued: Vec::new(),
            in_flight: None,
            repeats: Vec::new(),
            ended: None,
        }
    }

    fn committed(&self) -> i64 {
        self.last_seq.load(Ordering::Acquire)
    }

    fn user(&self) -> Who {
        Who::User(self.facts.user.id.clone())
    }

    fn analyst(&self) -> Option<Who> {
        self.facts
            .analyst
            .as_ref()
            .map(|a| Who::Staff(a.id.clone()))
    }

    /// Sends a frame to every session of both participants.
    fn broadcast(&self, frame: &ByteString) {
        self.deps.hub.send(&self.user(), frame);
        if let Some(analyst) = self.analyst() {
            self.deps.hub.send(&analyst, frame);
        }
    }

    /// Whether `who` takes part: the chat's user, or its analyst while it is active.
    fn is_participant(&self, who: &ActorRef) -> bool {
        match who.role {
            Role::User => who.id == self.facts.user.id,
            Role::Analyst | Role::Manager => {
                self.facts.state == ChatState::Active
                    && self.facts.analyst.as_ref().is_some_and(|a| a.id == who.id)
            }
            Role::Admin => false,
        }
    }

    fn not_found(&self) -> AppError {
        AppError::not_found(format!("chat {}", self.facts.id))
    }

    /// The chat as clients see it; `position` comes from the router.
    pub fn summary(&self, position: Option<usize>) -> ChatSummary {
        ChatSummary {
            chat_id: self.facts.id,
            queue_id: self.facts.queue_id.clone(),
            state: self.facts.state,
            user: self.facts.user.clone(),
            analyst: self.facts.analyst.clone(),
            subject: self.facts.subject.clone(),
            call_id: self.facts.call_id.clone(),
            created_at: rfc3339(self.facts.created_at),
            accepted_at: self.facts.accepted_at.map(rfc3339),
            ended_at: None,
            end_reason: None,
            position,
            last_seq: self.committed(),
        }
    }

    fn transcript(&self) -> Vec<&Message> {
        self.recent.iter().map(|(m, _)| m).collect()
    }

    /// Hands the queued messages to the store writer unless a group is already in flight.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight.is_some() || self.queued.is_empty() {
            return;
        }
        let group = std::mem::take(&mut self.queued);
        let rows = group.iter().map(|p| new_row(&p.message)).collect();
        self.in_flight = Some(group);
        let stored = self.deps.writer.send(StoreRows(rows));
        let handed = std::time::Instant::now();
        ctx.spawn(stored.into_actor(self).map(move |result, act, ctx| {
            let group = act.in_flight.take().unwrap_or_default();
            match result {
                Ok(Ok(())) => {
                    let count = group.len();
                    act.committed_group(group);
                    crate::metrics::delivered(count, handed);
                }
                Ok(Err(err)) => act.failed_group(group, &err.to_string()),
                Err(err) => act.failed_group(group, &err.to_string()),
            }
            act.flush(ctx);
            act.finish_if_done(ctx);
        }));
    }

    /// Acks each message of a committed group to its sender and relays it to everyone else.
    fn committed_group(&mut self, group: Vec<Pending>) {
        for Pending { message, reply } in group {
            let frame = protocol::encode(&message);
            let ok = json!({"chat_id": message.chat_id, "seq": message.seq, "at": message.at});
            reply.ok(ok);
            let except = Some(reply.session_id);
            self.deps.hub.send_except(&self.user(), except, &frame);
            if let Some(analyst) = self.analyst() {
                self.deps.hub.send_except(&analyst, except, &frame);
            }
            self.last_seq.store(message.seq, Ordering::Release);
            self.recent.push_back((message, frame));
            if self.recent.len() > KEPT_IN_MEMORY {
                self.recent.pop_front();
            }
        }
        let committed = self.committed();
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .repeats
            .drain(..)
            .partition(|(seq, _)| *seq <= committed);
        self.repeats = waiting;
        for (seq, reply) in ready {
            reply.answer(self.ack_of(seq));
        }
    }

    /// A group that could not be stored: every sender gets `unavailable`, nothing is relayed, and
    /// the seqs are given back so the numbering stays gapless.
    fn failed_group(&mut self, group: Vec<Pending>, reason: &str) {
        tracing::warn!(chat_id = %self.facts.id, reason, "messages not stored");
        let err = AppError::new(
            ErrorCode::Unavailable,
            "the message could not be stored; send it again",
        );
        let Some(first) = group.first().map(|p| p.message.seq) else {
            return;
        };
        for p in &group {
            if let Some(id) = &p.message.client_msg_id {
                self.sent_ids
                    .remove(&(p.message.from.id.clone(), id.clone()));
            }
            p.reply.err(&err);
        }
        self.repeats.retain(|(seq, reply)| {
            let failed = *seq >= first && *seq < first + group.len() as i64;
            if failed {
                reply.err(&err);
            }
            !failed
        });
        // Messages queued behind the failed group move down to fill its seqs.
        let shift = group.len() as i64;
        for p in &mut self.queued {
            p.message.seq -= shift;
            if let Some(id) = &p.message.client_msg_id {
                self.sent_ids
                    .insert((p.message.from.id.clone(), id.clone()), p.message.seq);
            }
        }
        for (seq, _) in &mut self.repeats {
            *seq -= shift;
        }
        self.next_seq -= shift;
    }

    /// The ok for an already stored message.
    fn ack_of(&self, seq: i64) -> Result<serde_json::Value, AppError> {
        let at = self
            .recent
            .iter()
            .find(|(m, _)| m.seq == seq)
            .map(|(m, _)| m.at.clone());
        Ok(json!({"chat_id": self.facts.id, "seq": seq, "at": at}))
    }

    /// After the chat ended and its last messages are stored: write the history and stop.
    fn finish_if_done(&mut self, ctx: &mut Context<Self>) {
        let Some(ended_at) = self.ended else { return };
        if self.in_flight.is_some() || !self.queued.is_empty() {
            return;
        }
        let db = self.deps.db.clone();
        let facts = self.facts.clone();
        ctx.wait(
            async move {
                if let Err(err) = write_history(&db, &facts, ended_at).await {
                    tracing::error!(chat_id = %facts.id, error = %err, "call history not written");
                }
            }
            .into_actor(self)
            .map(|(), _, ctx| ctx.stop()),
        );
    }
}

/// The row to store for a message.
fn new_row(m: &Message) -> NewMessage {
    NewMessage {
        chat_id: m.chat_id.to_string(),
        seq: m.seq,
        sender_role: m.from.role.as_str().to_string(),
        sender_id: m.from.id.clone(),
        sender_name: m.from.name.clone(),
        body: m.body.clone(),
        client_msg_id: m.client_msg_id.clone(),
        created_at: DateTime::parse_from_rfc3339(&m.at)
            .map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc)),
    }
}

/// Writes the chat's transcript to its call's history and to every linked call's.
pub async fn write_history(
    db: &DatabaseConnection,
    facts: &ChatFacts,
    ended_at: DateTime<Utc>,
) -> Result<(), AppError> {
    let chat_id = facts.id.to_string();
    let messages = store::messages::transcript(db, &chat_id, 0, u64::MAX).await?;
    let contents = store::history::transcript_text(&messages);
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

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.deps.directory.remove(&self.facts.id);
    }
}

/// `send`: a participant posts a message.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PostMessage {
    pub from: ActorRef,
    pub body: String,
    pub client_msg_id: Option<String>,
    pub reply: Reply,
}

impl Handler<PostMessage> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: PostMessage, ctx: &mut Context<Self>) {
        if !self.is_participant(&msg.from) {
            return msg.reply.err(&self.not_found());
        }
        if self.ended.is_some() {
            return msg.reply.err(&AppError::conflict("the chat has ended"));
        }
        let key = msg
            .client_msg_id
            .clone()
            .map(|id| (msg.from.id.clone(), id));
        if let Some(&seq) = key.as_ref().and_then(|k| self.sent_ids.get(k)) {
            if seq <= self.committed() {
                return msg.reply.answer(self.ack_of(seq));
            }
            self.repeats.push((seq, msg.reply));
            return;
        }
        if self.queued.len() >= MAX_QUEUED {
            let err = AppError::new(
                ErrorCode::RateLimited,
                "this chat is busy: send again shortly",
            );
            return msg.reply.err(&err);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        if let Some(key) = key {
            self.sent_ids.insert(key, seq);
        }
        self.queued.push(Pending {
            message: Message {
                kind: MessageTag::Message,
                chat_id: self.facts.id,
                seq,
                from: msg.from,
                body: msg.body,
                at: rfc3339(Utc::now()),
                client_msg_id: msg.client_msg_id,
            },
            reply: msg.reply,
        });
        self.flush(ctx);
    }
}

/// `typing`: shown to the other side; nothing stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    pub from: ActorRef,
    pub reply: Reply,
}

impl Handler<Typing> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Typing, _: &mut Context<Self>) {
        if !self.is_participant(&msg.from) {
            return msg.reply.err(&self.not_found());
        }
        let frame = protocol::event(
            "typing",
            json!({"chat_id": self.facts.id, "from": {"id": msg.from.id, "name": msg.from.name}}),
        );
        let other = if msg.from.role == Role::User {
            self.analyst()
        } else {
            Some(self.user())
        };
        if let Some(other) = other {
            self.deps.hub.send(&other, &frame);
        }
        msg.reply.ok(json!({"chat_id": self.facts.id}));
    }
}

/// `resume`: replays the stored messages after `after_seq`, then answers ok.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume {
    pub who: ActorRef,
    pub after_seq: i64,
    pub reply: Reply,
}

impl Handler<Resume> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Resume, ctx: &mut Context<Self>) {
        if !self.is_participant(&msg.who) {
            return msg.reply.err(&self.not_found());
        }
        let last = self.committed();
        if last - msg.after_seq > RESUME_WINDOW as i64 {
            return msg.reply.err(&AppError::new(
                ErrorCode::TooFarBehind,
                format!("more than {RESUME_WINDOW} messages behind: read the transcript over HTTP"),
            ));
        }
        let oldest_kept = self.recent.front().map_or(last + 1, |(m, _)| m.seq);
        if msg.after_seq + 1 >= oldest_kept || msg.after_seq >= last {
            for (m, frame) in &self.recent {
                if m.seq > msg.after_seq {
                    msg.reply.frame(frame.clone());
                }
            }
            let state = self.facts.state;
            return msg
                .reply
                .ok(json!({"chat_id": self.facts.id, "state": state, "last_seq": last}));
        }
        // Older than what is kept in memory: read it back, holding the chat still meanwhile so the
        // replay and `last_seq` agree.
        let db = self.deps.db.clone();
        let chat_id = self.facts.id.to_string();
        let behind = u64::try_from(last - msg.after_seq).unwrap_or(0);
        ctx.wait(
            async move { store::messages::transcript(&db, &chat_id, msg.after_seq, behind).await }
                .into_actor(self)
                .map(move |rows, act, _| {
                    let rows = match rows {
                        Ok(rows) => rows,
                        Err(err) => return msg.reply.err(&err),
                    };
                    for row in rows {
                        if let Ok(m) = views::message(row) {
                            msg.reply.frame(protocol::encode(&m));
                        }
                    }
                    let state = act.facts.state;
                    msg.reply
                        .ok(json!({"chat_id": act.facts.id, "state": state, "last_seq": last}));
                }),
        );
    }
}

/// The router gave the chat to an analyst (accept or auto routing): store it, then tell everyone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Activate {
    pub analyst: Person,
    pub accepted_at: DateTime<Utc>,
    /// The accepting session, when an analyst accepted; `None` for auto routing.
    pub reply: Option<Reply>,
}

impl Handler<Activate> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Activate, ctx: &mut Context<Self>) {
        let db = self.deps.db.clone();
        let (chat_id, call_id) = (self.facts.id.to_string(), self.facts.call_id.clone());
        let (analyst_id, at) = (msg.analyst.id.clone(), msg.accepted_at);
        let first_acceptance = self.facts.accepted_at.is_none();
        // Memory holds the latest messages only; a longer transcript is read back.
        let whole_in_memory = self.recent.front().is_none_or(|(m, _)| m.seq == 1);
        ctx.wait(
            async move {
                store::chats::mark_active(&db, &chat_id, &analyst_id, at).await?;
                if first_acceptance {
                    store::calls::record_first_contact(&db, &call_id, at).await?;
                }
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
                        act.deps.hub.send_except(&analyst, Some(reply.session_id), &assigned);
                    }
                    None => act.deps.hub.send(&analyst, &assigned),
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

    fn handle(&mut self, msg: LinkCall, ctx: &mut Context<Self>) {
        if !self.is_participant(&msg.who) || msg.who.role == Role::User {
            return msg.reply.err(&self.not_found());
        }
        let db = self.deps.db.clone();
        let chat_id = self.facts.id;
        ctx.spawn(
            async move {
                store::calls::find(&db, &msg.call_id)
                    .await?
                    .ok_or_else(|| AppError::not_found(format!("call {}", msg.call_id)))?;
                store::history::link(&db, &chat_id.to_string(), &msg.call_id).await?;
                Ok(json!({"chat_id": chat_id, "call_id": msg.call_id}))
            }
            .into_actor(self)
            .map(move |result, _, _| msg.reply.answer(result)),
        );
    }
}
