//! A session's outbound bound, the one every path to a WebSocket goes through: events from the
//! hub, answers to commands and replayed messages are counted here, in frames and in bytes, from
//! the moment they are queued until the session hands them to its socket. A live frame that finds
//! the bound full marks the session too slow and resets its connection at once (`SocketAbort`);
//! the session still counts toward its principal's connections until the socket has closed.
//! Replays (`resume`) take only half the bound and wait for room instead (`room`), so a long
//! resume neither grows memory nor crowds out live frames. One replay per chat and session at a
//! time (`begin_replay`). And a watchdog beside the session (`watch`): a session runs only while
//! its socket takes writes, so one whose heartbeat has not ticked for `ws.client_timeout_secs`
//! is frozen behind a client that stopped reading, and its connection is reset.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::{Message, Recipient};
use bytestring::ByteString;
use tokio::sync::Notify;

use super::socket::SocketAbort;
use crate::routing::ChatId;

/// A WebSocket session's id, unique for the process.
pub type SessionId = u64;

/// One outbound text frame for a session, counted in its outbox until the session writes it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Deliver(pub ByteString);

/// What a session may hold queued.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub frames: usize,
    pub bytes: usize,
}

/// The frames and bytes queued for one session.
#[derive(Debug)]
pub struct Outbox {
    session: SessionId,
    bound: Bound,
    frames: AtomicUsize,
    bytes: AtomicUsize,
    /// Set once the session is too slow or gone: nothing more is queued.
    closed: AtomicBool,
    /// Woken when a replay may go on (room freed, or the outbox closed).
    room: Notify,
    /// Whether a replay waits on `room` (so `sent` wakes nobody in the common case); each
    /// release while it is set wakes the waiters, which check again whether their frame fits.
    wanted: AtomicBool,
    socket: SocketAbort,
    /// When the outbox was made, and the session's last heartbeat tick since then, in ms.
    born: Instant,
    ticked_ms: AtomicU64,
    /// The chats being replayed to this session.
    replaying: Mutex<HashSet<ChatId>>,
}

impl Outbox {
    pub fn new(session: SessionId, bound: Bound, socket: SocketAbort) -> Arc<Self> {
        Arc::new(Outbox {
            session,
            bound,
            frames: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            room: Notify::new(),
            wanted: AtomicBool::new(false),
            socket,
            born: Instant::now(),
            ticked_ms: AtomicU64::new(0),
            replaying: Mutex::new(HashSet::new()),
        })
    }

    /// The session's heartbeat ran: it is not frozen.
    pub fn tick(&self) {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.ticked_ms.store(now, Ordering::Release);
    }

    /// Watches the session from beside it, every `every`, until it stops: when its heartbeat has
    /// not ticked for `frozen`, its socket stopped taking writes that long, and it is reset.
    pub async fn watch(self: Arc<Self>, every: Duration, frozen: Duration) {
        loop {
            tokio::time::sleep(every).await;
            if self.is_closed() {
                return;
            }
            let ticked = Duration::from_millis(self.ticked_ms.load(Ordering::Acquire));
            if self.born.elapsed().saturating_sub(ticked) > frozen {
                self.drop_slow("its socket took no writes for ws.client_timeout_secs");
                return;
            }
        }
    }

    /// Frames and bytes queued now.
    pub fn queued(&self) -> (usize, usize) {
        (
            self.frames.load(Ordering::Acquire),
            self.bytes.load(Ordering::Acquire),
        )
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Counts a frame of `len` bytes in if it fits under `bound` (a lone frame always fits, so
    /// one large transcript never counts as slowness); false, with nothing counted, otherwise.
    fn admit(&self, len: usize, bound: Bound) -> bool {
        if self.is_closed() {
            return false;
        }
        let frames = self.frames.fetch_add(1, Ordering::AcqRel) + 1;
        let bytes = self.bytes.fetch_add(len, Ordering::AcqRel) + len;
        if frames == 1 || (frames <= bound.frames && bytes <= bound.bytes) {
            return true;
        }
        self.release(len);
        false
    }

    fn release(&self, len: usize) {
        self.frames.fetch_sub(1, Ordering::AcqRel);
        self.bytes.fetch_sub(len, Ordering::AcqRel);
        if self.wanted.load(Ordering::Acquire) && self.wanted.swap(false, Ordering::AcqRel) {
            self.room.notify_waiters();
        }
    }

    /// A live frame: admitted under the whole bound, or the session is dropped as too slow.
    fn admit_live(&self, len: usize) -> bool {
        if self.admit(len, self.bound) {
            return true;
        }
        self.drop_slow("its outbound bound is full");
        false
    }

    /// Closes the outbox and resets the connection of a session whose client stopped reading.
    fn drop_slow(&self, why: &str) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let (frames, bytes) = self.queued();
            tracing::warn!(
                session = self.session,
                frames,
                bytes,
                why,
                "dropping a session that stopped reading: its connection is reset"
            );
            crate::metrics::slow_session_dropped();
            self.socket.abort();
            self.room.notify_waiters();
        }
    }

    /// The part of the bound a replay may use.
    fn paced(&self) -> Bound {
        Bound {
            frames: self.bound.frames / 2,
            bytes: self.bound.bytes / 2,
        }
    }

    /// A replayed frame: admitted under half the bound, else refused (the caller waits for room).
    fn admit_paced(&self, len: usize) -> bool {
        self.admit(len, self.paced())
    }

    /// The session has handed a frame of `len` bytes to its socket.
    pub fn sent(&self, len: usize) {
        self.release(len);
    }

    /// Waits until a replayed frame of `len` bytes fits (`admit_paced`), or the outbox closed.
    pub async fn room(&self, len: usize) {
        let paced = self.paced();
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.wanted.store(true, Ordering::Release);
            let (frames, bytes) = self.queued();
            if self.is_closed()
                || frames == 0
                || (frames < paced.frames && bytes + len <= paced.bytes)
            {
                return;
            }
            notified.await;
        }
    }

    /// The session has stopped: nothing more is queued, and waiting replays give up.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.room.notify_waiters();
    }

    /// Starts a replay of `chat` to this session; `None` while one is already running.
    pub fn begin_replay(self: &Arc<Self>, chat: ChatId) -> Option<ReplayGuard> {
        let mut replaying = self.replaying.lock().unwrap_or_else(|e| e.into_inner());
        replaying.insert(chat).then(|| ReplayGuard {
            outbox: self.clone(),
            chat,
        })
    }
}

/// A replay in progress; dropping it ends it.
#[derive(Debug)]
pub struct ReplayGuard {
    outbox: Arc<Outbox>,
    chat: ChatId,
}

impl Drop for ReplayGuard {
    fn drop(&mut self) {
        let mut replaying = self
            .outbox
            .replaying
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        replaying.remove(&self.chat);
    }
}

/// The way to one session's socket: its mailbox, behind its outbox.
#[derive(Debug, Clone)]
pub struct SessionLink {
    to: Recipient<Deliver>,
    outbox: Arc<Outbox>,
}

impl SessionLink {
    pub fn new(to: Recipient<Deliver>, outbox: Arc<Outbox>) -> Self {
        SessionLink { to, outbox }
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Queues a live frame (an event or an answer); a session past its bound is dropped.
    pub fn push(&self, frame: ByteString) {
        if self.outbox.admit_live(frame.len()) {
            self.to.do_send(Deliver(frame));
        }
    }

    /// Queues a replayed frame if there is room for it; false means wait (`Outbox::room`) and
    /// try again, or give up once the outbox is closed.
    pub fn push_paced(&self, frame: &ByteString) -> bool {
        if self.outbox.admit_paced(frame.len()) {
            self.to.do_send(Deliver(frame.clone()));
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn outbox(frames: usize, bytes: usize) -> Arc<Outbox> {
        Outbox::new(1, Bound { frames, bytes }, SocketAbort::default())
    }

    #[derive(Debug, Clone)]
    enum Op {
        Live(usize),
        Paced(usize),
        Sent,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1usize..40_000).prop_map(Op::Live),
            (1usize..40_000).prop_map(Op::Paced),
            Just(Op::Sent),
        ]
    }

    proptest! {
        /// Whatever mix of live frames, replayed frames and writes: the queue never holds more
        /// than the bound (or one lone frame), replays never pass half of it, and once a live
        /// frame overflows the outbox is closed and admits nothing more.
        #[test]
        fn the_queue_never_passes_its_bound(ops in proptest::collection::vec(op(), 1..400)) {
            let max = Bound { frames: 64, bytes: 256 * 1024 };
            let o = outbox(max.frames, max.bytes);
            let mut queued: std::collections::VecDeque<usize> = Default::default();
            for op in ops {
                match op {
                    Op::Live(len) => {
                        let was_closed = o.is_closed();
                        if o.admit_live(len) {
                            prop_assert!(!was_closed);
                            queued.push_back(len);
                        }
                    }
                    Op::Paced(len) => {
                        if o.admit_paced(len) {
                            prop_assert!(!o.is_closed());
                            let (frames, bytes) = o.queued();
                            prop_assert!(frames == 1 || (frames <= max.frames / 2 && bytes <= max.bytes / 2));
                            queued.push_back(len);
                        }
                    }
                    Op::Sent => {
                        if let Some(len) = queued.pop_front() {
                            o.sent(len);
                        }
                    }
                }
                let (frames, bytes) = o.queued();
                prop_assert_eq!(frames, queued.len());
                prop_assert_eq!(bytes, queued.iter().sum::<usize>());
                prop_assert!(frames <= max.frames);
                prop_assert!(frames <= 1 || bytes <= max.bytes);
            }
        }
    }

    #[test]
    fn a_second_replay_of_a_chat_waits_for_the_first() {
        let o = outbox(8, 1024);
        let chat = crate::domain::ChatId::new();
        let first = o.begin_replay(chat);
        assert!(first.is_some());
        assert!(o.begin_replay(chat).is_none());
        assert!(o.begin_replay(crate::domain::ChatId::new()).is_some());
        drop(first);
        assert!(o.begin_replay(chat).is_some());
    }
}
