//! Supervising a live chat (contract §9.3): `monitor` / `unmonitor` and `join` / `leave`, for
//! managers of the chat's current queue and admins; anyone else is answered `not_found`, exactly
//! as for a chat that does not exist. Each change is committed by the store writer
//! (`chat_supervisors`) before it is answered or announced; a monitor tells nobody, a join or a
//! leave is announced to everyone in the chat (`participant_joined` / `participant_left`).

use super::*;
use crate::actors::store_writer::{ChatChange, StoreChange, committed};
use crate::domain::MemberRole;
use crate::store::supervisors::{Supervisor, SupervisorKind};

/// What a supervisor asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuperviseAction {
    Monitor,
    Unmonitor,
    Join,
    Leave,
}

impl SuperviseAction {
    fn kind(self) -> SupervisorKind {
        match self {
            SuperviseAction::Monitor | SuperviseAction::Unmonitor => SupervisorKind::Monitor,
            SuperviseAction::Join | SuperviseAction::Leave => SupervisorKind::Join,
        }
    }

    fn starts(self) -> bool {
        matches!(self, SuperviseAction::Monitor | SuperviseAction::Join)
    }
}

/// `monitor`, `unmonitor`, `join` or `leave`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Supervise {
    pub who: ActorRef,
    pub action: SuperviseAction,
    pub reply: Reply,
}

/// Whether `who` may supervise chats of `queue_id`: an admin, or a manager of that queue.
pub async fn may_supervise(
    db: &DatabaseConnection,
    who: &ActorRef,
    queue_id: &str,
) -> Result<bool, AppError> {
    Ok(match who.role {
        Role::Admin => true,
        Role::User | Role::Service => false,
        Role::Analyst | Role::Manager => {
            store::analysts::membership(db, queue_id, &who.id).await? == Some(MemberRole::Manager)
        }
    })
}

impl Handler<Supervise> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Supervise, ctx: &mut Context<Self>) {
        let Supervise { who, action, reply } = msg;
        let key = who_of(&who);
        let kind = action.kind();
        let holds = match kind {
            SupervisorKind::Monitor => self.monitors.contains_key(&key),
            SupervisorKind::Join => self.joined.contains_key(&key),
        };
        if !action.starts() && !holds {
            return reply.err(&self.not_found());
        }
        let chat_id = self.facts.id.to_string();
        let change = if action.starts() {
            ChatChange::Supervise(Supervisor {
                chat_id: chat_id.clone(),
                principal_id: who.id.clone(),
                kind,
                role: who.role.as_str().to_string(),
                name: who.name.clone(),
                since: Utc::now(),
            })
        } else {
            ChatChange::Unsupervise {
                chat_id: chat_id.clone(),
                principal_id: who.id.clone(),
                kind,
            }
        };
        let db = self.deps.db.clone();
        let writer = self.deps.writer.clone();
        let queue_id = self.facts.queue_id.to_string();
        let checked = who.clone();
        // A monitor reads the whole transcript back; messages committed meanwhile come from memory.
        let read = action == SuperviseAction::Monitor;
        let work = async move {
            if action.starts() && !may_supervise(&db, &checked, &queue_id).await? {
                return Ok(None);
            }
            committed(&writer, StoreChange(change)).await?;
            if !read {
                return Ok(Some(Vec::new()));
            }
            let rows = store::messages::transcript(&db, &chat_id, 0, u64::MAX).await?;
            let mut files = store::attachments::of_messages(&db, &chat_id, &rows).await?;
            Ok(Some(
                rows.into_iter()
                    .filter_map(|r| {
                        let carried = files.remove(&r.seq).unwrap_or_default();
                        views::message(r, carried).ok()
                    })
                    .collect(),
            ))
        };
        ctx.spawn(work.into_actor(self).map(
            move |result: Result<Option<Vec<Message>>, AppError>, act, _| match result {
                Err(err) => reply.err(&err),
                Ok(None) => reply.err(&act.not_found()),
                Ok(Some(stored)) => act.supervised(who, action, stored, reply),
            },
        ));
    }
}

impl ChatActor {
    /// The change is stored: apply it, answer, and tell the chat when someone joined or left.
    fn supervised(
        &mut self,
        who: ActorRef,
        action: SuperviseAction,
        stored: Vec<Message>,
        reply: Reply,
    ) {
        if action.starts() && (self.ended.is_some() || self.closing) {
            return reply.err(&AppError::conflict("the chat has ended"));
        }
        let key = who_of(&who);
        let person = Person {
            id: who.id.clone(),
            name: who.name.clone(),
        };
        let chat_id = self.facts.id;
        match action {
            SuperviseAction::Monitor => {
                self.monitors.insert(key, person);
                // What was read back, up to what this actor has relayed, then what it relayed
                // since the read.
                let committed = self.committed();
                let mut transcript: Vec<Message> =
                    stored.into_iter().filter(|m| m.seq <= committed).collect();
                let read_up_to = transcript.last().map_or(0, |m| m.seq);
                transcript.extend(
                    self.recent
                        .iter()
                        .filter(|(m, _)| m.seq > read_up_to)
                        .map(|(m, _)| m.clone()),
                );
                reply.ok(OkResult::Accepted {
                    chat: self.summary(None),
                    transcript,
                });
            }
            SuperviseAction::Unmonitor => {
                self.monitors.remove(&key);
                reply.ok(OkResult::Chat { chat_id });
            }
            SuperviseAction::Join | SuperviseAction::Leave => {
                let role = who.role;
                let leaver = key.clone();
                let frame = if action == SuperviseAction::Join {
                    self.joined.insert(key, who);
                    ServerFrame::ParticipantJoined {
                        chat_id,
                        who: person,
                        role,
                    }
                } else {
                    self.joined.remove(&key);
                    ServerFrame::ParticipantLeft {
                        chat_id,
                        who: person,
                        role,
                    }
                }
                .encode();
                let session = reply.session_id;
                reply.ok(OkResult::Chat { chat_id });
                let skip = |id| id == session;
                self.deps
                    .delivery
                    .send_skipping(&self.user(), &skip, &frame);
                for staff in self.staff() {
                    self.deps.delivery.send_skipping(&staff, &skip, &frame);
                }
                // The one who left is no longer among the staff, but their other tabs learn it.
                if action == SuperviseAction::Leave && !self.staff().contains(&leaver) {
                    self.deps.delivery.send_skipping(&leaver, &skip, &frame);
                }
            }
        }
    }

    /// A chat started again after a restart takes back who monitors and who joined it, and
    /// the user's last seq when every message kept in memory is a whisper.
    pub(super) fn restore_supervisors(&mut self, ctx: &mut Context<Self>) {
        let db = self.deps.db.clone();
        let chat_id = self.facts.id.to_string();
        let read_visible = self.last_visible == 0 && self.committed() > 0;
        let work = async move {
            let supervisors = store::supervisors::of_chat(&db, &chat_id).await?;
            let visible = if read_visible {
                store::messages::last_visible_seqs(&db, std::slice::from_ref(&chat_id))
                    .await?
                    .get(&chat_id)
                    .copied()
            } else {
                None
            };
            Ok::<_, AppError>((supervisors, visible))
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _| match result {
            Ok((supervisors, visible)) => {
                if let Some(seq) = visible {
                    act.last_visible = act.last_visible.max(seq);
                }
                for s in supervisors {
                    let Ok(role) = s.role.parse::<Role>() else {
                        continue;
                    };
                    let who = ActorRef {
                        role,
                        id: s.principal_id,
                        name: s.name,
                    };
                    let key = who_of(&who);
                    match s.kind {
                        SupervisorKind::Monitor => {
                            act.monitors.insert(
                                key,
                                Person {
                                    id: who.id,
                                    name: who.name,
                                },
                            );
                        }
                        SupervisorKind::Join => {
                            act.joined.insert(key, who);
                        }
                    }
                }
            }
            Err(err) => {
                tracing::warn!(chat_id = %act.facts.id, error = %err, "supervisors not read back");
            }
        }));
    }
}
