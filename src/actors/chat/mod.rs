//! One actor per open chat: its participants, the next seq, storing and relaying messages in order,
//! typing, resume, and the chat's own row (accepted, requeued, ended). A message gets
//! its seq here, is committed by the store writer, and only then is acked to its sender and relayed
//! to everyone else; at most one group per chat is in flight, so a failed commit never leaves a gap.
//! Changes of the chat's state go through the store writer too, one step at a time (`lifecycle`).
//! When the chat ends, its transcript is written to the history of its call and of linked calls.
//! The handlers live in `messages` (send, whisper, typing), `replay` (resume, in bounded pages),
//! `lifecycle` (activate, requeue, end, link_call) and `supervise` (monitor, join and their ends).
//! A whisper (`visibility: internal`) goes to the chat's staff only: its analyst, joined managers
//! and monitors (contract §9.3); everything the user is shown leaves it out.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use actix::prelude::*;
use bytestring::ByteString;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::delivery::{Delivery, Who};
use super::directory::Directory;
use super::hub::Reply;
use super::outbox::SessionId;
use super::store_writer::{StoreRows, StoreWriter};
use crate::domain::{AnalystId, ChatState, EndReason, QueueId, Role, UserId, Visibility};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{
    self, Actor as ActorRef, ChatSummary, Message, MessageTag, OkResult, Person, ServerFrame,
};
use crate::routing::ChatId;
use crate::store::{self, messages::NewMessage};
use crate::timefmt::rfc3339;
use crate::views;

mod files;
mod lifecycle;
mod messages;
mod replay;
mod sent;
mod supervise;

pub use files::{AttachmentStored, MAX_FILES_PER_MESSAGE, MayAttach};
pub use lifecycle::*;
pub use messages::*;
pub use replay::*;
pub use sent::SentIds;
pub use supervise::{Supervise, SuperviseAction, may_supervise};

/// Most messages a chat holds waiting behind its commit in flight; past it a send is refused
/// (`rate_limited`) rather than queued without bound.
const MAX_QUEUED: usize = 512;

/// How far behind `resume` may be; further behind answers `too_far_behind`.
pub const RESUME_WINDOW: usize = 1000;

/// How many of its latest messages a chat keeps in memory (with their encoded frames) for
/// `resume` and the transcript on accept; older ones are read from the database.
pub const KEPT_IN_MEMORY: usize = 100;

/// Open chat id → its chat actor (see `directory`).
pub type ChatDirectory = Directory<ChatActor>;

/// What a chat actor needs from the rest of the engine.
#[derive(Clone)]
pub struct ChatDeps {
    /// Where frames for the participants go.
    pub delivery: Arc<dyn Delivery>,
    pub directory: Arc<ChatDirectory>,
    pub writer: Addr<StoreWriter>,
    /// Reads (transcripts, linking checks); every write goes through `writer`.
    pub db: DatabaseConnection,
    /// Told whether each change the router decided was stored.
    pub router: Recipient<ChatChanged>,
}

/// The chat's own facts, as the chat actor knows them.
#[derive(Debug, Clone)]
pub struct ChatFacts {
    pub id: ChatId,
    pub queue_id: QueueId,
    pub call_id: String,
    pub subject: String,
    pub user: Person,
    pub analyst: Option<Person>,
    pub state: ChatState,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Skills asked for (§8.1).
    pub skills: Vec<crate::protocol::SkillRequest>,
    /// The expansion step that was in force when the router gave the chat to its analyst
    /// (§8.1; 0 = none, and 0 again once it waits in a queue, where the router's summaries say).
    pub skills_relaxed: usize,
}

/// A message with its seq, waiting for its commit.
struct Pending {
    message: Message,
    /// The files it carries (claimed from `unsent`; given back if the commit fails).
    files: Vec<store::attachments::AttachmentMeta>,
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
    /// The client ids stored or being stored, so a repeated send is stored once.
    sent_ids: SentIds,
    /// Messages with a seq, not yet handed to the store writer.
    queued: Vec<Pending>,
    /// The group being committed, if any.
    in_flight: Option<Vec<Pending>>,
    /// Repeats of a message still being committed: answered with its seq once it is.
    repeats: Vec<(i64, Reply)>,
    /// Set once the chat's end is stored: the actor stops when its history is written.
    ended: Option<DateTime<Utc>>,
    /// The end is being stored: no message is taken meanwhile.
    closing: bool,
    /// Changes of the chat's state waiting their turn, with the tries each has had.
    steps: VecDeque<(lifecycle::Step, u32)>,
    /// A change is being stored.
    stepping: bool,
    /// The history step has been queued (once).
    history_queued: bool,
    /// The call history is written (after the end): the actor stops once no replay runs.
    history_written: bool,
    /// Resumes being replayed, by session: live messages skip those sessions meanwhile.
    replays: HashMap<SessionId, replay::Replay>,
    /// Managers and admins monitoring the chat: they get its messages (whispers too), typing
    /// and its end, and tell nobody.
    monitors: BTreeMap<Who, Person>,
    /// Managers and admins who joined: participants beside the user and the analyst.
    joined: BTreeMap<Who, ActorRef>,
    /// The seq of the last committed message the user sees (no whisper): the user's `last_seq`.
    last_visible: i64,
    /// Files uploaded to this chat and not yet sent.
    unsent: files::Unsent,
}

impl ChatActor {
    /// A chat actor for `facts`, with the messages it already has (restart) and their client ids.
    pub fn new(
        facts: ChatFacts,
        deps: ChatDeps,
        last_seq: Arc<AtomicI64>,
        recent: Vec<Message>,
        sent_ids: SentIds,
    ) -> Self {
        let committed = last_seq.load(Ordering::Acquire);
        let next_seq = committed + 1;
        // Restored with its latest messages: the user's last seq is among them unless every
        // one kept is a whisper (then `started` reads it back).
        let last_visible = recent
            .iter()
            .rev()
            .find(|m| m.visibility == Visibility::All)
            .map_or(if recent.is_empty() { committed } else { 0 }, |m| m.seq);
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
            closing: false,
            steps: VecDeque::new(),
            stepping: false,
            history_queued: false,
            history_written: false,
            replays: HashMap::new(),
            monitors: BTreeMap::new(),
            joined: BTreeMap::new(),
            last_visible,
            unsent: files::Unsent::default(),
        }
    }

    /// The files uploaded to this chat and not yet sent (a restart reloads them).
    pub fn with_unsent(mut self, files: Vec<store::attachments::AttachmentMeta>) -> Self {
        self.unsent = files.into_iter().collect();
        self
    }

    fn committed(&self) -> i64 {
        self.last_seq.load(Ordering::Acquire)
    }

    fn user(&self) -> Who {
        Who::User(UserId::from(self.facts.user.id.as_str()))
    }

    fn analyst(&self) -> Option<Who> {
        self.facts
            .analyst
            .as_ref()
            .map(|a| Who::Staff(AnalystId::from(a.id.as_str())))
    }

    /// The chat's staff side: its analyst, joined managers and monitors, each once.
    fn staff(&self) -> BTreeSet<Who> {
        self.analyst()
            .into_iter()
            .chain(self.joined.keys().cloned())
            .chain(self.monitors.keys().cloned())
            .collect()
    }

    /// Sends a frame to every session of the user and of the chat's staff.
    fn broadcast(&self, frame: &ByteString) {
        self.deps.delivery.send(&self.user(), frame);
        for who in self.staff() {
            self.deps.delivery.send(&who, frame);
        }
    }

    /// Whether `who` is the chat's analyst while it is active.
    fn is_analyst(&self, who: &ActorRef) -> bool {
        matches!(who.role, Role::Analyst | Role::Manager)
            && self.facts.state == ChatState::Active
            && self.facts.analyst.as_ref().is_some_and(|a| a.id == who.id)
    }

    /// Whether `who` takes part: the chat's user, its analyst while it is active, or a manager
    /// or admin who joined.
    fn is_participant(&self, who: &ActorRef) -> bool {
        match who.role {
            Role::User => who.id == self.facts.user.id,
            Role::Analyst | Role::Manager | Role::Admin => {
                self.is_analyst(who) || self.joined.contains_key(&who_of(who))
            }
            Role::Service => false,
        }
    }

    /// Whether `who` sees whispers: the active analyst, a joined manager or a monitor.
    fn sees_internal(&self, who: &ActorRef) -> bool {
        who.role != Role::User
            && (self.is_participant(who) || self.monitors.contains_key(&who_of(who)))
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
            skills: self.facts.skills.clone(),
            skills_relaxed: self.facts.skills_relaxed,
            wrap_up: None,
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
        let rows = group.iter().map(new_row).collect();
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
        // Who is on the staff side cannot change while the group is relayed: built once.
        let staff = self.staff();
        for Pending { message, reply, .. } in group {
            let frame = protocol::encode(&message);
            reply.ok(OkResult::Sent {
                chat_id: message.chat_id,
                seq: message.seq,
                at: Some(message.at.clone()),
            });
            // The sender has its ok; a session being replayed to gets this seq from its replay.
            let skip = |id| id == reply.session_id || self.replays.contains_key(&id);
            if message.visibility == Visibility::All {
                self.deps
                    .delivery
                    .send_skipping(&self.user(), &skip, &frame);
                self.last_visible = message.seq;
            }
            for who in &staff {
                self.deps.delivery.send_skipping(who, &skip, &frame);
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
    fn failed_group(&mut self, mut group: Vec<Pending>, reason: &str) {
        tracing::warn!(chat_id = %self.facts.id, reason, "messages not stored");
        let err = AppError::new(
            ErrorCode::Unavailable,
            "the message could not be stored; send it again",
        );
        let Some(first) = group.first().map(|p| p.message.seq) else {
            return;
        };
        for p in &mut group {
            if let Some(id) = &p.message.client_msg_id {
                self.sent_ids.remove(&p.message.from.id, id);
            }
            self.unsent.restore(std::mem::take(&mut p.files));
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
                self.sent_ids.insert(&p.message.from.id, id, p.message.seq);
            }
        }
        for (seq, _) in &mut self.repeats {
            *seq -= shift;
        }
        self.next_seq -= shift;
    }

    /// The ok for an already stored message.
    fn ack_of(&self, seq: i64) -> Result<OkResult, AppError> {
        let at = self
            .recent
            .iter()
            .find(|(m, _)| m.seq == seq)
            .map(|(m, _)| m.at.clone());
        Ok(OkResult::Sent {
            chat_id: self.facts.id,
            seq,
            at,
        })
    }

    /// After the chat ended and its last messages are stored: write the history (a step of its
    /// own), then stop once no replay is running.
    fn finish_if_done(&mut self, ctx: &mut Context<Self>) {
        if self.ended.is_none()
            || self.in_flight.is_some()
            || !self.queued.is_empty()
            || self.history_queued
        {
            return;
        }
        self.history_queued = true;
        self.step(lifecycle::Step::History, ctx);
    }

    /// Stops the actor once the chat is over and written, and every replay has finished.
    fn stop_if_idle(&mut self, ctx: &mut Context<Self>) {
        if self.history_written && self.replays.is_empty() {
            ctx.stop();
        }
    }
}

/// The sessions of a principal who acts in a chat.
fn who_of(who: &ActorRef) -> Who {
    match who.role {
        Role::User => Who::User(UserId::from(who.id.as_str())),
        Role::Analyst | Role::Manager => Who::Staff(AnalystId::from(who.id.as_str())),
        Role::Admin | Role::Service => Who::Admin(who.id.clone()),
    }
}

/// The row to store for a message.
fn new_row(p: &Pending) -> NewMessage {
    let m = &p.message;
    NewMessage {
        chat_id: m.chat_id.to_string(),
        seq: m.seq,
        sender_role: m.from.role.as_str().to_string(),
        sender_id: m.from.id.clone(),
        sender_name: m.from.name.clone(),
        body: m.body.clone(),
        client_msg_id: m.client_msg_id.clone(),
        visibility: m.visibility,
        created_at: DateTime::parse_from_rfc3339(&m.at)
            .map_or_else(|_| Utc::now(), |t| t.with_timezone(&Utc)),
        attachments: p.files.iter().map(|f| f.id.clone()).collect(),
    }
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        // A chat started again after a restart takes back its supervisors.
        if self.facts.accepted_at.is_some() || self.committed() > 0 {
            self.restore_supervisors(ctx);
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.deps.directory.remove(&self.facts.id);
    }
}
