//! Presence (contract §11): every node publishes a heartbeat on `{name}.presence` every
//! `cluster.heartbeat_ms` (its id, address and open WebSocket connections) and hears everyone's,
//! itself included; `Nodes` keeps the last heartbeat of each, and a node unheard for
//! `cluster.node_timeout_ms` is left out of the list. Core NATS: a lost heartbeat is made good by
//! the next one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::Cluster;

/// What a node says about itself each heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Its `cluster.node_id`.
    pub id: String,
    /// Where it is reached (`host:port`).
    pub address: String,
    /// Its open WebSocket connections.
    pub connections: i64,
    /// Whether it leads (its own view; the lease row is the authority).
    pub leader: bool,
}

/// A node as `GET /api/v1/cluster` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    pub id: String,
    pub address: String,
    pub connections: i64,
    /// Whether its last heartbeat said it leads.
    pub leader: bool,
    pub last_seen: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Seen {
    beat: Heartbeat,
    at: DateTime<Utc>,
    heard: Instant,
}

/// The last heartbeat heard from each node.
#[derive(Debug, Default)]
pub struct Nodes(Mutex<HashMap<String, Seen>>);

impl Nodes {
    /// Records a heartbeat heard now.
    pub fn heard(&self, beat: Heartbeat) {
        if let Ok(mut nodes) = self.0.lock() {
            let seen = Seen {
                at: Utc::now(),
                heard: Instant::now(),
                beat,
            };
            nodes.insert(seen.beat.id.clone(), seen);
        }
    }

    /// The nodes heard within `timeout`, by id; the others are forgotten.
    pub fn live(&self, timeout: Duration) -> Vec<NodeView> {
        let Ok(mut nodes) = self.0.lock() else {
            return Vec::new();
        };
        nodes.retain(|_, seen| seen.heard.elapsed() < timeout);
        let mut live: Vec<NodeView> = nodes
            .values()
            .map(|seen| NodeView {
                id: seen.beat.id.clone(),
                address: seen.beat.address.clone(),
                connections: seen.beat.connections,
                leader: seen.beat.leader,
                last_seen: seen.at,
            })
            .collect();
        live.sort_by(|a, b| a.id.cmp(&b.id));
        live
    }
}

/// This node's heartbeat now.
fn beat(cluster: &Cluster) -> Heartbeat {
    Heartbeat {
        id: cluster.node_id.clone(),
        address: cluster.address.clone(),
        connections: crate::metrics::connections().values().sum(),
        leader: cluster.leading(),
    }
}

/// Publishes this node's heartbeat every `cluster.heartbeat_ms`, forever. Its own is also
/// recorded directly, so the node lists itself while NATS is away.
pub async fn publish(cluster: Arc<Cluster>) {
    let subject = cluster.subject("presence");
    let mut tick = tokio::time::interval(Duration::from_millis(cluster.settings.heartbeat_ms));
    loop {
        tick.tick().await;
        let beat = beat(&cluster);
        match serde_json::to_vec(&beat) {
            Ok(body) => {
                if let Err(err) = cluster.nats.publish(subject.clone(), body.into()).await {
                    tracing::debug!(error = %err, "heartbeat not published");
                }
            }
            Err(err) => tracing::warn!(error = %err, "heartbeat not encoded"),
        }
        cluster.nodes.heard(beat);
    }
}

/// Hears every node's heartbeats, forever (the subscription survives NATS reconnects).
pub async fn listen(cluster: Arc<Cluster>) -> anyhow::Result<()> {
    let mut heartbeats = cluster.nats.subscribe(cluster.subject("presence")).await?;
    while let Some(message) = heartbeats.next().await {
        match serde_json::from_slice::<Heartbeat>(&message.payload) {
            Ok(beat) => cluster.nodes.heard(beat),
            Err(err) => tracing::debug!(error = %err, "a heartbeat that does not parse"),
        }
    }
    Ok(())
}
