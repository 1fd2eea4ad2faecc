//! Storing `start_chat`s in batches: the router queues each checked start here, and whatever has
//! gathered while the previous batch was being stored goes to the store writer as one batch (one
//! transaction).
//! When it lands, each chat joins its queue in order, gets its chat actor, and is routed.
//!
//! One batch in flight, and no future per start in the router's context: actix polls every future
//! of an actor's context on each wake, so ten thousand starts each waiting there for a database
//! slot made every router message cost ten thousand polls.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::{ChatMeta, Router};
use crate::actors::chat::{ChatActor, ChatFacts, SentIds};
use crate::actors::hub::Reply;
use crate::actors::store_writer::{StoreStarts, committed};
use crate::domain::{ChatState, QueueId, UserId};
use crate::protocol::{OkResult, Person};
use crate::routing::{ChatId, Entry, SkillAsk};
use crate::store::calls::CallOutcome;
use crate::store::chats::ChatToStart;
use crate::views::rules::{asks_json, requests};

/// Most starts stored in one transaction.
const MAX_BATCH: usize = 500;

/// A checked `start_chat` waiting to be stored.
pub struct PendingStart {
    pub chat_id: ChatId,
    pub created_at: DateTime<Utc>,
    pub user: Person,
    pub queue_id: QueueId,
    pub subject: String,
    pub call_id: Option<String>,
    /// Skills asked for, checked against the queue's list.
    pub skills: Vec<SkillAsk>,
    /// The host's ticket id to file the chat under.
    pub call_ref: Option<String>,
    pub reply: Reply,
}

/// The starts waiting to be stored, and whether a batch is being stored.
#[derive(Default)]
pub struct Starts {
    waiting: VecDeque<PendingStart>,
    storing: bool,
}

impl Router {
    /// Queues a checked start and stores it with whatever else is waiting.
    pub(super) fn queue_start(&mut self, start: PendingStart, ctx: &mut Context<Self>) {
        self.starts.waiting.push_back(start);
        self.store_starts(ctx);
    }

    /// Stores the waiting starts in one transaction, unless a batch is already being stored.
    fn store_starts(&mut self, ctx: &mut Context<Self>) {
        if self.starts.storing || self.starts.waiting.is_empty() {
            return;
        }
        let take = self.starts.waiting.len().min(MAX_BATCH);
        let batch: Vec<PendingStart> = self.starts.waiting.drain(..take).collect();
        let rows: Vec<ChatToStart> = batch
            .iter()
            .map(|p| ChatToStart {
                chat_id: p.chat_id.to_string(),
                queue_id: p.queue_id.to_string(),
                user_id: p.user.id.clone(),
                user_name: p.user.name.clone(),
                subject: p.subject.clone(),
                call_id: p.call_id.clone(),
                call_ref: p.call_ref.clone(),
                created_at: p.created_at,
                skills: asks_json(&p.skills),
            })
            .collect();
        self.starts.storing = true;
        let stored = committed(&self.deps.writer, StoreStarts(rows));
        ctx.spawn(stored.into_actor(self).map(move |result, act, ctx| {
            act.starts.storing = false;
            match result {
                Ok(call_ids) => act.started(batch.into_iter().zip(call_ids), ctx),
                Err(err) => {
                    for start in batch {
                        act.starting
                            .remove(&(UserId::from(start.user.id), start.queue_id));
                        start.reply.err(&err);
                    }
                }
            }
            act.store_starts(ctx);
        }));
    }

    /// Stored starts: each chat joins its queue and gets its actor, then the queue is routed once
    /// for the whole batch; each user's reply says whether their chat was answered at once. A
    /// start the store refused (its `call_ref` is another user's) gets its error.
    fn started(
        &mut self,
        stored: impl Iterator<Item = (PendingStart, CallOutcome)>,
        ctx: &mut Context<Self>,
    ) {
        let mut queued = Vec::new();
        for (start, outcome) in stored {
            let PendingStart {
                chat_id,
                created_at,
                user,
                queue_id,
                subject,
                call_id: _,
                skills,
                call_ref: _,
                reply,
            } = start;
            self.starting
                .remove(&(UserId::from(user.id.as_str()), queue_id.clone()));
            let call_id = match outcome {
                Ok(call_id) => call_id,
                Err(err) => {
                    reply.err(&err);
                    continue;
                }
            };
            let entry = Entry {
                created_ms: created_at.timestamp_millis(),
                entered_ms: created_at.timestamp_millis(),
                skills: skills.clone(),
            };
            if let Err(err) = self.core.enqueue_entry(chat_id, &queue_id, &user.id, entry) {
                reply.err(&err);
                continue;
            }
            let facts = ChatFacts {
                id: chat_id,
                queue_id: queue_id.clone(),
                call_id: call_id.clone(),
                subject: subject.clone(),
                user: user.clone(),
                analyst: None,
                state: ChatState::Waiting,
                created_at,
                accepted_at: None,
                skills: requests(&skills),
                skills_relaxed: 0,
            };
            let last_seq = Arc::new(AtomicI64::new(0));
            let actor = ChatActor::new(
                facts,
                self.chat_deps(),
                last_seq.clone(),
                Vec::new(),
                SentIds::default(),
            );
            self.start_chat_actor(actor, chat_id, |addr| ChatMeta {
                user,
                subject,
                call_id: call_id.clone(),
                created_at,
                accepted_at: None,
                last_seq,
                addr,
                waiting_since: Instant::now(),
                announced: false,
            });
            crate::metrics::chat_started();
            self.dirty.insert(queue_id);
            queued.push((chat_id, call_id, reply));
        }
        // Route before answering, so each reply says whether it was answered at once; the chat
        // actors announce the assignments only after these replies are on their way.
        let decisions = self.core.route();
        for (chat_id, call_id, reply) in queued {
            let position = self.core.position(chat_id);
            let estimated_wait_secs = self.core.estimate(chat_id);
            reply.ok(OkResult::Started {
                chat_id,
                call_id,
                position,
                estimated_wait_secs,
            });
            if position.is_some() {
                self.chat_queued(chat_id);
            }
        }
        self.apply(decisions, ctx);
        self.after_change(ctx);
    }
}
