//! What a chat actor does for its participants' messages: `send` (seq, store, ack, relay),
//! `typing`, and `resume` (from memory, or read back from the database within the window).

use super::*;

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
        let repeat = msg
            .client_msg_id
            .as_deref()
            .and_then(|id| self.sent_ids.get(&msg.from.id, id));
        if let Some(seq) = repeat {
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
        if let Some(id) = &msg.client_msg_id {
            self.sent_ids.insert(&msg.from.id, id, seq);
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
