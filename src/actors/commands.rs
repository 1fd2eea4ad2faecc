//! What a session does with each decoded command: checks what the role may ask and the shape of
//! the input, then hands the command to the actor that owns it (the chat actor for messages,
//! typing, resume and links; the router for everything that changes who has which chat). Chats
//! that have already ended are answered from the database (`archive`).

use actix::dev::SendError;
use actix::prelude::*;
use actix_web_actors::ws;

use super::archive;
use super::chat::{LinkCall, PostMessage, Resume, Supervise, SuperviseAction, Typing};
use super::hub::Reply;
use super::router::{Accept, CloseChat, Decline, SetStatus, StartChat, Transfer, WrapUp};
use super::session::Session;
use crate::domain::{AnalystId, ChatId, QueueId, Role, Visibility};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::{Actor as ActorRef, ClientFrame, OkResult, Person, SendCmd, ServerFrame};

/// Longest `client_msg_id` and chat subject.
const MAX_CLIENT_MSG_ID_CHARS: usize = 64;
const MAX_SUBJECT_CHARS: usize = 200;
/// Longest comment on a rating (contract §9.4).
const MAX_COMMENT_CHARS: usize = 1000;
/// Longest wrap-up note (contract §9.1).
const MAX_NOTE_CHARS: usize = 2000;

/// Refuses text with control characters other than newline, carriage return and tab.
fn check_text(field: &str, text: &str, max_chars: usize, allow_empty: bool) -> AppResult<()> {
    let count = text.chars().count();
    if (!allow_empty && text.trim().is_empty()) || count > max_chars {
        let min = if allow_empty { 0 } else { 1 };
        return Err(AppError::bad_request(format!(
            "{field} must be {min} to {max_chars} characters"
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::bad_request(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

impl Session {
    fn me(&self) -> ActorRef {
        ActorRef {
            role: self.principal.role,
            id: self.principal.id.clone(),
            name: self.principal.name.clone(),
        }
    }

    fn person(&self) -> Person {
        Person {
            id: self.principal.id.clone(),
            name: self.principal.name.clone(),
        }
    }

    /// Runs one command; every outcome reaches the client through `reply`.
    pub(crate) fn dispatch(
        &mut self,
        frame: ClientFrame,
        reply: Reply,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        if let Err(err) = self.check_role(&frame) {
            return reply.err(&err);
        }
        let state = self.state.clone();
        let router = &state.router;
        match frame {
            ClientFrame::Ping => reply.frame(
                ServerFrame::Pong {
                    reference: reply.reference.clone(),
                }
                .encode(),
            ),
            ClientFrame::Send(cmd) => self.post(cmd, Visibility::All, reply, ctx),
            ClientFrame::Whisper(cmd) => self.post(cmd, Visibility::Internal, reply, ctx),
            ClientFrame::Monitor(cmd) => {
                self.supervise(cmd.chat_id, SuperviseAction::Monitor, reply, ctx)
            }
            ClientFrame::Unmonitor(cmd) => {
                self.supervise(cmd.chat_id, SuperviseAction::Unmonitor, reply, ctx)
            }
            ClientFrame::Join(cmd) => {
                self.supervise(cmd.chat_id, SuperviseAction::Join, reply, ctx)
            }
            ClientFrame::Leave(cmd) => {
                self.supervise(cmd.chat_id, SuperviseAction::Leave, reply, ctx)
            }
            ClientFrame::Rate(cmd) => {
                if !(1..=5).contains(&cmd.score) {
                    return reply.err(&AppError::bad_request("score must be 1 to 5"));
                }
                let comment = cmd.comment.filter(|c| !c.trim().is_empty());
                if let Some(c) = &comment
                    && let Err(err) = check_text("comment", c, MAX_COMMENT_CHARS, true)
                {
                    return reply.err(&err);
                }
                self.answer_from_archive(
                    archive::rate(state.clone(), self.me(), cmd.chat_id, cmd.score, comment),
                    reply,
                    ctx,
                );
            }
            ClientFrame::Typing(cmd) => match state.directory.get(&cmd.chat_id) {
                // Typing is a hint: when the chat is behind it is dropped.
                Some(chat) => {
                    let _ = chat.try_send(Typing {
                        from: self.me(),
                        reply,
                    });
                }
                None => self.answer_from_archive(
                    archive::refuse_ended(state.clone(), self.me(), cmd.chat_id),
                    reply,
                    ctx,
                ),
            },
            ClientFrame::Resume(cmd) => match state.directory.get(&cmd.chat_id) {
                Some(chat) => chat.do_send(Resume {
                    who: self.me(),
                    after_seq: cmd.after_seq,
                    reply,
                }),
                None => {
                    let replay = reply.clone();
                    self.answer_from_archive(
                        archive::resume(
                            state.clone(),
                            self.me(),
                            cmd.chat_id,
                            cmd.after_seq,
                            replay,
                        ),
                        reply,
                        ctx,
                    );
                }
            },
            ClientFrame::CloseChat(cmd) => router.do_send(CloseChat {
                who: self.me(),
                chat_id: cmd.chat_id,
                reply,
            }),
            ClientFrame::StartChat(cmd) => {
                let subject = cmd.subject.unwrap_or_default();
                // `not_found` comes before `bad_request` (§8.2): the router answers a bad
                // subject or call choice only once it knows the queue.
                let invalid = check_text("subject", &subject, MAX_SUBJECT_CHARS, true)
                    .err()
                    .or_else(|| {
                        check_call_choice(cmd.call_id.as_deref(), cmd.call_ref.as_deref()).err()
                    });
                let Ok(queue_id) = QueueId::parse(cmd.queue_id.as_str()) else {
                    return reply.err(&AppError::not_found(format!("queue {}", cmd.queue_id)));
                };
                router.do_send(StartChat {
                    user: self.person(),
                    queue_id,
                    subject: subject.trim().to_string(),
                    call_id: cmd.call_id,
                    skills: cmd.skills,
                    invalid,
                    call_ref: cmd.call_ref,
                    reply,
                });
            }
            ClientFrame::SetStatus(cmd) => {
                router.do_send(SetStatus {
                    analyst_id: AnalystId::from(self.principal.id.as_str()),
                    status: cmd.status,
                    when: cmd.when,
                    by: self.person(),
                    reply: Some(reply),
                });
            }
            ClientFrame::WrapUp(cmd) => {
                let note = cmd.note.filter(|n| !n.trim().is_empty());
                if let Some(n) = &note
                    && let Err(err) = check_text("note", n, MAX_NOTE_CHARS, true)
                {
                    return reply.err(&err);
                }
                router.do_send(WrapUp {
                    analyst: self.person(),
                    chat_id: cmd.chat_id,
                    code: cmd.code,
                    note,
                    reply,
                });
            }
            ClientFrame::Accept(cmd) => router.do_send(Accept {
                analyst_id: AnalystId::from(self.principal.id.as_str()),
                chat_id: cmd.chat_id,
                reply,
            }),
            ClientFrame::Decline(cmd) => router.do_send(Decline {
                analyst_id: AnalystId::from(self.principal.id.as_str()),
                chat_id: cmd.chat_id,
                reply,
            }),
            ClientFrame::Transfer(cmd) => router.do_send(Transfer {
                analyst_id: AnalystId::from(self.principal.id.as_str()),
                chat_id: cmd.chat_id,
                queue_id: cmd.queue_id,
                to_analyst: cmd.analyst_id,
                reply,
            }),
            ClientFrame::LinkCall(cmd) => match state.directory.get(&cmd.chat_id) {
                Some(chat) => chat.do_send(LinkCall {
                    who: self.me(),
                    call_id: cmd.call_id,
                    reply,
                }),
                None => self.answer_from_archive(
                    archive::link_ended(state.clone(), self.me(), cmd.chat_id, cmd.call_id),
                    reply,
                    ctx,
                ),
            },
        }
    }

    /// `send` or `whisper`: checked, then handed to the chat (an ended chat answers from the
    /// database).
    fn post(
        &mut self,
        cmd: SendCmd,
        visibility: Visibility,
        reply: Reply,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let state = self.state.clone();
        let limits = &state.settings.limits;
        // A message that carries files may have no text.
        let may_be_empty = !cmd.attachments.is_empty();
        if let Err(err) = check_text("body", &cmd.body, limits.max_body_chars, may_be_empty)
            .and_then(|()| match &cmd.client_msg_id {
                Some(id) => check_text("client_msg_id", id, MAX_CLIENT_MSG_ID_CHARS, false),
                None => Ok(()),
            })
        {
            return reply.err(&err);
        }
        match state.directory.get(&cmd.chat_id) {
            Some(chat) => {
                let post = PostMessage {
                    from: self.me(),
                    body: cmd.body,
                    client_msg_id: cmd.client_msg_id,
                    visibility,
                    attachments: cmd.attachments,
                    reply,
                };
                // A chat whose mailbox is full is behind: refuse rather than pile up.
                if let Err(SendError::Full(post)) = chat.try_send(post) {
                    let busy = AppError::new(
                        ErrorCode::RateLimited,
                        "this chat is busy: send again shortly",
                    );
                    post.reply.err(&busy);
                }
            }
            None => self.answer_from_archive(
                archive::refuse_ended(state.clone(), self.me(), cmd.chat_id),
                reply,
                ctx,
            ),
        }
    }

    /// `monitor`, `unmonitor`, `join`, `leave`: the chat actor checks who may; an ended chat is
    /// `conflict` for those who could have, `not_found` for everyone else.
    fn supervise(
        &mut self,
        chat_id: ChatId,
        action: SuperviseAction,
        reply: Reply,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        match self.state.directory.get(&chat_id) {
            Some(chat) => chat.do_send(Supervise {
                who: self.me(),
                action,
                reply,
            }),
            None => self.answer_from_archive(
                archive::refuse_supervise_ended(self.state.clone(), self.me(), chat_id),
                reply,
                ctx,
            ),
        }
    }

    /// Which commands each role may send.
    fn check_role(&self, frame: &ClientFrame) -> AppResult<()> {
        let staff_only = matches!(
            frame,
            ClientFrame::SetStatus(_)
                | ClientFrame::WrapUp(_)
                | ClientFrame::Accept(_)
                | ClientFrame::Decline(_)
                | ClientFrame::LinkCall(_)
                | ClientFrame::Transfer(_)
                | ClientFrame::Monitor(_)
                | ClientFrame::Unmonitor(_)
                | ClientFrame::Whisper(_)
                | ClientFrame::Join(_)
                | ClientFrame::Leave(_)
        );
        let allowed = match self.principal.role {
            // Admins supervise (and, once joined, take part); they take no chats.
            Role::Admin => matches!(
                frame,
                ClientFrame::Ping
                    | ClientFrame::Send(_)
                    | ClientFrame::Typing(_)
                    | ClientFrame::Resume(_)
                    | ClientFrame::Monitor(_)
                    | ClientFrame::Unmonitor(_)
                    | ClientFrame::Whisper(_)
                    | ClientFrame::Join(_)
                    | ClientFrame::Leave(_)
            ),
            // Refused on `/ws` before the upgrade; nothing if one ever got here.
            Role::Service => false,
            Role::User => !staff_only,
            Role::Analyst | Role::Manager => {
                !matches!(frame, ClientFrame::StartChat(_) | ClientFrame::Rate(_))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::new(
                ErrorCode::Forbidden,
                format!(
                    "{} is not a command for {}",
                    frame.kind(),
                    self.principal.role
                ),
            ))
        }
    }

    /// Answers a command from the database once its future resolves.
    fn answer_from_archive<F, T>(&self, work: F, reply: Reply, ctx: &mut ws::WebsocketContext<Self>)
    where
        F: std::future::Future<Output = AppResult<T>> + 'static,
        T: Into<OkResult> + 'static,
    {
        ctx.spawn(
            work.into_actor(self)
                .map(move |result, _, _| reply.answer(result)),
        );
    }
}

/// `start_chat` names at most one of `call_id` and `call_ref`, and a `call_ref` has the ticket id
/// syntax (contract §10.2).
fn check_call_choice(call_id: Option<&str>, call_ref: Option<&str>) -> AppResult<()> {
    match (call_id, call_ref) {
        (Some(_), Some(_)) => Err(AppError::bad_request(
            "call_id and call_ref may not be given together",
        )),
        (_, Some(call_ref)) => crate::ticket::check_ref("call_ref", call_ref),
        _ => Ok(()),
    }
}
