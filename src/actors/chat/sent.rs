//! The client ids a chat has stored, so that a repeated `send` is stored once (contract §3.3).
//!
//! Kept for the chat's whole life, so kept small: each `(sender, client_msg_id)` is held as a
//! 128-bit fingerprint (two SipHash-1-3 digests under this process's random keys) with its seq,
//! about 40 bytes per message instead of the two strings. Two different ids share a fingerprint
//! with probability about n² / 2¹²⁹ for n ids in one chat (below 10⁻²⁶ for a million), and the keys
//! are secret, so a client cannot aim for a collision. The database keeps no unique index for
//! this: the chat actor is the only writer of its chat's messages, and a restarted engine rebuilds
//! the set from the stored rows.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

/// `(sender id, client_msg_id)` fingerprints → seq.
#[derive(Debug, Default)]
pub struct SentIds {
    seqs: HashMap<u128, i64>,
}

impl SentIds {
    /// The seq stored for `client_msg_id` from `sender`, if any.
    pub fn get(&self, sender: &str, client_msg_id: &str) -> Option<i64> {
        self.seqs.get(&fingerprint(sender, client_msg_id)).copied()
    }

    pub fn insert(&mut self, sender: &str, client_msg_id: &str, seq: i64) {
        self.seqs.insert(fingerprint(sender, client_msg_id), seq);
    }

    pub fn remove(&mut self, sender: &str, client_msg_id: &str) {
        self.seqs.remove(&fingerprint(sender, client_msg_id));
    }
}

/// Built from `(sender id, client_msg_id, seq)` as stored.
impl FromIterator<(String, String, i64)> for SentIds {
    fn from_iter<I: IntoIterator<Item = (String, String, i64)>>(rows: I) -> Self {
        let mut sent = SentIds::default();
        for (sender, client_msg_id, seq) in rows {
            sent.insert(&sender, &client_msg_id, seq);
        }
        sent
    }
}

fn fingerprint(sender: &str, client_msg_id: &str) -> u128 {
    static KEYS: OnceLock<(RandomState, RandomState)> = OnceLock::new();
    let (high, low) = KEYS.get_or_init(|| (RandomState::new(), RandomState::new()));
    // Hashing the pair hashes each string with a terminator, so ("ab", "c") ≠ ("a", "bc").
    let pair = (sender, client_msg_id);
    (u128::from(high.hash_one(pair)) << 64) | u128::from(low.hash_one(pair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_found_only_for_its_own_sender() {
        let mut sent = SentIds::default();
        sent.insert("alice", "m1", 7);
        assert_eq!(sent.get("alice", "m1"), Some(7));
        assert_eq!(sent.get("bob", "m1"), None);
        assert_eq!(sent.get("alice", "m2"), None);
        assert_eq!(sent.get("alic", "em1"), None);
        sent.remove("alice", "m1");
        assert_eq!(sent.get("alice", "m1"), None);
    }

    #[test]
    fn built_from_stored_rows() {
        let sent: SentIds = [
            ("u".to_string(), "a".to_string(), 1),
            ("u".into(), "b".into(), 3),
        ]
        .into_iter()
        .collect();
        assert_eq!(sent.get("u", "a"), Some(1));
        assert_eq!(sent.get("u", "b"), Some(3));
    }
}
