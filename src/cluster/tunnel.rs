//! Tunnelled WebSocket sessions (contract §11), the part both ends share: a standby terminates a
//! client's TCP connection and WebSocket handshake and relays the raw WebSocket bytes over NATS to
//! the leader, which runs the session. This file owns the wire between them: the open request on
//! `{name}.ws.open` and its answer (typed, JSON), the relay subjects `{name}.ws.t.{tunnel}.in`
//! (client → leader) and `.out` (leader → client), a per-direction sequence number in the
//! `Sb-Seq` header (core NATS is at-most-once: a gap ends the tunnel, the client reconnects and
//! resumes from PostgreSQL), the end marker (`Sb-End`), and the registry of a node's tunnels
//! with the rule that closes them when the other end's node is no longer heard.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use async_nats::{HeaderMap, Subject, Subscriber};
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, Stream};
use serde::{Deserialize, Serialize};

use super::Cluster;
use crate::error::ErrorCode;

/// The header carrying a relayed chunk's sequence number, from 0 in each direction.
const SEQ: &str = "Sb-Seq";
/// The header marking the last message of a direction: its sender has ended the tunnel.
const END: &str = "Sb-End";
/// Room left in a NATS message for the headers and the protocol line.
const HEADROOM: usize = 1024;

/// A standby asks the leader to run a session for a client it holds (`{name}.ws.open`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenRequest {
    /// The client's `Authorization: Bearer` token, when it sent one.
    pub bearer: Option<String>,
    /// The client's `?ticket=`, redeemed by the leader (tickets live in the leader's memory).
    pub ticket: Option<String>,
    /// The standby's `cluster.node_id`: its tunnels end when it is no longer heard.
    pub node: String,
    /// The tunnel's id, unique in the cluster (a UUID: a node id need not be a subject token).
    pub tunnel: String,
}

/// The leader's answer to an `OpenRequest`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpenReply {
    /// The session runs on node `leader`, already listening on the tunnel's `.in` subject.
    Open { leader: String },
    /// Refused as a local `/ws` would refuse it: the standby answers this error over HTTP.
    Refused { code: ErrorCode, message: String },
}

/// `{name}.ws.t.{tunnel}.in`: the client's bytes, relayed by the standby to the leader.
pub fn inbound_subject(cluster: &Cluster, tunnel: &str) -> String {
    cluster.subject(&format!("ws.t.{tunnel}.in"))
}

/// `{name}.ws.t.{tunnel}.out`: the session's bytes, relayed by the leader to the standby.
pub fn outbound_subject(cluster: &Cluster, tunnel: &str) -> String {
    cluster.subject(&format!("ws.t.{tunnel}.out"))
}

/// One direction of a tunnel, sending: numbers each message, splits what NATS cannot carry whole.
pub struct Relay {
    /// The connection it publishes on.
    nats: async_nats::Client,
    /// The direction's subject.
    subject: Subject,
    /// The next message's sequence number.
    next: u64,
    /// The largest payload a message may carry (the server's `max_payload` less `HEADROOM`).
    chunk: usize,
}

impl Relay {
    pub fn new(nats: async_nats::Client, subject: String) -> Relay {
        let max = nats.server_info().max_payload;
        let chunk = max.saturating_sub(HEADROOM).max(HEADROOM);
        Relay {
            nats,
            subject: subject.into(),
            next: 0,
            chunk,
        }
    }

    fn headers(&mut self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SEQ, self.next.to_string());
        self.next += 1;
        headers
    }

    /// Relays `bytes` (in as many messages as `max_payload` needs).
    pub async fn send(&mut self, bytes: Bytes) -> Result<(), async_nats::PublishError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let piece = rest.split_to(rest.len().min(self.chunk));
            let headers = self.headers();
            self.nats
                .publish_with_headers(self.subject.clone(), headers, piece)
                .await?;
        }
        Ok(())
    }

    /// Tells the other end this direction is over.
    pub async fn end(&mut self) {
        let mut headers = self.headers();
        headers.insert(END, "1");
        let sent = self
            .nats
            .publish_with_headers(self.subject.clone(), headers, Bytes::new())
            .await;
        if let Err(err) = sent {
            tracing::debug!(error = %err, "tunnel end marker not published");
        }
    }
}

/// One direction of a tunnel, received: its bytes in order, ending at the end marker or at the
/// first message missing or out of order (then `why` is logged).
pub fn inbound(subscriber: Subscriber, what: &'static str) -> impl Stream<Item = Bytes> {
    futures_util::stream::unfold((subscriber, 0u64), move |(mut sub, expected)| async move {
        let message = sub.next().await?;
        let headers = message.headers.as_ref();
        let seq = headers
            .and_then(|h| h.get(SEQ))
            .and_then(|v| v.as_str().parse::<u64>().ok());
        if seq != Some(expected) {
            tracing::info!(
                direction = what,
                expected,
                got = ?seq,
                "tunnel: a relayed message is missing; closing the tunnel"
            );
            return None;
        }
        if headers.and_then(|h| h.get(END)).is_some() {
            return None;
        }
        Some((message.payload, (sub, expected + 1)))
    })
}

/// A tunnel as a node keeps it: whom it depends on and how to end it.
#[derive(Debug)]
struct Entry {
    /// The node at the other end (the leader for a relayed tunnel, the standby for a hosted one).
    peer: String,
    /// When it opened: a standby that has not heard its leader yet does not close it at once.
    born: Instant,
    /// Ends the tunnel's inbound direction, which ends the tunnel.
    abort: AbortHandle,
}

/// A node's tunnels of one kind, by tunnel id.
#[derive(Debug, Default)]
pub struct Tunnels(Mutex<HashMap<String, Entry>>);

impl Tunnels {
    pub fn insert(&self, tunnel: String, peer: String, abort: AbortHandle) {
        let entry = Entry {
            peer,
            born: Instant::now(),
            abort,
        };
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tunnel, entry);
    }

    pub fn remove(&self, tunnel: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tunnel);
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every tunnel for which `gone(peer, age)` holds; returns how many.
    fn close_where(&self, gone: impl Fn(&str, Duration) -> bool) -> usize {
        let mut tunnels = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let before = tunnels.len();
        tunnels.retain(|_, entry| {
            let end = gone(&entry.peer, entry.born.elapsed());
            if end {
                entry.abort.abort();
            }
            !end
        });
        before - tunnels.len()
    }
}

/// Every `cluster.heartbeat_ms`: ends the tunnels this node relays to a leader that is no longer
/// the one heard (a new leader, or none for `cluster.node_timeout_ms`), and the tunnels it hosts
/// for a node no longer heard. Clients reconnect; their chats fall under the grace rules.
pub async fn watch(cluster: std::sync::Arc<Cluster>) {
    let timeout = Duration::from_millis(cluster.settings.node_timeout_ms);
    let heartbeat = Duration::from_millis(cluster.settings.heartbeat_ms);
    let mut tick = tokio::time::interval(heartbeat);
    loop {
        tick.tick().await;
        let leader = cluster.leader_heard(timeout).map(|(id, _)| id);
        let relayed = cluster.relayed.close_where(|peer, age| match &leader {
            Some(leader) => leader != peer,
            None => age > timeout,
        });
        let live: Vec<String> = cluster
            .nodes
            .live(timeout)
            .into_iter()
            .map(|n| n.id)
            .collect();
        // A node's first heartbeat may trail its first open by up to a heartbeat.
        let hosted = cluster
            .hosted
            .close_where(|peer, age| !live.iter().any(|id| id == peer) && age > heartbeat);
        if relayed + hosted > 0 {
            tracing::warn!(
                relayed,
                hosted,
                leader = ?leader,
                "tunnel: closed the tunnels whose other node is gone"
            );
        }
    }
}
