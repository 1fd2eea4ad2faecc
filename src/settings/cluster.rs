//! `[cluster]` settings (contract §11): `nats_url` turns cluster mode on; the node's id and the
//! address others reach it at; the cluster's name, which prefixes every NATS subject; and the
//! lease and heartbeat timings. Checked here: cluster mode needs PostgreSQL.

use serde::Deserialize;

use super::SettingsError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// `nats://host:port` of the NATS server the nodes share; empty means single-node mode.
    pub nats_url: String,
    /// This node's id in the cluster; empty means `{hostname}:{port}`.
    pub node_id: String,
    /// Prefixes every NATS subject and names the lease row, so two clusters can share a NATS
    /// server and a database.
    pub name: String,
    /// The `host:port` other nodes and operators reach this node at; empty means the bound
    /// address (or `{hostname}:{port}` when it listens on every interface).
    pub address: String,
    /// How long the routing lease lasts past each renewal.
    pub lease_ms: u64,
    /// How often the leader renews its lease, and a standby tries to take it. The leader stops
    /// deciding `lease_ms - renew_ms` after sending its last renewal that succeeded, before the
    /// lease it renewed can lapse.
    pub renew_ms: u64,
    /// How often each node publishes its heartbeat on `{name}.presence`.
    pub heartbeat_ms: u64,
    /// A node unheard this long is left out of `GET /api/v1/cluster`.
    pub node_timeout_ms: u64,
    /// How long a standby waits for the leader to answer a tunnelled `/ws` open before it
    /// answers 503 `unavailable`.
    pub tunnel_open_ms: u64,
    /// How long a standby waits for a connection to the leader when forwarding a request.
    pub forward_connect_ms: u64,
    /// How long a standby waits for the leader's status and headers to a forwarded request (its
    /// body sent meanwhile); the leader's body then streams without a limit (an event stream).
    pub forward_timeout_ms: u64,
}

impl ClusterSettings {
    /// Whether cluster mode is on.
    pub fn enabled(&self) -> bool {
        !self.nats_url.is_empty()
    }

    /// Checks the section; `database_url` is the configured `database.url`.
    pub(super) fn validate(&self, database_url: &str) -> Result<(), SettingsError> {
        let invalid = |key, reason: &str| SettingsError::Invalid {
            key,
            reason: reason.to_string(),
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !token(&self.name) {
            return Err(invalid(
                "cluster.name",
                "must be letters, digits, '-' and '_' (it is a NATS subject token)",
            ));
        }
        if !self.enabled() {
            return Ok(());
        }
        if !self.nats_url.starts_with("nats://") {
            return Err(invalid("cluster.nats_url", "must be a nats:// URL"));
        }
        if database_url.starts_with("sqlite:") {
            return Err(invalid(
                "cluster.nats_url",
                "cluster mode needs PostgreSQL (database.url is SQLite, which only one process can serve)",
            ));
        }
        let positive = [
            ("cluster.renew_ms", self.renew_ms),
            ("cluster.heartbeat_ms", self.heartbeat_ms),
            ("cluster.tunnel_open_ms", self.tunnel_open_ms),
            ("cluster.forward_connect_ms", self.forward_connect_ms),
            ("cluster.forward_timeout_ms", self.forward_timeout_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(invalid(key, "must be greater than 0"));
        }
        if self.lease_ms < 2 * self.renew_ms {
            return Err(invalid(
                "cluster.lease_ms",
                "must be at least twice cluster.renew_ms (a leader must outlive one missed renewal)",
            ));
        }
        if self.node_timeout_ms <= self.heartbeat_ms {
            return Err(invalid(
                "cluster.node_timeout_ms",
                "must be longer than cluster.heartbeat_ms",
            ));
        }
        if self.node_id.chars().any(char::is_control) || self.node_id.len() > 200 {
            return Err(invalid(
                "cluster.node_id",
                "must be at most 200 characters, none of them control characters",
            ));
        }
        Ok(())
    }
}

/// This machine's host name (the kernel's), or `localhost` when it cannot be read.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
