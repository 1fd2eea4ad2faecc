//! The cluster's routing lease and its fencing epoch (contract §11), in PostgreSQL's
//! `cluster_lease` row for the cluster's name, on the database's clock. A standby takes the lease
//! only once it has lapsed, and each takeover increments the epoch in the same statement; the
//! holder renews it while it is live. `Fence` is what the store writer holds: the epoch this node
//! leads under and until when, locally, it may still decide; `check` runs inside each of its
//! transactions and refuses it unless that epoch still holds a live lease, so the writes of a
//! leader that was paused past its lease are refused by the database itself.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::error::{AppError, AppResult, ErrorCode};

/// Who holds a cluster's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub epoch: i64,
    pub expires_at: DateTime<Utc>,
    /// Whether it has not lapsed yet (database clock).
    pub live: bool,
}

fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn secs(ms: u64) -> Value {
    (ms as f64 / 1000.0).into()
}

/// Takes the lease of cluster `name` for `node` for `lease_ms` if nobody holds a live one (or
/// it has never been taken); returns the new epoch, or `None` while another node holds it.
pub async fn acquire(
    db: &impl ConnectionTrait,
    name: &str,
    node: &str,
    lease_ms: u64,
) -> Result<Option<i64>, DbErr> {
    let sql = "INSERT INTO cluster_lease (name, holder, epoch, expires_at) \
               VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision)) \
               ON CONFLICT (name) DO UPDATE \
               SET holder = EXCLUDED.holder, epoch = cluster_lease.epoch + 1, \
                   expires_at = EXCLUDED.expires_at \
               WHERE cluster_lease.expires_at <= now() \
               RETURNING epoch";
    let row = db
        .query_one_raw(statement(
            sql,
            vec![name.into(), node.into(), secs(lease_ms)],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "epoch")).transpose()
}

/// Extends `node`'s live lease under `epoch` by `lease_ms` from now; false when it has lapsed or
/// another node has taken it.
pub async fn renew(
    db: &impl ConnectionTrait,
    name: &str,
    node: &str,
    epoch: i64,
    lease_ms: u64,
) -> Result<bool, DbErr> {
    let sql = "UPDATE cluster_lease \
               SET expires_at = now() + make_interval(secs => $4::double precision) \
               WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() \
               RETURNING epoch";
    let row = db
        .query_one_raw(statement(
            sql,
            vec![name.into(), node.into(), epoch.into(), secs(lease_ms)],
        ))
        .await?;
    Ok(row.is_some())
}

/// Lets the lease lapse now (a graceful stop), so a standby takes over without waiting it out.
pub async fn release(
    db: &impl ConnectionTrait,
    name: &str,
    node: &str,
    epoch: i64,
) -> Result<(), DbErr> {
    let sql = "UPDATE cluster_lease SET expires_at = now() \
               WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()";
    db.execute_raw(statement(sql, vec![name.into(), node.into(), epoch.into()]))
        .await
        .map(|_| ())
}

/// The lease of cluster `name`, if it was ever taken.
pub async fn current(db: &impl ConnectionTrait, name: &str) -> Result<Option<Lease>, DbErr> {
    let sql = "SELECT holder, epoch, expires_at, expires_at > now() AS live \
               FROM cluster_lease WHERE name = $1";
    let Some(row) = db.query_one_raw(statement(sql, vec![name.into()])).await? else {
        return Ok(None);
    };
    Ok(Some(Lease {
        holder: row.try_get("", "holder")?,
        epoch: row.try_get("", "epoch")?,
        expires_at: row.try_get("", "expires_at")?,
        live: row.try_get("", "live")?,
    }))
}

/// The epoch this node leads under, and until when it may decide (its own clock).
#[derive(Debug, Clone, Copy)]
struct Held {
    epoch: i64,
    until: Instant,
}

/// What the store writer of a cluster node holds: the cluster's name, and the epoch it leads
/// under while it leads. A node that is not the leader (or whose last renewal is too old) holds
/// nothing, and every write it tries is refused before it reaches the database.
#[derive(Debug)]
pub struct Fence {
    name: String,
    held: Mutex<Option<Held>>,
}

impl Fence {
    pub fn new(name: impl Into<String>) -> Fence {
        Fence {
            name: name.into(),
            held: Mutex::new(None),
        }
    }

    /// The cluster's name (the lease row).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This node leads under `epoch` and may decide until `until`.
    pub fn hold(&self, epoch: i64, until: Instant) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some(Held { epoch, until });
        }
    }

    /// This node no longer leads.
    pub fn release(&self) {
        if let Ok(mut held) = self.held.lock() {
            *held = None;
        }
    }

    /// Until when this node may decide, if it still may.
    pub fn deadline(&self) -> Option<Instant> {
        let held = *self.held.lock().ok()?;
        held.map(|h| h.until)
            .filter(|until| Instant::now() < *until)
    }

    /// The epoch this node may decide under now, if any.
    pub fn epoch(&self) -> Option<i64> {
        let held = *self.held.lock().ok()?;
        held.filter(|h| Instant::now() < h.until).map(|h| h.epoch)
    }
}

fn fenced(message: &str) -> AppError {
    tracing::warn!(reason = message, "write refused: not the cluster's leader");
    AppError::new(ErrorCode::Unavailable, message)
}

/// Refuses the transaction `txn` unless this node still leads: locally (`fence` holds an epoch
/// whose deadline has not passed), then in the database (the lease row still has that epoch and
/// has not lapsed). The row is read `FOR SHARE`, so a takeover waits for this transaction to end
/// and every transaction after the takeover sees the new epoch.
pub async fn check(txn: &impl ConnectionTrait, fence: &Fence) -> AppResult<()> {
    let Some(epoch) = fence.epoch() else {
        return Err(fenced(
            "this node does not lead the cluster (or its lease lapsed)",
        ));
    };
    let sql = "SELECT epoch FROM cluster_lease \
               WHERE name = $1 AND epoch = $2 AND expires_at > now() FOR SHARE";
    let row = txn
        .query_one_raw(statement(sql, vec![fence.name().into(), epoch.into()]))
        .await?;
    if row.is_none() {
        return Err(fenced(
            "this node's cluster epoch is stale: another node leads",
        ));
    }
    Ok(())
}
