//! The hub: which WebSocket sessions each principal has open, so that every session of a
//! principal receives that principal's events; the in-process implementation of the delivery
//! seam (`Delivery`). Senders never wait on a session: frames are serialized once, shared, and
//! queued through each session's outbox (`outbox.rs`), which drops a session that stopped
//! reading once its bound is full. Also the `Reply` handle a command carries so that the actor
//! that completes it can answer the session that sent it, in order with its events.

use std::collections::HashMap;
use std::sync::RwLock;

use actix::{Message, Recipient};
use bytestring::ByteString;

pub use super::delivery::{Delivery, Who};
pub use super::outbox::{Deliver, SessionId, SessionLink};
use crate::error::AppError;
use crate::protocol::{OkResult, ServerFrame};

/// The engine is stopping: the session closes with 1012 (service restart).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// One open session: its id, the way to its socket, and how to close it.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub id: SessionId,
    pub link: SessionLink,
    pub close: Recipient<Shutdown>,
}

/// Open sessions by principal. A session stays listed (and counted) until its socket has closed,
/// also after it was dropped for not reading.
#[derive(Debug, Default)]
pub struct Hub {
    sessions: RwLock<HashMap<Who, Vec<SessionHandle>>>,
}

impl Hub {
    /// Adds a session; returns how many the principal now has.
    pub fn register(&self, who: Who, session: SessionHandle) -> usize {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(who).or_default();
        list.push(session);
        list.len()
    }

    /// Tells every session to close (graceful stop).
    pub fn close_all(&self) {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        for session in map.values().flatten() {
            session.close.do_send(Shutdown);
        }
    }

    /// Removes a session; returns how many the principal still has.
    pub fn unregister(&self, who: &Who, id: SessionId) -> usize {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        let Some(list) = map.get_mut(who) else {
            return 0;
        };
        list.retain(|s| s.id != id);
        let left = list.len();
        if left == 0 {
            map.remove(who);
        }
        left
    }

    /// How many sessions the principal has open.
    pub fn count(&self, who: &Who) -> usize {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        map.get(who).map_or(0, Vec::len)
    }

    /// Frames and bytes queued for all sessions, not yet written to their sockets.
    pub fn outbound(&self) -> (usize, usize) {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        map.values()
            .flatten()
            .map(|s| s.link.outbox().queued())
            .fold((0, 0), |(f, b), (df, db)| (f + df, b + db))
    }
}

impl Delivery for Hub {
    /// Each frame goes through the session's outbox: a session past its bound is dropped there.
    fn send_skipping(&self, who: &Who, skip: &dyn Fn(SessionId) -> bool, frame: &ByteString) {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        let Some(list) = map.get(who) else { return };
        for session in list.iter().filter(|s| !skip(s.id)) {
            session.link.push(frame.clone());
        }
    }

    fn sessions(&self, who: &Who) -> usize {
        self.count(who)
    }
}

/// Where the answer to a command goes: the session that sent it, with the command's `ref`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub link: SessionLink,
    pub session_id: SessionId,
    pub reference: Option<String>,
}

impl Reply {
    /// Queues an answer through the session's outbox, like any other frame.
    fn push(&self, frame: ByteString) {
        self.link.push(frame);
    }

    /// Answers `ok` with the command's result beside `ref`.
    pub fn ok(&self, result: impl Into<OkResult>) {
        self.push(ServerFrame::ok(self.reference.as_deref(), result).encode());
    }

    /// Answers `error`.
    pub fn err(&self, err: &AppError) {
        tracing::debug!(session = self.session_id, code = err.code.as_str(), message = %err.message, "command refused");
        self.push(ServerFrame::error(self.reference.as_deref(), err).encode());
    }

    /// Answers with the outcome of a command.
    pub fn answer(&self, result: Result<impl Into<OkResult>, AppError>) {
        match result {
            Ok(value) => self.ok(value),
            Err(err) => self.err(&err),
        }
    }

    /// Sends a frame to this session only (`pong`).
    pub fn frame(&self, frame: ByteString) {
        self.push(frame);
    }
}
