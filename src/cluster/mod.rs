//! Cluster mode (contract §11, `cluster.nats_url` set): several `switchboard serve` processes on
//! one PostgreSQL database and one NATS server. This module owns a node's part in it: its
//! identity (`cluster.node_id`, its address), its NATS connection, the routing lease it takes and
//! keeps (`leadership`: exactly one node, the leader, routes; every write it commits is fenced by
//! its epoch), and the heartbeats every node publishes and hears (`presence`).
//!
//! A standby forwards every HTTP request to the leader it hears (`http::forward`) and relays
//! every WebSocket to it over NATS (`tunnel`, `http::ws_relay`), so any node serves anyone; the
//! leader runs every session. A leader that loses its lease stops deciding at once and the
//! process ends (its supervisor restarts it as a standby).

pub mod leadership;
pub mod presence;
pub mod tunnel;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tokio::sync::Notify;

use crate::settings::{ClusterSettings, hostname};
use crate::store::lease::Fence;

pub use leadership::Elected;
pub use presence::{NodeView, Nodes};

/// A node of a cluster: who it is, how it reaches the others, and whether it leads.
#[derive(Debug)]
pub struct Cluster {
    /// `cluster.name`: prefixes every subject, names the lease row.
    pub name: String,
    /// `cluster.node_id`, or `{hostname}:{port}`.
    pub node_id: String,
    /// Where this node is reached (`host:port`).
    pub address: String,
    pub settings: ClusterSettings,
    pub nats: async_nats::Client,
    /// The epoch this node may write under (held by the store writer).
    pub fence: Arc<Fence>,
    /// The nodes heard from lately, this one included.
    pub nodes: Nodes,
    /// The WebSockets this node holds and relays to the leader, by tunnel id.
    pub relayed: tunnel::Tunnels,
    /// The sessions this node runs for clients another node holds, by tunnel id.
    pub hosted: tunnel::Tunnels,
    /// Whether this node leads now (its router runs; it serves requests instead of forwarding).
    leading: AtomicBool,
    /// Notified once, when this node has lost the lease it held: the process must stop.
    lost: Notify,
    /// Set with `lost`, for a waiter that comes later.
    has_lost: AtomicBool,
}

impl Cluster {
    /// Connects to NATS as node `settings.node_id` (or `{hostname}:{port}`) listening on `bound`.
    pub async fn connect(
        settings: &ClusterSettings,
        bound: std::net::SocketAddr,
    ) -> anyhow::Result<Arc<Cluster>> {
        let port = bound.port();
        let node_id = if settings.node_id.is_empty() {
            format!("{}:{port}", hostname())
        } else {
            settings.node_id.clone()
        };
        let address = if !settings.address.is_empty() {
            settings.address.clone()
        } else if bound.ip().is_unspecified() {
            format!("{}:{port}", hostname())
        } else {
            bound.to_string()
        };
        let nats = async_nats::ConnectOptions::new()
            .name(format!("switchboard {node_id}"))
            // Reconnects after a NATS restart on its own, forever; subscriptions carry over.
            .max_reconnects(None)
            .connect(settings.nats_url.as_str())
            .await
            .with_context(|| {
                format!("cluster.nats_url: cannot connect to {}", settings.nats_url)
            })?;
        Ok(Arc::new(Cluster {
            name: settings.name.clone(),
            node_id,
            address,
            settings: settings.clone(),
            nats,
            fence: Arc::new(Fence::new(settings.name.clone())),
            nodes: Nodes::default(),
            relayed: tunnel::Tunnels::default(),
            hosted: tunnel::Tunnels::default(),
            leading: AtomicBool::new(false),
            lost: Notify::new(),
            has_lost: AtomicBool::new(false),
        }))
    }

    /// `{name}.{suffix}`: every subject of this cluster.
    pub fn subject(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.name)
    }

    /// Whether this node leads now.
    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    /// Whether the NATS connection is up.
    pub fn nats_connected(&self) -> bool {
        self.nats.connection_state() == async_nats::connection::State::Connected
    }

    /// Resolves once this node has lost the lease it held.
    pub async fn lost(&self) {
        let notified = self.lost.notified();
        if self.has_lost.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }

    /// The node whose heartbeat says it leads, heard within `timeout`: `(id, address)`. Right
    /// after a failover the dead leader's last heartbeat may still be within `timeout`: the
    /// one heard last wins.
    pub fn leader_heard(&self, timeout: std::time::Duration) -> Option<(String, String)> {
        self.nodes
            .live(timeout)
            .into_iter()
            .filter(|n| n.leader)
            .max_by_key(|n| n.last_seen)
            .map(|n| (n.id, n.address))
    }

    /// Whether this node lost the lease it held.
    pub fn has_lost(&self) -> bool {
        self.has_lost.load(Ordering::Acquire)
    }

    /// A graceful stop: this node stops deciding and lets its lease lapse now, so a standby
    /// takes over without waiting it out.
    pub async fn resign(&self, db: &sea_orm::DatabaseConnection) {
        let epoch = self.fence.epoch();
        self.fence.release();
        self.set_leading(false);
        if let Some(epoch) = epoch
            && let Err(err) =
                crate::store::lease::release(db, &self.name, &self.node_id, epoch).await
        {
            tracing::warn!(error = %err, "cluster lease: not released");
        }
    }

    fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Release);
    }

    /// This node stops deciding: nothing more is committed under its epoch, it no longer serves
    /// requests as the leader, and whoever waits on `lost` is told.
    fn step_down(&self, why: &str) {
        self.fence.release();
        self.set_leading(false);
        tracing::error!(node = %self.node_id, reason = why, "lost the cluster lease: stepping down");
        self.has_lost.store(true, Ordering::Release);
        self.lost.notify_waiters();
    }
}
