//! Loading what the router routes over: queues, analysts and memberships (at start and whenever
//! an admin changes them), and, at start, the chats that were open when the engine stopped. Waiting
//! chats return to their queues in their original order; active chats stay with their analysts,
//! pending wrap-ups hold their capacity again until their stored deadlines, and every participant
//! gets the reconnect grace period to come back.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::{Duration, Instant};

use actix::prelude::*;
use entities::{analysts, chats, queue_members, queues};
use sea_orm::DatabaseConnection;

use super::{ChatMeta, Router};
use crate::actors::chat::{ChatActor, ChatFacts, KEPT_IN_MEMORY, SentIds};
use crate::actors::hub::Who;
use crate::actors::queue::QueueActor;
use crate::domain::{AnalystId, AnalystStatus, ChatState, QueueId, UserId};
use crate::error::AppError;
use crate::protocol::{Message, Person};
use crate::routing::hours::Schedule;
use crate::routing::{ChatId, Entry};
use crate::store;
use crate::views;
use crate::views::rules;

/// (Re)loads the directory; the first load also restores the open chats.
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct LoadDirectory;

/// An open chat as stored, with what its actor needs to carry on.
struct OpenChat {
    chat: chats::Model,
    user_name: String,
    recent: Vec<Message>,
    sent_ids: SentIds,
    /// Files uploaded to it and not yet sent.
    unsent: Vec<store::attachments::AttachmentMeta>,
    last_seq: i64,
}

struct Loaded {
    queues: Vec<queues::Model>,
    analysts: Vec<analysts::Model>,
    members: Vec<queue_members::Model>,
    open: Option<Vec<OpenChat>>,
    /// At start: the wrap-ups still pending, with their stored deadlines.
    wrap_ups: Vec<entities::chat_wrap_ups::Model>,
}

async fn load(db: DatabaseConnection, restore: bool) -> Result<Loaded, AppError> {
    let queues = store::queues::list(&db).await?;
    let analysts = store::analysts::list(&db).await?;
    let members = store::analysts::all_members(&db).await?;
    let (open, wrap_ups) = if restore {
        (
            Some(load_open_chats(&db).await?),
            store::wrap_ups::pending(&db).await?,
        )
    } else {
        (None, Vec::new())
    };
    Ok(Loaded {
        queues,
        analysts,
        members,
        open,
        wrap_ups,
    })
}

async fn load_open_chats(db: &DatabaseConnection) -> Result<Vec<OpenChat>, AppError> {
    let chats = store::chats::open(db).await?;
    let user_ids: Vec<String> = chats.iter().map(|c| c.user_id.clone()).collect();
    let names = store::users::names(db, &user_ids).await?;
    let ids: Vec<String> = chats.iter().map(|c| c.id.clone()).collect();
    let last_seqs = store::messages::last_seqs(db, &ids).await?;
    let mut out = Vec::with_capacity(chats.len());
    for chat in chats {
        let last_seq = last_seqs.get(&chat.id).copied().unwrap_or(0);
        let after = (last_seq - KEPT_IN_MEMORY as i64).max(0);
        let rows = store::messages::transcript(db, &chat.id, after, KEPT_IN_MEMORY as u64).await?;
        let mut files = store::attachments::of_messages(db, &chat.id, &rows).await?;
        let recent = rows
            .into_iter()
            .filter_map(|m| {
                let carried = files.remove(&m.seq).unwrap_or_default();
                views::message(m, carried).ok()
            })
            .collect();
        let sent_ids = store::messages::client_ids(db, &chat.id)
            .await?
            .into_iter()
            .collect();
        let unsent = store::attachments::unsent(db, &chat.id).await?;
        let user_name = names
            .get(&chat.user_id)
            .cloned()
            .unwrap_or_else(|| chat.user_id.clone());
        out.push(OpenChat {
            chat,
            user_name,
            recent,
            sent_ids,
            unsent,
            last_seq,
        });
    }
    Ok(out)
}

impl Handler<LoadDirectory> for Router {
    type Result = ResponseActFuture<Self, Result<(), AppError>>;

    fn handle(&mut self, _: LoadDirectory, _: &mut Context<Self>) -> Self::Result {
        let db = self.deps.db.clone();
        let restore = !self.loaded;
        Box::pin(
            load(db, restore)
                .into_actor(self)
                .map(move |loaded, act, ctx| {
                    let loaded = loaded?;
                    act.apply_directory(&loaded, restore);
                    for row in &loaded.wrap_ups {
                        act.hold_stored(row);
                    }
                    if let Some(open) = loaded.open {
                        act.restore(open, ctx);
                    }
                    act.loaded = true;
                    act.dirty.extend(act.core.queues.keys().cloned());
                    act.after_change(ctx);
                    Ok(())
                }),
        )
    }
}

impl Router {
    fn apply_directory(&mut self, loaded: &Loaded, first: bool) {
        let mut schedules = HashMap::new();
        for q in &loaded.queues {
            self.core.upsert_queue(rules::queue_config(q));
            let schedule = rules::schedule(q).and_then(|spec| Schedule::compile(&spec).ok());
            schedules.insert(QueueId::from(q.id.as_str()), schedule);
            let delivery = self.deps.delivery.clone();
            self.queue_actors
                .entry(QueueId::from(q.id.as_str()))
                .or_insert_with(|| QueueActor::new(delivery).start());
        }
        for a in &loaded.analysts {
            let new = !self.core.analysts.contains_key(a.id.as_str());
            self.core
                .upsert_analyst(&a.id, &a.name, usize::try_from(a.capacity).unwrap_or(1));
            self.core
                .set_skills(&a.id, rules::analyst_skills(&a.skills));
            if first && new {
                // Statuses survive a restart for the grace period; `restore` starts the timers.
                if let Some(state) = self.core.analysts.get_mut(a.id.as_str()) {
                    state.status = a.status.parse().unwrap_or(AnalystStatus::Offline);
                }
                // So do pending statuses (§9.2), until the grace period ends.
                let pending = a.pending_status.as_deref().and_then(|p| p.parse().ok());
                self.core.set_pending_status(&a.id, pending);
            }
        }
        let mut members: HashMap<&str, BTreeSet<AnalystId>> = loaded
            .queues
            .iter()
            .map(|q| (q.id.as_str(), BTreeSet::new()))
            .collect();
        for m in &loaded.members {
            if let Some(set) = members.get_mut(m.queue_id.as_str()) {
                set.insert(AnalystId::from(m.analyst_id.as_str()));
            }
        }
        for (queue_id, set) in members {
            self.core.set_members(queue_id, set);
        }
        self.set_schedules(schedules);
    }

    /// Brings back the chats that were open when the engine stopped; nobody is connected yet, so
    /// every participant (and every analyst who was online) starts their grace period.
    fn restore(&mut self, open: Vec<OpenChat>, ctx: &mut Context<Self>) {
        let mut absent: BTreeSet<Who> = self
            .core
            .analysts
            .values()
            .filter(|a| a.status != AnalystStatus::Offline)
            .map(|a| Who::Staff(a.id.clone()))
            .collect();
        for OpenChat {
            chat,
            user_name,
            recent,
            sent_ids,
            unsent,
            last_seq,
        } in open
        {
            let Ok(id) = ChatId::parse(&chat.id) else {
                continue;
            };
            let state: ChatState = chat.state.parse().unwrap_or(ChatState::Waiting);
            let created_ms = chat.created_at.timestamp_millis();
            let analyst = chat
                .analyst_id
                .as_deref()
                .filter(|_| state == ChatState::Active)
                .and_then(|a| self.analyst_person(a));
            match &analyst {
                Some(a) => {
                    self.core
                        .restore_active(id, &chat.queue_id, &chat.user_id, created_ms, &a.id);
                    absent.insert(Who::Staff(AnalystId::from(a.id.as_str())));
                }
                None => {
                    // Back in its queue as it was stored: its place by age, and its timed
                    // rules counted from when it entered (applied by the next tick).
                    let entry = Entry {
                        created_ms,
                        entered_ms: chat.queued_at.unwrap_or(chat.created_at).timestamp_millis(),
                        skills: rules::asks(&rules::chat_skills(&chat.skills)),
                    };
                    if self
                        .core
                        .enqueue_entry(id, &chat.queue_id, &chat.user_id, entry)
                        .is_err()
                    {
                        continue;
                    }
                }
            }
            absent.insert(Who::User(UserId::from(chat.user_id.as_str())));
            let user = Person {
                id: chat.user_id.clone(),
                name: user_name,
            };
            let facts = ChatFacts {
                id,
                queue_id: QueueId::from(chat.queue_id.as_str()),
                call_id: chat.call_id.clone(),
                subject: chat.subject.clone(),
                user: user.clone(),
                analyst: analyst.clone(),
                state: if analyst.is_some() {
                    ChatState::Active
                } else {
                    ChatState::Waiting
                },
                created_at: chat.created_at,
                accepted_at: chat.accepted_at,
                skills: rules::chat_skills(&chat.skills),
                // Not stored: a chat recovered active says no step.
                skills_relaxed: 0,
            };
            let seq = Arc::new(AtomicI64::new(last_seq));
            let actor = ChatActor::new(facts, self.chat_deps(), seq.clone(), recent, sent_ids)
                .with_unsent(unsent);
            self.start_chat_actor(actor, id, |addr| ChatMeta {
                user,
                subject: chat.subject,
                call_id: chat.call_id,
                created_at: chat.created_at,
                accepted_at: chat.accepted_at,
                last_seq: seq,
                addr,
                waiting_since: Instant::now(),
                // Waiting chats are listed in every analyst's `hello`.
                announced: analyst.is_none(),
            });
        }
        let grace = Duration::from_secs(self.deps.settings.routing.reconnect_grace_secs);
        for who in absent {
            let generation = self.next_generation();
            self.away.insert(who.clone(), generation);
            ctx.run_later(grace, move |act, ctx| act.grace_over(who, generation, ctx));
        }
    }
}
