//! What a chat actor does for its participants' messages: `send` (with its files) and `whisper`
//! (seq, store, ack, relay) and `typing`. `resume` has its own file (`replay`).

use super::*;

/// `send` (a participant posts a message) or `whisper` (the chat's staff post one its user
/// never sees).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PostMessage {
    pub from: ActorRef,
    pub body: String,
    pub client_msg_id: Option<String>,
    /// `Internal` for a whisper.
    pub visibility: Visibility,
    /// Ids of files the sender uploaded to this chat, to send with it.
    pub attachments: Vec<String>,
    pub reply: Reply,
}

impl Handler<PostMessage> for ChatActor {
    type Result = ();

    fn handle(&mut self, msg: PostMessage, ctx: &mut Context<Self>) {
        let allowed = match msg.visibility {
            Visibility::All => self.is_participant(&msg.from),
            Visibility::Internal => self.sees_internal(&msg.from),
        };
        if !allowed {
            return msg.reply.err(&self.not_found());
        }
        if self.ended.is_some() || self.closing {
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
        let files = match self.unsent.claim(&msg.from, &msg.attachments) {
            Ok(files) => files,
            Err(err) => return msg.reply.err(&err),
        };
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
                visibility: msg.visibility,
                attachments: files::refs(&files),
            },
            files,
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
        let sender = who_of(&msg.from);
        let frame = ServerFrame::Typing {
            chat_id: self.facts.id,
            from: Person {
                id: msg.from.id,
                name: msg.from.name,
            },
        }
        .encode();
        // The user's typing goes to the chat's staff; staff typing to the user and the rest of
        // the staff.
        if msg.from.role != Role::User {
            self.deps.delivery.send(&self.user(), &frame);
        }
        for who in self.staff().into_iter().filter(|w| *w != sender) {
            self.deps.delivery.send(&who, &frame);
        }
        msg.reply.ok(OkResult::Chat {
            chat_id: self.facts.id,
        });
    }
}
