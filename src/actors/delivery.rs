//! The delivery seam: the one interface through which actors reach a principal's sessions
//! (`send`, `send_except`, `send_skipping`) and learn how many they have (`sessions`), addressed
//! by `Who`. Nothing that uses it knows where a session lives. Today the in-process `Hub`
//! implements it; cluster mode plugs in here, with an implementation that also reaches the
//! sessions other nodes hold (the router, queue and chat actors hold an `Arc<dyn Delivery>`).
//! Answers to a command go the other way, straight to the session that sent it (`hub::Reply`).

use bytestring::ByteString;

use super::outbox::SessionId;
use crate::domain::{AnalystId, UserId};

/// Whose sessions: end users, staff (analysts, managers) and admins have separate id spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Who {
    User(UserId),
    Staff(AnalystId),
    /// Admins are not in the directory; their id is the token's `sub` as it is.
    Admin(String),
}

impl Who {
    /// The sessions a principal's events go to.
    pub fn of(principal: &crate::auth::Principal) -> Who {
        let id = principal.id.clone();
        match principal.role {
            crate::domain::Role::User => Who::User(UserId::from(id)),
            crate::domain::Role::Analyst | crate::domain::Role::Manager => {
                Who::Staff(AnalystId::from(id))
            }
            // Service tokens are refused on `/ws`, so they never hold a session.
            crate::domain::Role::Admin | crate::domain::Role::Service => Who::Admin(id),
        }
    }
}

/// Where frames for principals go.
pub trait Delivery: Send + Sync + std::fmt::Debug {
    /// Sends `frame` to every session of `who` that `skip` does not name; never waits on one (a
    /// session that cannot keep up is dropped, not waited for).
    fn send_skipping(&self, who: &Who, skip: &dyn Fn(SessionId) -> bool, frame: &ByteString);

    /// How many sessions `who` has open (dropped ones count until their socket has closed).
    fn sessions(&self, who: &Who) -> usize;

    /// Sends `frame` to every session of `who`.
    fn send(&self, who: &Who, frame: &ByteString) {
        self.send_skipping(who, &|_| false, frame);
    }

    /// Sends `frame` to every session of `who` but `except` (the one that has its answer).
    fn send_except(&self, who: &Who, except: SessionId, frame: &ByteString) {
        self.send_skipping(who, &|id| id == except, frame);
    }
}
