//! `resume` on an open chat, replayed in bounded pages: the messages after `after_seq` go to the
//! session as its outbox has room (half its bound, `Outbox::room`), from memory while the chat
//! still holds them, else read back from the database a page at a time. Nothing holds the chat
//! still meanwhile: its live messages skip the session being replayed to and reach it through the
//! replay instead, so it sees every seq once, in order, and the ok (with `last_seq`) comes when
//! the replay has caught up. One replay per chat and session at a time; a second is `conflict`.

use super::*;
use crate::actors::outbox::ReplayGuard;

/// How many stored messages one database read brings back.
pub const REPLAY_PAGE: u64 = 64;

/// `resume`: replays the stored messages after `after_seq`, then answers ok.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Resume {
    pub who: ActorRef,
    pub after_seq: i64,
    pub reply: Reply,
}

/// One session's replay.
pub(super) struct Replay {
    reply: Reply,
    /// Whether whispers are replayed (the chat's staff), or left out (its user).
    internal: bool,
    /// The last seq handed to the session.
    sent: i64,
    /// Frames read back and not yet admitted into the session's outbox.
    pending: VecDeque<ByteString>,
    /// A page read or a wait for room is under way.
    busy: bool,
    /// Marks the replay in the session's outbox until it ends.
    _guard: ReplayGuard,
}

/// What a replay step does next.
enum Next {
    Done,
    /// Wait for room for a frame of this many bytes.
    Wait(usize),
    Read(i64),
    Gone,
}

impl Handler<Resume> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: Resume, ctx: &mut Context<Self>) {
        let internal = self.sees_internal(&msg.who);
        if !internal && !self.is_participant(&msg.who) {
            return msg.reply.err(&self.not_found());
        }
        if self.committed() - msg.after_seq > RESUME_WINDOW as i64 {
            return msg.reply.err(&AppError::new(
                ErrorCode::TooFarBehind,
                format!("more than {RESUME_WINDOW} messages behind: read the transcript over HTTP"),
            ));
        }
        let Some(guard) = msg.reply.link.outbox().begin_replay(self.facts.id) else {
            return msg.reply.err(&AppError::conflict(
                "a resume of this chat is already running on this connection",
            ));
        };
        let session = msg.reply.session_id;
        self.replays.insert(
            session,
            Replay {
                reply: msg.reply,
                internal,
                sent: msg.after_seq,
                pending: VecDeque::new(),
                busy: false,
                _guard: guard,
            },
        );
        self.replay(session, ctx);
    }
}

impl ChatActor {
    /// Moves one session's replay on as far as its outbox allows.
    fn replay(&mut self, session: SessionId, ctx: &mut Context<Self>) {
        let committed = self.committed();
        let Some(r) = self.replays.get_mut(&session) else {
            return;
        };
        if r.busy {
            return;
        }
        let next = 'step: {
            if r.reply.link.outbox().is_closed() {
                break 'step Next::Gone;
            }
            while let Some(frame) = r.pending.front() {
                if !r.reply.link.push_paced(frame) {
                    break 'step Next::Wait(frame.len());
                }
                r.pending.pop_front();
            }
            let oldest_kept = self.recent.front().map_or(committed + 1, |(m, _)| m.seq);
            if r.sent + 1 < oldest_kept && r.sent < committed {
                break 'step Next::Read(r.sent);
            }
            let after = r.sent;
            for (m, frame) in self.recent.iter().filter(|(m, _)| m.seq > after) {
                if !r.internal && m.visibility == Visibility::Internal {
                    r.sent = m.seq;
                    continue;
                }
                if !r.reply.link.push_paced(frame) {
                    break 'step Next::Wait(frame.len());
                }
                r.sent = m.seq;
            }
            Next::Done
        };
        match next {
            Next::Done => {
                if let Some(r) = self.replays.remove(&session) {
                    let state = self.facts.state;
                    // The user's last seq is the last one they can see.
                    let last_seq = if r.internal {
                        committed
                    } else {
                        self.last_visible.min(committed)
                    };
                    r.reply.ok(OkResult::Resumed {
                        chat_id: self.facts.id,
                        state,
                        last_seq,
                    });
                }
                self.stop_if_idle(ctx);
            }
            Next::Gone => {
                self.replays.remove(&session);
                self.stop_if_idle(ctx);
            }
            Next::Wait(len) => {
                r.busy = true;
                let outbox = r.reply.link.outbox().clone();
                ctx.spawn(
                    async move { outbox.room(len).await }
                        .into_actor(self)
                        .map(move |(), act, ctx| act.replay_resumed(session, ctx)),
                );
            }
            Next::Read(after) => {
                r.busy = true;
                let db = self.deps.db.clone();
                let chat_id = self.facts.id.to_string();
                let read = async move {
                    let rows =
                        store::messages::transcript(&db, &chat_id, after, REPLAY_PAGE).await?;
                    let files = store::attachments::of_messages(&db, &chat_id, &rows).await?;
                    Ok::<_, AppError>((rows, files))
                };
                ctx.spawn(read.into_actor(self).map(move |rows, act, ctx| {
                    let committed = act.committed();
                    let Some(r) = act.replays.get_mut(&session) else {
                        return;
                    };
                    match rows {
                        // Nothing stored past `sent` (it cannot be, below `committed`): stop
                        // reading rather than ask again.
                        Ok((rows, _)) if rows.is_empty() => r.sent = committed,
                        Ok((rows, mut files)) => {
                            // Rows the writer committed but this actor has not yet seen
                            // committed are relayed live; the replay stops short of them.
                            for row in rows.into_iter().filter(|row| row.seq <= committed) {
                                r.sent = row.seq;
                                if !r.internal && row.visibility == Visibility::Internal.as_str() {
                                    continue;
                                }
                                let carried = files.remove(&row.seq).unwrap_or_default();
                                if let Ok(m) = views::message(row, carried) {
                                    r.pending.push_back(protocol::encode(&m));
                                }
                            }
                        }
                        Err(err) => {
                            r.reply.err(&err);
                            act.replays.remove(&session);
                            return act.stop_if_idle(ctx);
                        }
                    }
                    act.replay_resumed(session, ctx);
                }));
            }
        }
    }

    fn replay_resumed(&mut self, session: SessionId, ctx: &mut Context<Self>) {
        if let Some(r) = self.replays.get_mut(&session) {
            r.busy = false;
        }
        self.replay(session, ctx);
    }
}
