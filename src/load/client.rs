//! One simulated participant: a WebSocket connection owned by one local task on the harness's
//! single thread (no thread per client). It follows the run's phases, sends on its own open-loop
//! schedule, and records what it sees into the shared stats. Timestamps travel on the wire, so no
//! client keeps a table of in-flight messages: a send's `ref` and `client_msg_id` carry the time
//! it was scheduled (µs since the run started), and a chat's `subject` the time it was started.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_codec::Framed;
use awc::ws::{Codec, Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::args::LoadRouting;
use super::estimate::Sample;
use super::stats::SharedStats;

pub type Socket = Framed<awc::BoxedSocket, Codec>;

/// Where the run is; every client follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Connect,
    Start,
    Converse,
    /// Sending stops; replies still come in.
    Drain,
    Close,
    Done,
}

/// What every client shares.
pub struct Shared {
    pub stats: SharedStats,
    pub http: awc::Client,
    /// The nodes' WebSocket endpoints (`--url`, each), taken in turn.
    pub ws_urls: Vec<String>,
    /// The next of `ws_urls` to connect to.
    pub next_node: Cell<usize>,
    pub queue: String,
    pub routing: LoadRouting,
    /// Time between two messages of one side of one chat; `None` when not conversing.
    pub per_side_period: Option<Duration>,
    pub body: String,
    pub phase: watch::Receiver<Phase>,
    /// Bounds handshakes in flight.
    pub connecting: tokio::sync::Semaphore,
    /// The gap between two users' starts (`None`: all at once).
    pub start_pace: Option<Duration>,
    /// Users that have taken their turn to start.
    pub starts_taken: Cell<u32>,
    /// `--handle-time`: analysts close each chat this long after it was assigned.
    pub handle_time: Option<Duration>,
    /// `--skills`: users ask 1–2 of the queue's skills.
    pub skills: bool,
}

impl Shared {
    /// The endpoint for the next connection: the nodes round-robin (contract §11).
    pub fn next_ws_url(&self) -> &str {
        let n = self.next_node.get();
        self.next_node.set(n.wrapping_add(1));
        match self.ws_urls.len() {
            0 => "",
            len => &self.ws_urls[n % len],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Analyst,
}

/// The fields of a server frame that the harness reads; the rest is skipped.
#[derive(Deserialize)]
pub struct In {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
    code: Option<String>,
    chat_id: Option<String>,
    client_msg_id: Option<String>,
    chat: Option<ChatIn>,
    estimated_wait_secs: Option<u64>,
}

#[derive(Deserialize)]
struct ChatIn {
    chat_id: String,
    subject: Option<String>,
}

/// A simulated user or analyst, connected.
pub struct Client {
    kind: Kind,
    shared: Rc<Shared>,
    socket: Socket,
    /// Open chats (a user has at most one).
    chats: Vec<String>,
    /// Round-robin position over `chats`.
    next_chat: usize,
    /// Messages sent, for unique `client_msg_id`s.
    sent: u64,
    ticker: Option<Interval>,
    phase: Phase,
    /// A user's first estimate: (seconds, when it came in µs since the run started, chats
    /// served by then); taken once the chat is accepted.
    first_estimate: Option<(u64, u64, u64)>,
    /// When a user starts its chat (in the start phase).
    start_due: Option<Instant>,
    /// An analyst's chats to close (`--handle-time`), soonest first.
    closes: std::collections::VecDeque<(Instant, String)>,
}

impl Client {
    pub fn new(kind: Kind, shared: Rc<Shared>, socket: Socket) -> Self {
        Client {
            kind,
            shared,
            socket,
            chats: Vec::new(),
            next_chat: 0,
            sent: 0,
            ticker: None,
            phase: Phase::Connect,
            first_estimate: None,
            start_due: None,
            closes: std::collections::VecDeque::new(),
        }
    }

    /// Follows the phases until `Done` or until the server closes the connection.
    pub async fn run(mut self) {
        let mut phase = self.shared.phase.clone();
        if self.kind == Kind::Analyst {
            self.command(r#"{"type":"set_status","status":"available","ref":"v"}"#.into())
                .await;
        }
        let current = *phase.borrow_and_update();
        self.enter(current).await;
        loop {
            let close_due = self.closes.front().map(|(at, _)| *at);
            let start_due = self.start_due;
            tokio::select! {
                () = until(close_due) => self.close_due().await,
                () = until(start_due) => self.start_chat().await,
                frame = self.socket.next() => match frame {
                    Some(Ok(Frame::Text(bytes))) => self.on_text(&bytes).await,
                    Some(Ok(Frame::Ping(bytes))) => self.write(Message::Pong(bytes)).await,
                    Some(Ok(Frame::Close(_))) | None => {
                        self.lost("closed_by_server");
                        return;
                    }
                    Some(Err(_)) => {
                        self.lost("protocol_error");
                        return;
                    }
                    Some(Ok(_)) => {}
                },
                at = tick(&mut self.ticker) => self.send_message(at).await,
                changed = phase.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let next = *phase.borrow_and_update();
                    if next == Phase::Done {
                        break;
                    }
                    self.enter(next).await;
                }
            }
        }
        let _ = self.socket.send(Message::Close(None)).await;
        self.shared.stats.borrow_mut().disconnected();
    }

    fn lost(&self, code: &str) {
        let mut stats = self.shared.stats.borrow_mut();
        stats.disconnected();
        if self.phase < Phase::Close {
            stats.error(code);
        }
    }

    async fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        match phase {
            Phase::Start if self.kind == Kind::User => {
                // Its turn comes later with --start-rate: the socket is read meanwhile (a
                // client asleep here would answer no ping and be dropped as silent).
                let wait = match self.shared.start_pace {
                    Some(gap) => {
                        let turn = self.shared.starts_taken.get();
                        self.shared.starts_taken.set(turn + 1);
                        gap * turn
                    }
                    None => Duration::ZERO,
                };
                self.start_due = Some(Instant::now() + wait);
            }
            Phase::Converse => self.reschedule(),
            Phase::Drain => self.ticker = None,
            Phase::Close => {
                self.ticker = None;
                if self.kind == Kind::User {
                    for chat in std::mem::take(&mut self.chats) {
                        let frame =
                            format!(r#"{{"type":"close_chat","ref":"x","chat_id":"{chat}"}}"#);
                        self.command(frame).await;
                    }
                }
            }
            _ => {}
        }
    }

    /// The user's turn to start its chat has come.
    async fn start_chat(&mut self) {
        self.start_due = None;
        let at = self.shared.stats.borrow().now_us();
        self.shared.stats.borrow_mut().chats_started += 1;
        let skills = if self.shared.skills {
            format!(r#","skills":{}"#, super::provision::user_skills())
        } else {
            String::new()
        };
        let frame = format!(
            r#"{{"type":"start_chat","ref":"c","queue_id":"{}","subject":"t{at}"{skills}}}"#,
            self.shared.queue
        );
        self.command(frame).await;
    }

    /// Sets the send schedule for the chats held now: one side of one chat every period.
    fn reschedule(&mut self) {
        let period = match self.shared.per_side_period {
            Some(period) if self.phase == Phase::Converse && !self.chats.is_empty() => period,
            _ => {
                self.ticker = None;
                return;
            }
        };
        let period = period / u32::try_from(self.chats.len()).unwrap_or(u32::MAX);
        let period = period.max(Duration::from_micros(1));
        // Spread first sends over one period so the clients do not send in lockstep.
        let offset = period.mul_f64(rand::random::<f64>());
        let mut ticker = tokio::time::interval_at(Instant::now() + offset, period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
        self.ticker = Some(ticker);
    }

    async fn send_message(&mut self, scheduled: Instant) {
        if self.chats.is_empty() {
            return;
        }
        let chat = &self.chats[self.next_chat % self.chats.len()];
        self.next_chat = self.next_chat.wrapping_add(1);
        self.sent += 1;
        let at = {
            let mut stats = self.shared.stats.borrow_mut();
            stats.messages_sent += 1;
            let since = scheduled.into_std().saturating_duration_since(stats.t0);
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        };
        let frame = format!(
            r#"{{"type":"send","ref":"s{at}","chat_id":"{chat}","body":"{}","client_msg_id":"{at}.{}"}}"#,
            self.shared.body, self.sent
        );
        self.write(Message::Text(frame.into())).await;
    }

    async fn command(&mut self, frame: String) {
        self.shared.stats.borrow_mut().commands_sent += 1;
        self.write(Message::Text(frame.into())).await;
    }

    async fn write(&mut self, message: Message) {
        if self.socket.send(message).await.is_err() {
            self.shared.stats.borrow_mut().error("write_failed");
        }
    }

    async fn on_text(&mut self, bytes: &[u8]) {
        let Ok(frame) = serde_json::from_slice::<In>(bytes) else {
            self.shared.stats.borrow_mut().error("unreadable_frame");
            return;
        };
        let now = self.shared.stats.borrow().now_us();
        let since = |stamp: Option<&str>| {
            stamp
                .and_then(|s| s.parse::<u64>().ok())
                .map(|t| now.saturating_sub(t))
        };
        let reference = frame.reference.as_deref().unwrap_or("");
        match frame.kind.as_str() {
            "ok" => match reference.split_at(reference.len().min(1)) {
                ("s", stamp) => {
                    if let Some(took) = since(Some(stamp)) {
                        self.shared.stats.borrow_mut().acked(took);
                    }
                }
                ("c", _) => {
                    if let Some(chat) = frame.chat_id {
                        self.chats.push(chat);
                        self.reschedule();
                    }
                    self.estimated(frame.estimated_wait_secs, now);
                }
                ("v", _) => self.shared.stats.borrow_mut().analysts_ready += 1,
                ("x", _) => self.shared.stats.borrow_mut().chats_closed += 1,
                ("h", _) => {
                    let mut stats = self.shared.stats.borrow_mut();
                    stats.chats_closed += 1;
                    stats.chats_served += 1;
                }
                ("a", _) => {
                    if let Some(chat) = frame.chat {
                        self.assigned(chat, now);
                    }
                }
                _ => {}
            },
            "error" => {
                let mut stats = self.shared.stats.borrow_mut();
                stats.error(frame.code.as_deref().unwrap_or("unknown"));
                if reference.starts_with('s') {
                    stats.messages_failed += 1;
                }
            }
            "message" => {
                let stamp = frame
                    .client_msg_id
                    .as_deref()
                    .and_then(|id| id.split('.').next());
                if let Some(took) = since(stamp) {
                    self.shared.stats.borrow_mut().delivered(took);
                }
            }
            "queue_position" if self.kind == Kind::User => {
                self.estimated(frame.estimated_wait_secs, now);
            }
            "chat_accepted" if self.kind == Kind::User => {
                if let Some((estimate_secs, at, served_before)) = self.first_estimate.take() {
                    let waited_secs = now.saturating_sub(at) as f64 / 1e6;
                    self.shared.stats.borrow_mut().estimates.push(Sample {
                        estimate_secs,
                        waited_secs,
                        served_before,
                    });
                }
            }
            "chat_assigned" if self.kind == Kind::Analyst => {
                if let Some(chat) = frame.chat {
                    self.assigned(chat, now);
                }
            }
            "chat_offered"
                if self.kind == Kind::Analyst && self.shared.routing == LoadRouting::Offer =>
            {
                if let Some(chat) = frame.chat {
                    let frame = format!(
                        r#"{{"type":"accept","ref":"a","chat_id":"{}"}}"#,
                        chat.chat_id
                    );
                    self.command(frame).await;
                }
            }
            "chat_closed" => {
                if let Some(chat) = frame.chat_id {
                    self.chats.retain(|c| *c != chat);
                    self.reschedule();
                }
            }
            _ => {}
        }
    }

    /// A chat is now this analyst's: `assign` runs from its start (stamped in its subject).
    fn assigned(&mut self, chat: ChatIn, now: u64) {
        let started = chat
            .subject
            .as_deref()
            .and_then(|s| s.strip_prefix('t'))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(started) = started {
            self.shared
                .stats
                .borrow_mut()
                .routed(now.saturating_sub(started));
        }
        if let Some(handle) = self.shared.handle_time {
            self.closes
                .push_back((Instant::now() + handle, chat.chat_id.clone()));
        }
        self.chats.push(chat.chat_id);
        self.reschedule();
    }

    /// A user's estimate: kept when it is the first one (`--handle-time` runs only).
    fn estimated(&mut self, estimate: Option<u64>, now: u64) {
        if self.shared.handle_time.is_none() || self.first_estimate.is_some() {
            return;
        }
        if let Some(secs) = estimate {
            let served = self.shared.stats.borrow().chats_served;
            self.first_estimate = Some((secs, now, served));
        }
    }

    /// Closes the analyst's chat whose handle time is up.
    async fn close_due(&mut self) {
        if let Some((_, chat)) = self.closes.pop_front() {
            let frame = format!(r#"{{"type":"close_chat","ref":"h","chat_id":"{chat}"}}"#);
            self.command(frame).await;
        }
    }
}

/// Waits until `at`; never, without one.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next tick of an optional schedule; never, without one.
async fn tick(ticker: &mut Option<Interval>) -> Instant {
    match ticker {
        Some(ticker) => ticker.tick().await,
        None => std::future::pending().await,
    }
}
