//! The router actor: the one place that decides who gets which chat. It owns the routing core
//! (queues' waiting order, analysts' presence, status and load), the facts needed to describe open
//! chats, the queue and chat actors, offer timers and reconnect grace timers. It reaches sessions
//! only with `do_send` (through the hub, the queue actors and the chat actors) and never waits on
//! them. A decision about a chat (given to an analyst, requeued, ended) takes effect in the core at
//! once, so the next decision sees it, but is announced only once the chat actor has had it
//! stored (`ChatChanged`); one the store could not keep is undone (`pending`). Its handlers are
//! split by concern: `commands` (what clients ask), `presence` (sessions coming and going),
//! `queries` (what HTTP reads), `directory` (loading queues, analysts and the open chats at
//! start), `pending` (changes waiting for their commit), `status` (statuses, pending ones
//! included), `wrap_up` (after-chat work holding capacity).

mod clock;
mod commands;
mod directory;
mod ops;
mod pending;
mod presence;
mod queries;
mod starts;
mod status;
mod wrap_up;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

pub use commands::*;
pub use directory::LoadDirectory;
pub use presence::*;
pub use queries::*;
use status::Answer;
pub use status::SetStatus;
pub use wrap_up::{TIMEOUT_CODE, WrapUp};

use super::chat::{Activate, ChatActor, ChatChanged, ChatDeps, ChatDirectory, End};
use super::delivery::{Delivery, Who};
use super::feed::Feed;
use super::hub::Reply;
use super::queue::{QueueActor, Waiting};
use super::store_writer::StoreWriter;
use crate::domain::{AnalystId, AnalystStatus, ChatState, EndReason, QueueId, UserId};
use crate::protocol::{
    Actor as ActorRef, ChatSummary, DequeueReason, Person, RevokeReason, ServerFrame,
};
use crate::routing::{ChatId, Core, Decision};
use crate::settings::Settings;
use crate::timefmt::rfc3339;

/// What the router needs from the rest of the engine.
#[derive(Clone)]
pub struct RouterDeps {
    /// Where frames for principals go.
    pub delivery: Arc<dyn Delivery>,
    pub directory: Arc<ChatDirectory>,
    pub writer: Addr<StoreWriter>,
    /// Where ops events go (`GET /api/v1/events`).
    pub feed: Arc<Feed>,
    /// Reads (the directory at start); every chat write goes through `writer`.
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
}

/// What the router keeps about an open chat beyond its routing state.
#[derive(Clone)]
struct ChatMeta {
    user: Person,
    subject: String,
    call_id: String,
    created_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    last_seq: Arc<AtomicI64>,
    addr: Addr<ChatActor>,
    /// When it last joined a queue (start, restart or requeue), for the queued → assigned metric.
    waiting_since: Instant,
    /// Whether the queue's analysts were told it waits (`chat_queued`), so they are told when
    /// it stops waiting. A chat answered at once is never listed, and never unlisted.
    announced: bool,
}

/// The system, when it changes something on its own (an offer that lapsed).
pub fn system() -> Person {
    Person {
        id: "switchboard".into(),
        name: "Switchboard".into(),
    }
}

pub struct Router {
    core: Core,
    chats: HashMap<ChatId, ChatMeta>,
    queue_actors: HashMap<QueueId, Addr<QueueActor>>,
    /// (user, queue) pairs whose start_chat is being stored: a second start is a conflict.
    starting: BTreeSet<(UserId, QueueId)>,
    /// Checked starts waiting to be stored, in batches.
    starts: starts::Starts,
    /// Pending offers: chat → (analyst, timer generation).
    offers: HashMap<ChatId, (AnalystId, u64)>,
    /// Principals with no session left, and the generation of their grace timer.
    away: HashMap<Who, u64>,
    /// Counter for timer generations.
    generation: u64,
    /// Queues whose waiting users may need a new position.
    dirty: BTreeSet<QueueId>,
    /// Whether the directory has been loaded once (statuses start offline then).
    loaded: bool,
    /// Queues with business hours, and whether each is open now.
    hours: HashMap<QueueId, clock::QueueHours>,
    /// The one timer for the earliest timed change.
    wake: clock::Wake,
    /// Changes sent to chat actors and not yet stored, by chat, oldest first.
    pending: HashMap<ChatId, std::collections::VecDeque<pending::Pending>>,
    /// Counter for change ids.
    changes: u64,
    /// Where chat actors say whether a change was stored: this router.
    me: Recipient<ChatChanged>,
    deps: RouterDeps,
}

impl Router {
    /// A router whose chat actors answer to `me` (its own address: `Router::create`).
    pub fn new(deps: RouterDeps, me: Recipient<ChatChanged>) -> Self {
        let routing = &deps.settings.routing;
        let core = Core::with_rules(
            i64::try_from(routing.priority_aging_secs * 1000).unwrap_or(0),
            i64::try_from(routing.overflow_retry_secs * 1000).unwrap_or(5000),
        );
        Router {
            core,
            hours: HashMap::new(),
            wake: clock::Wake::default(),
            chats: HashMap::new(),
            queue_actors: HashMap::new(),
            starting: BTreeSet::new(),
            starts: starts::Starts::default(),
            offers: HashMap::new(),
            away: HashMap::new(),
            generation: 0,
            dirty: BTreeSet::new(),
            loaded: false,
            pending: HashMap::new(),
            changes: 0,
            me,
            deps,
        }
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn analyst_person(&self, id: &str) -> Option<Person> {
        self.core.analysts.get(id).map(|a| Person {
            id: a.id.to_string(),
            name: a.name.clone(),
        })
    }

    /// A chat as clients see it, from the router's view.
    fn summary(&self, chat: ChatId) -> Option<ChatSummary> {
        let route = self.core.chats.get(&chat)?;
        let meta = self.chats.get(&chat)?;
        let analyst = match route.state {
            ChatState::Active => route
                .analyst
                .as_deref()
                .and_then(|a| self.analyst_person(a)),
            _ => None,
        };
        Some(ChatSummary {
            chat_id: chat,
            queue_id: route.queue_id.clone(),
            state: route.state,
            user: meta.user.clone(),
            analyst,
            subject: meta.subject.clone(),
            call_id: meta.call_id.clone(),
            created_at: rfc3339(meta.created_at),
            accepted_at: meta.accepted_at.map(rfc3339),
            ended_at: None,
            end_reason: None,
            position: self.core.position(chat),
            last_seq: meta.last_seq.load(Ordering::Acquire),
            skills: crate::views::rules::requests(&route.skills),
            skills_relaxed: route.relaxed,
            wrap_up: None,
        })
    }

    /// Sends an event to every analyst of a queue, straight through the hub so it stays in order
    /// with the offers and assignments the router sends them.
    fn to_queue(&self, queue_id: &str, frame: bytestring::ByteString) {
        if let Some(queue) = self.core.queues.get(queue_id) {
            for member in &queue.members {
                self.deps.delivery.send(&Who::Staff(member.clone()), &frame);
            }
        }
    }

    fn chat_queued(&mut self, chat: ChatId) {
        if let Some(summary) = self.summary(chat) {
            let queue_id = summary.queue_id.clone();
            self.to_queue(
                &queue_id,
                ServerFrame::ChatQueued { chat: summary }.encode(),
            );
            if let Some(meta) = self.chats.get_mut(&chat) {
                meta.announced = true;
            }
            self.ops_chat_state(chat, &queue_id, ChatState::Waiting, None);
            self.dirty.insert(queue_id);
        }
    }

    fn chat_dequeued(&mut self, chat: ChatId, queue_id: &str, reason: DequeueReason) {
        let announced = self
            .chats
            .get_mut(&chat)
            .is_some_and(|meta| std::mem::take(&mut meta.announced));
        if announced {
            self.unlisted(chat, queue_id, reason);
        }
        self.dirty.insert(QueueId::from(queue_id));
    }

    /// Tells the queue's analysts a chat listed to them no longer waits.
    fn unlisted(&self, chat: ChatId, queue_id: &str, reason: DequeueReason) {
        let frame = ServerFrame::ChatDequeued {
            chat_id: chat,
            queue_id: QueueId::from(queue_id),
            reason,
        };
        self.to_queue(queue_id, frame.encode());
    }

    /// Tells the analyst their offer is gone and forgets its timer.
    fn revoke_offer(&mut self, chat: ChatId, reason: RevokeReason) {
        if let Some((analyst, _)) = self.offers.remove(&chat) {
            self.offer_revoked(chat, analyst, reason);
        }
    }

    /// Tells `analyst` the offer of `chat` is gone.
    fn offer_revoked(&self, chat: ChatId, analyst: AnalystId, reason: RevokeReason) {
        let frame = ServerFrame::OfferRevoked {
            chat_id: chat,
            reason,
        };
        self.deps
            .delivery
            .send(&Who::Staff(analyst), &frame.encode());
    }

    /// Runs the routing core and carries out its decisions.
    fn route(&mut self, ctx: &mut Context<Self>) {
        let decisions = self.core.route();
        self.apply(decisions, ctx);
    }

    /// Carries out the routing core's decisions.
    fn apply(&mut self, decisions: Vec<Decision>, ctx: &mut Context<Self>) {
        for decision in decisions {
            match decision {
                Decision::Assign { chat, analyst } => self.assigned(chat, &analyst, None),
                Decision::Offer { chat, analyst } => self.offer(chat, &analyst, ctx),
            }
        }
    }

    /// The core made `chat` active with `analyst`: the chat actor stores it and tells the analyst
    /// and the user; the queue hears once it is stored. Undone (the chat waits again in its
    /// place) if it cannot be stored.
    fn assigned(&mut self, chat: ChatId, analyst: &str, reply: Option<Reply>) {
        self.revoke_offer_of_other(chat, analyst);
        let Some(person) = self.analyst_person(analyst) else {
            return;
        };
        let Some(route) = self.core.chats.get(&chat).cloned() else {
            return;
        };
        let now = Utc::now();
        let Some(meta) = self.chats.get_mut(&chat) else {
            return;
        };
        let before = meta.clone();
        let first_wait = meta
            .accepted_at
            .is_none()
            .then(|| (now - meta.created_at).as_seconds_f64());
        crate::metrics::assigned(first_wait);
        meta.accepted_at.get_or_insert(now);
        let addr = meta.addr.clone();
        let waiting_since = meta.waiting_since;
        let skills_relaxed = route.relaxed;
        let queue_id = route.queue_id.clone();
        let mut waiting = route;
        waiting.state = ChatState::Waiting;
        waiting.analyst = None;
        let change = self.pending_change(
            chat,
            Some(waiting),
            Some(before),
            vec![
                pending::Announce::Dequeued(queue_id.clone(), DequeueReason::Accepted),
                pending::Announce::State(queue_id, ChatState::Active, None),
            ],
        );
        addr.do_send(Activate {
            change,
            analyst: person,
            accepted_at: now,
            waiting_since,
            reply,
            skills_relaxed,
        });
    }

    /// When someone else takes an offered chat, the analyst it was offered to is told.
    fn revoke_offer_of_other(&mut self, chat: ChatId, taker: &str) {
        if self.offers.get(&chat).is_some_and(|(a, _)| a != taker) {
            self.revoke_offer(chat, RevokeReason::Taken);
        } else {
            self.offers.remove(&chat);
        }
    }

    /// Offers `chat` to `analyst` and starts the offer timer.
    fn offer(&mut self, chat: ChatId, analyst: &str, ctx: &mut Context<Self>) {
        let Some(summary) = self.summary(chat) else {
            return;
        };
        let timeout = self
            .core
            .queues
            .get(summary.queue_id.as_str())
            .map_or(self.deps.settings.routing.offer_timeout_secs, |q| {
                q.config.offer_timeout_secs
            });
        let expires_at = Utc::now() + chrono::Duration::seconds(timeout as i64);
        let queue_id = summary.queue_id.clone();
        let frame = ServerFrame::ChatOffered {
            chat: summary,
            expires_at: rfc3339(expires_at),
        }
        .encode();
        self.deps
            .delivery
            .send(&Who::Staff(AnalystId::from(analyst)), &frame);
        let generation = self.next_generation();
        self.offers
            .insert(chat, (AnalystId::from(analyst), generation));
        crate::metrics::offer("made");
        self.ops_chat_state(chat, &queue_id, ChatState::Offered, None);
        let analyst = analyst.to_string();
        ctx.run_later(Duration::from_secs(timeout), move |act, ctx| {
            act.offer_lapsed(chat, &analyst, generation, ctx);
        });
    }

    /// An offer nobody answered: the chat goes to the next analyst, the silent one is set away.
    fn offer_lapsed(
        &mut self,
        chat: ChatId,
        analyst: &str,
        generation: u64,
        ctx: &mut Context<Self>,
    ) {
        if self.offers.get(&chat) != Some(&(AnalystId::from(analyst), generation)) {
            return;
        }
        self.revoke_offer(chat, RevokeReason::Timeout);
        crate::metrics::offer("timed_out");
        self.core.pass(analyst, chat);
        self.set_status(
            analyst,
            AnalystStatus::Away,
            system(),
            Answer::default(),
            ctx,
        );
        self.after_change(ctx);
    }

    /// Ends a chat: the core forgets it, the chat actor stores the end, answers the closer and
    /// tells both sides, and then the queue and any offered analyst are told. Undone (the chat
    /// open again as it was) if the end cannot be stored.
    fn end_chat(
        &mut self,
        chat: ChatId,
        reason: EndReason,
        by: Option<ActorRef>,
        reply: Option<Reply>,
    ) {
        let Some(route) = self.core.end(chat) else {
            if let Some(reply) = reply {
                reply.err(&crate::error::AppError::not_found(format!("chat {chat}")));
            }
            return;
        };
        let Some(meta) = self.chats.remove(&chat) else {
            return;
        };
        let queue_id = route.queue_id.clone();
        if route.state == ChatState::Active
            && let Some(accepted) = meta.accepted_at
        {
            let secs = (Utc::now() - accepted).num_seconds().max(0);
            self.core
                .record_handle(&queue_id, u64::try_from(secs).unwrap_or(0));
        }
        let mut announce = Vec::new();
        if route.state.is_waiting() && meta.announced {
            announce.push(pending::Announce::Unlisted(
                queue_id.clone(),
                DequeueReason::Unanswered,
            ));
        }
        if route.state == ChatState::Offered
            && let Some((analyst, _)) = self.offers.remove(&chat)
        {
            announce.push(pending::Announce::Revoked(analyst, RevokeReason::Closed));
        }
        let ended = if route.state == ChatState::Active {
            ChatState::Closed
        } else {
            ChatState::Unanswered
        };
        announce.push(pending::Announce::State(
            queue_id.clone(),
            ended,
            Some(reason),
        ));
        announce.push(pending::Announce::Ended(reason));
        let wrap_up = self.start_wrap_up(&route, &mut announce);
        self.dirty.insert(queue_id);
        let addr = meta.addr.clone();
        let change = self.pending_change(chat, Some(route), Some(meta), announce);
        addr.do_send(End {
            change,
            reason,
            by,
            reply,
            wrap_up,
        });
    }

    /// After any change: route the backlog and refresh positions of the queues touched.
    fn after_change(&mut self, ctx: &mut Context<Self>) {
        self.settle(ctx);
        self.route(ctx);
        for queue_id in std::mem::take(&mut self.dirty) {
            self.ops_queue_stats(&queue_id);
            let Some(queue) = self.core.queues.get(&queue_id) else {
                continue;
            };
            let order = queue
                .waiting()
                .filter_map(|c| self.core.chats.get(&c).map(|r| (c, r.user_id.clone())))
                .collect();
            let analysts_available = self.core.analysts_available(&queue_id);
            let estimator = self.core.estimator(&queue_id);
            if let Some(q) = self.queue_actors.get(&queue_id) {
                q.do_send(Waiting {
                    order,
                    analysts_available,
                    estimator,
                });
            }
        }
        self.rearm(ctx);
    }

    /// Starts the chat actor for an open chat and files it in the directory.
    /// `meta` builds what the router keeps about the chat, given its actor's address.
    fn start_chat_actor(
        &mut self,
        actor: ChatActor,
        chat: ChatId,
        meta: impl FnOnce(Addr<ChatActor>) -> ChatMeta,
    ) {
        let addr = actor.start();
        self.deps.directory.insert(chat, addr.clone());
        self.chats.insert(chat, meta(addr));
    }

    fn chat_deps(&self) -> ChatDeps {
        ChatDeps {
            delivery: self.deps.delivery.clone(),
            directory: self.deps.directory.clone(),
            writer: self.deps.writer.clone(),
            db: self.deps.db.clone(),
            router: self.me.clone(),
        }
    }
}

/// Mailbox size before `send` waits (sessions wait on `send` here only to connect); `do_send` is never held back.
const MAILBOX: usize = 1 << 16;

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}
