//! Single-use WebSocket tickets (`POST /api/v1/ws-tickets`): a browser cannot set headers on a
//! WebSocket handshake, so it trades its bearer token for a short-lived random ticket that goes in
//! the query string. A ticket is redeemed at most once and only before it expires.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::Principal;

/// Outstanding tickets, shared by every worker.
#[derive(Debug)]
pub struct Tickets {
    ttl: Duration,
    issued: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl Tickets {
    pub fn new(ttl: Duration) -> Self {
        Tickets {
            ttl,
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// How long a ticket stays valid, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    /// Issues a fresh ticket for `principal`, dropping any that have expired.
    pub fn issue(&self, principal: Principal) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let ticket = URL_SAFE_NO_PAD.encode(bytes);
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, (_, expires)| *expires > now);
        issued.insert(ticket.clone(), (principal, now + self.ttl));
        ticket
    }

    /// Redeems a ticket once: the second attempt, or one after expiry, gets `None`.
    pub fn redeem(&self, ticket: &str) -> Option<Principal> {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, expires) = issued.remove(ticket)?;
        (expires > Instant::now()).then_some(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn alice() -> Principal {
        Principal {
            id: "alice".into(),
            role: Role::Analyst,
            name: "Alice".into(),
        }
    }

    #[test]
    fn a_ticket_is_redeemed_once() {
        let tickets = Tickets::new(Duration::from_secs(30));
        let t = tickets.issue(alice());
        assert_eq!(tickets.redeem(&t), Some(alice()));
        assert_eq!(tickets.redeem(&t), None);
        assert_eq!(tickets.redeem("made-up"), None);
    }

    #[test]
    fn an_expired_ticket_is_refused() {
        let tickets = Tickets::new(Duration::ZERO);
        let t = tickets.issue(alice());
        assert_eq!(tickets.redeem(&t), None);
    }
}
