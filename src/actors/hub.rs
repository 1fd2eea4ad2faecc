//! The hub: which WebSocket sessions each principal has open, so that every session of a
//! principal receives that principal's events. Senders never wait on a session: frames are
//! `do_send`-ed, serialized once and shared. Also the `Reply` handle a command carries so that the
//! actor that completes it can answer the session that sent it, in order with its events.

use std::collections::HashMap;
use std::sync::RwLock;

use actix::{Message, Recipient};
use bytestring::ByteString;
use serde_json::Value;

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

/// Whose sessions: end users and staff (analysts, managers) have separate id spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    User(String),
    Staff(String),
}

/// One open session: its id, where its frames go, and how to close it.
type SessionEntry = (SessionId, Recipient<Deliver>, Recipient<Shutdown>);

/// Open sessions by principal.
#[derive(Debug, Default)]
pub struct Hub {
    sessions: RwLock<HashMap<Who, Vec<SessionEntry>>>,
}

impl Hub {
    /// Adds a session; returns how many the principal now has.
    pub fn register(
        &self,
        who: Who,
        id: SessionId,
        to: Recipient<Deliver>,
        close: Recipient<Shutdown>,
    ) -> usize {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(who).or_default();
        list.push((id, to, close));
        list.len()
    }

    /// Tells every session to close (graceful stop).
    pub fn close_all(&self) {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        for (_, _, close) in map.values().flatten() {
            close.do_send(Shutdown);
        }
    }

    /// Open sessions, all principals together.
    pub fn total(&self) -> usize {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        map.values().map(Vec::len).sum()
    }

    /// Removes a session; returns how many the principal still has.
    pub fn unregister(&self, who: &Who, id: SessionId) -> usize {
        let mut map = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        let Some(list) = map.get_mut(who) else {
            return 0;
        };
        list.retain(|(sid, ..)| *sid != id);
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

    /// Sends a frame to every session of a principal but one.
    pub fn send_except(&self, who: &Who, except: Option<SessionId>, frame: &ByteString) {
        let map = self.sessions.read().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = map.get(who) {
            for (id, to, _) in list {
                if Some(*id) != except {
                    to.do_send(Deliver(frame.clone()));
                }
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
}

impl Reply {
    pub fn ok(&self, result: Value) {
        self.session.do_send(Deliver(protocol::ok_frame(
            self.reference.as_deref(),
            result,
        )));
    }

    pub fn err(&self, err: &AppError) {
        self.session.do_send(Deliver(protocol::error_frame(
            self.reference.as_deref(),
            err,
        )));
    }

    /// Answers with the outcome of a command.
    pub fn answer(&self, result: Result<Value, AppError>) {
        match result {
            Ok(value) => self.ok(value),
            Err(err) => self.err(&err),
        }
    }

    /// Sends a frame to this session only (e.g. the messages replayed by `resume`).
    pub fn frame(&self, frame: ByteString) {
        self.session.do_send(Deliver(frame));
    }
}
