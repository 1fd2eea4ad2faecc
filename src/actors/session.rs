//! One actor per WebSocket: the connection's mechanics. It registers the principal's session in
//! the hub, sends `hello` before anything else, keeps the heartbeat, enforces the frame size and
//! the per-connection rate limit, decodes each text frame once and hands the command to
//! `commands`, and writes every frame other actors deliver to it. actix-web-actors stays confined
//! to this file and the `/ws` route.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::web;
use actix_web_actors::ws;

use super::hub::{Reply, SessionHandle, Shutdown, Who};
use super::outbox::{Deliver, Outbox, SessionId, SessionLink};
use super::queue_views::queue_views;
use super::router::{Connect, Disconnect, Hello};
use crate::auth::Principal;
use crate::domain::Role;
use crate::error::{AppError, ErrorCode};
use crate::protocol::{self, AnalystHello, Person, ServerFrame, StaffHello};
use crate::state::AppState;
use crate::store;

/// A token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug)]
struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
    /// Commands refused in a row; past `2 × burst` the connection is closed (1008).
    strikes: u32,
}

impl RateLimit {
    fn new(rate: u32, burst: u32) -> Self {
        RateLimit {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            at: Instant::now(),
            strikes: 0,
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.strikes = 0;
            true
        } else {
            self.strikes += 1;
            false
        }
    }

    fn abused(&self) -> bool {
        f64::from(self.strikes) > 2.0 * self.burst
    }
}

pub struct Session {
    pub(crate) id: SessionId,
    pub(crate) principal: Principal,
    pub(crate) who: Who,
    pub(crate) state: web::Data<AppState>,
    last_heard: Instant,
    limit: RateLimit,
    /// Every frame queued for this socket is counted here; closed once the client is too slow.
    outbox: Arc<Outbox>,
    /// `ws{request_id, session, role, principal}`: entered while this session's code runs.
    span: tracing::Span,
}

impl Session {
    pub fn new(
        id: SessionId,
        principal: Principal,
        state: web::Data<AppState>,
        outbox: Arc<Outbox>,
    ) -> Self {
        let who = Who::of(&principal);
        let limits = &state.settings.limits;
        let limit = RateLimit::new(limits.msgs_per_sec, limits.msgs_burst);
        let span = tracing::info_span!(
            "ws",
            request_id = %crate::telemetry::new_request_id(),
            session = id,
            role = %principal.role,
            principal = %principal.id,
        );
        Session {
            span,
            id,
            principal,
            who,
            state,
            last_heard: Instant::now(),
            limit,
            outbox,
        }
    }

    /// Where the answer to a command with `reference` goes.
    pub(crate) fn reply(
        &self,
        ctx: &mut ws::WebsocketContext<Self>,
        reference: Option<String>,
    ) -> Reply {
        Reply {
            link: self.link(ctx),
            session_id: self.id,
            reference,
        }
    }

    /// The way other actors queue frames for this session.
    fn link(&self, ctx: &mut ws::WebsocketContext<Self>) -> SessionLink {
        SessionLink::new(ctx.address().recipient(), self.outbox.clone())
    }

    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        let settings = &self.state.settings.ws;
        let timeout = Duration::from_secs(settings.client_timeout_secs);
        let every = Duration::from_secs(settings.heartbeat_secs);
        self.outbox.tick();
        actix::spawn(self.outbox.clone().watch(every, timeout));
        ctx.run_interval(every, move |act, ctx| {
            act.outbox.tick();
            if act.outbox.is_closed() {
                Self::refuse(ctx, ws::CloseCode::Policy, "too slow: frames were not read");
            } else if act.last_heard.elapsed() > timeout {
                tracing::info!(session = act.id, "closing a silent connection");
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Away,
                    description: Some("heartbeat timeout".into()),
                }));
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
    }

    /// The first frame: who the client is, their open chats, and for analysts their queues, then
    /// one `chat_queued` per chat waiting in those queues.
    async fn hello(
        state: web::Data<AppState>,
        principal: Principal,
        hello: Hello,
    ) -> Result<Vec<bytestring::ByteString>, AppError> {
        if principal.role == Role::User {
            let user = Person {
                id: principal.id,
                name: principal.name,
            };
            // The user's last seq is the last message they can see (no whisper, §9.3).
            let mut chats = hello.chats;
            let ids: Vec<String> = chats.iter().map(|c| c.chat_id.to_string()).collect();
            let visible = store::messages::last_visible_seqs(&state.db, &ids).await?;
            for chat in &mut chats {
                let seq = visible.get(&chat.chat_id.to_string()).copied().unwrap_or(0);
                chat.last_seq = chat.last_seq.min(seq);
            }
            let hello = ServerFrame::Hello(protocol::Hello::User { user, chats });
            return Ok(vec![hello.encode()]);
        }
        let (status, capacity) = hello
            .status
            .unwrap_or((crate::domain::AnalystStatus::Offline, 0));
        let queues = store::queues::list_for_analyst(&state.db, &principal.id).await?;
        let queues = queue_views(&state, queues).await?;
        let monitoring = match principal.role {
            Role::Manager | Role::Admin => store::supervisors::monitoring(&state.db, &principal.id)
                .await?
                .iter()
                .filter_map(|id| crate::domain::ChatId::parse(id).ok())
                .collect(),
            Role::Analyst | Role::User | Role::Service => Vec::new(),
        };
        let staff = StaffHello {
            analyst: AnalystHello {
                id: principal.id,
                name: principal.name,
                status,
                capacity,
                pending_status: hello.pending_status,
            },
            queues,
            chats: hello.chats,
            monitoring,
            wrap_ups: hello.wrap_ups,
        };
        let hello_frame = match principal.role {
            Role::Manager => protocol::Hello::Manager(staff),
            // A service token never gets a session (refused on `/ws`).
            Role::Admin | Role::Service => protocol::Hello::Admin(staff),
            Role::Analyst | Role::User => protocol::Hello::Analyst(staff),
        };
        let mut frames = vec![ServerFrame::Hello(hello_frame).encode()];
        frames.extend(
            hello
                .waiting
                .into_iter()
                .map(|chat| ServerFrame::ChatQueued { chat }.encode()),
        );
        Ok(frames)
    }

    fn refuse(ctx: &mut ws::WebsocketContext<Self>, code: ws::CloseCode, why: &str) {
        ctx.close(Some(ws::CloseReason {
            code,
            description: Some(why.into()),
        }));
        ctx.stop();
    }
}

impl Actor for Session {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let _span = self.span.clone().entered();
        tracing::info!("websocket session started");
        crate::metrics::connection(self.principal.role.as_str(), 1);
        let handle = SessionHandle {
            id: self.id,
            link: self.link(ctx),
            close: ctx.address().recipient(),
        };
        self.state.hub.register(self.who.clone(), handle);
        self.heartbeat(ctx);
        let state = self.state.clone();
        let principal = self.principal.clone();
        let connect = self.state.router.send(Connect {
            who: self.who.clone(),
        });
        // Nothing else is handled until hello is out: events wait in the mailbox behind it.
        ctx.wait(
            async move {
                let hello = connect
                    .await
                    .map_err(|_| AppError::new(ErrorCode::Unavailable, "router unavailable"))??;
                Self::hello(state, principal, hello).await
            }
            .into_actor(self)
            .map(|frames, _, ctx| match frames {
                Ok(frames) => frames.into_iter().for_each(|f| ctx.text(f)),
                Err(err) => {
                    ctx.text(protocol::error_frame(None, &err));
                    Self::refuse(ctx, ws::CloseCode::Policy, &err.message);
                }
            }),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let _span = self.span.clone().entered();
        tracing::info!("websocket session ended");
        crate::metrics::connection(self.principal.role.as_str(), -1);
        self.outbox.close();
        self.state.hub.unregister(&self.who, self.id);
        self.state.router.do_send(Disconnect {
            who: self.who.clone(),
        });
    }
}

impl Handler<Deliver> for Session {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Self::Context) {
        let len = msg.0.len();
        if self.outbox.is_closed() {
            self.outbox.sent(len);
            return Self::refuse(ctx, ws::CloseCode::Policy, "too slow: frames were not read");
        }
        ctx.text(msg.0);
        self.outbox.sent(len);
    }
}

impl Handler<Shutdown> for Session {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        Self::refuse(ctx, ws::CloseCode::Restart, "the server is restarting");
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let _span = self.span.clone().entered();
        self.last_heard = Instant::now();
        let msg = match msg {
            Ok(msg) => msg,
            Err(ws::ProtocolError::Overflow) => {
                return Self::refuse(
                    ctx,
                    ws::CloseCode::Size,
                    "frame larger than limits.max_frame_bytes",
                );
            }
            Err(err) => {
                tracing::debug!(session = self.id, error = %err, "websocket protocol error");
                return Self::refuse(ctx, ws::CloseCode::Protocol, "protocol error");
            }
        };
        match msg {
            ws::Message::Text(text) => {
                if !self.limit.allow() {
                    if self.limit.abused() {
                        return Self::refuse(ctx, ws::CloseCode::Policy, "rate limit exceeded");
                    }
                    let err = AppError::new(ErrorCode::RateLimited, "too many commands: slow down");
                    let (reference, _) = protocol::decode(&text);
                    return ctx.text(protocol::error_frame(reference.as_deref(), &err));
                }
                let (reference, frame) = protocol::decode(&text);
                match frame {
                    Ok(frame) => {
                        tracing::debug!(command = frame.kind(), "command");
                        let reply = self.reply(ctx, reference);
                        self.dispatch(frame, reply, ctx);
                    }
                    Err(err) => {
                        tracing::debug!(error = %err.message, "refused a frame");
                        ctx.text(protocol::error_frame(reference.as_deref(), &err));
                    }
                }
            }
            ws::Message::Binary(_) => {
                let err = AppError::bad_request("binary frames are not supported: send JSON text");
                ctx.text(protocol::error_frame(None, &err));
            }
            ws::Message::Ping(bytes) => ctx.pong(&bytes),
            ws::Message::Pong(_) | ws::Message::Nop => {}
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            ws::Message::Continuation(_) => {
                Self::refuse(
                    ctx,
                    ws::CloseCode::Unsupported,
                    "fragmented frames are not supported",
                );
            }
        }
    }
}
