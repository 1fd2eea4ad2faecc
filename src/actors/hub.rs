//! The hub: which WebSocket sessions each principal has open, so that every session of a
//! principal receives that principal's events. Senders never wait on a session: frames are
//! serialized once, shared, and `try_send`-ed into a bounded mailbox; a session that stops reading
//! is dropped when its mailbox is full. Also the `Reply` handle a command carries so that the
//! actor that completes it can answer the session that sent it, in order with its events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use actix::dev::SendError;
use actix::{Message, Recipient};
use bytestring::ByteString;
use serde_json::Value;

use super::router::Disconnect;
use crate::error::AppError;
use crate::protocol;

/// One outbound text frame for a session.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Deliver(pub ByteString);

/// The engine is stopping: the session closes with 1012 (service restart).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// A WebSocket session's id, unique for the process.
pub type SessionId = u64;

/// Whose sessions: end users, staff (analysts, managers) and admins have separate id spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    User(String),
    Staff(String),
    Admin(String),
}

impl Who {
    /// The sessions a principal's events go to.
    pub fn of(principal: &crate::auth::Principal) -> Who {
        let id = principal.id.clone();
        match principal.role {
            crate::domain::Role::User => Who::User(id),
            crate::domain::Role::Analyst | crate::domain::Role::Manager => Who::Staff(id),
            crate::domain::Role::Admin => Who::Admin(id),
        }
    }
}

/// One open session: its id, where its frames go, how to close it, and the flag that tells it
/// it was dropped for not reading.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub id: SessionId,
    pub frames: Recipient<Deliver>,
    pub close: Recipient<Shutdown>,
    pub too_slow: Arc<AtomicBool>,
}

/// Open sessions by principal.
#[derive(Debug, Default)]
pub struct Hub {
    sessions: RwLock<HashMap<Who, Vec<SessionHandle>>>,
    /// Told when a session is dropped for not reading (set once the router runs).
    on_drop: OnceLock<Recipient<Disconnect>>,
}

impl Hub {
    /// Who hears about sessions dropped for not reading.
    pub fn on_drop(&self, to: Recipient<Disconnect>) {
        let _ = self.on_drop.set(to);
    }

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

    /// Sends a frame to every session of a principal.
    pub fn send(&self, who: &Who, frame: &ByteString) {
        self.send_except(who, None, frame);
    }

    /// Sends a frame to every session of a principal but one. A session whose mailbox is full
    /// (its client stopped reading) is dropped rather than left to grow without bound.
    pub fn send_except(&self, who: &Who, except: Option<SessionId>, frame: &ByteString) {
        let mut slow = Vec::new();
        {
            let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
            let Some(list) = map.get(who) else { return };
            for session in list.iter().filter(|s| Some(s.id) != except) {
                if let Err(SendError::Full(_)) = session.frames.try_send(Deliver(frame.clone())) {
                    slow.push(session.id);
                }
            }
        }
        for id in slow {
            self.drop_slow(who, id);
        }
    }

    fn drop_slow(&self, who: &Who, id: SessionId) {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = map.get_mut(who)
            && let Some(at) = list.iter().position(|s| s.id == id)
        {
            let session = list.remove(at);
            session.too_slow.store(true, Ordering::Release);
            tracing::warn!(session = id, "dropping a session that stopped reading");
            if list.is_empty() {
                map.remove(who);
            }
            if let Some(router) = self.on_drop.get() {
                router.do_send(Disconnect { who: who.clone() });
            }
        }
    }
}

/// Where the answer to a command goes: the session that sent it, with the command's `ref`.
#[derive(Debug, Clone)]
pub struct Reply {
    pub session: Recipient<Deliver>,
    pub session_id: SessionId,
    pub reference: Option<String>,
    /// The session's too-slow flag: set when an answer finds its mailbox full.
    pub too_slow: Arc<AtomicBool>,
}

impl Reply {
    /// Queues an answer; a session whose bounded mailbox is full is too slow and gets dropped.
    fn push(&self, frame: ByteString) {
        if let Err(SendError::Full(_)) = self.session.try_send(Deliver(frame)) {
            self.too_slow.store(true, Ordering::Release);
        }
    }

    pub fn ok(&self, result: Value) {
        self.push(protocol::ok_frame(self.reference.as_deref(), result));
    }

    pub fn err(&self, err: &AppError) {
        tracing::debug!(session = self.session_id, code = err.code.as_str(), message = %err.message, "command refused");
        self.push(protocol::error_frame(self.reference.as_deref(), err));
    }

    /// Answers with the outcome of a command.
    pub fn answer(&self, result: Result<Value, AppError>) {
        match result {
            Ok(value) => self.ok(value),
            Err(err) => self.err(&err),
        }
    }

    /// Sends a frame to this session only: the messages replayed by `resume`, at most the resume
    /// window per command, so they may exceed the mailbox bound without being a slow reader.
    pub fn frame(&self, frame: ByteString) {
        self.session.do_send(Deliver(frame));
    }
}
