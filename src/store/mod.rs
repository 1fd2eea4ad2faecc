//! Persistence: opening the database (SQLite tuned for durability, or PostgreSQL), running the
//! migrations, and async repository functions over SeaORM, one file per aggregate.

pub mod analysts;
pub mod attachments;
pub mod calls;
pub mod chats;
pub mod checkpoint;
pub mod history;
pub mod lease;
pub mod messages;
pub mod queues;
pub mod ratings;
pub mod supervisors;
pub mod users;
pub mod webhook_retention;
pub mod webhooks;
pub mod wrap_ups;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::settings::{DatabaseSettings, SqliteSync};

/// Opens the configured database.
///
/// SQLite runs in WAL mode. With `synchronous = NORMAL` (the default) a committed transaction is in
/// the WAL file before the commit returns, so it survives a crash of the process; a power loss or
/// OS crash can lose the last commits. `database.sqlite_synchronous = "full"` fsyncs every commit
/// and survives power loss too, at the price of one fsync per group commit.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    open(settings, settings.max_connections).await
}

/// Whether the URL names an SQLite database.
pub fn is_sqlite(settings: &DatabaseSettings) -> bool {
    settings.url.starts_with("sqlite:")
}

/// Opens one more connection, for the store writer alone. On SQLite a connection's page cache
/// survives only its own commits: when another connection of the pool has written, the next
/// transaction starts with an empty cache and reads the message indexes back from the file. One
/// connection that does every message commit keeps them warm.
pub async fn connect_writer(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    open(settings, 1).await
}

/// The store writer's connection in cluster mode (PostgreSQL): a transaction left idle for
/// `idle_ms` (its process paused mid-transaction) is ended by the server, so the lease row it
/// reads `FOR SHARE` does not hold back another node's takeover past the lease.
pub async fn connect_fenced_writer(
    settings: &DatabaseSettings,
    idle_ms: u64,
) -> Result<DatabaseConnection, DbErr> {
    open_with(settings, 1, Some(idle_ms)).await
}

/// Opens the SQLite checkpointer's own connection (see [`checkpoint`]).
pub async fn connect_checkpointer(
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    open(settings, 1).await
}

async fn open(settings: &DatabaseSettings, connections: u32) -> Result<DatabaseConnection, DbErr> {
    open_with(settings, connections, None).await
}

async fn open_with(
    settings: &DatabaseSettings,
    connections: u32,
    pg_idle_in_transaction_ms: Option<u64>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    let wal_limit = u64::from(settings.sqlite_wal_limit_mb) * 1024 * 1024;
    let cache_kib = i64::from(settings.sqlite_cache_mb) * 1024;
    let busy_timeout = Duration::from_millis(settings.sqlite_busy_timeout_ms);
    let synchronous = match settings.sqlite_synchronous {
        SqliteSync::Normal => SqliteSynchronous::Normal,
        SqliteSync::Full => SqliteSynchronous::Full,
    };
    options
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(synchronous)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                .pragma("cache_size", format!("-{cache_kib}"))
                // No commit checkpoints: the background checkpointer does it on its own
                // connection, so a checkpoint's fsync never holds a batch's acknowledgements.
                .pragma("wal_autocheckpoint", "0")
                .pragma("journal_size_limit", wal_limit.to_string())
        });
    if let Some(idle) = pg_idle_in_transaction_ms {
        options.map_sqlx_postgres_opts(move |o| {
            o.options([("idle_in_transaction_session_timeout", idle.to_string())])
        });
    }
    Database::connect(options).await
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Runs `work` (the migrations, the demo seed) on a connection of its own while holding a
/// PostgreSQL advisory lock: nodes of a cluster started together on a new database do it one after
/// another instead of racing to create the same tables and rows.
pub async fn exclusively<T, E: From<DbErr>>(
    settings: &DatabaseSettings,
    work: impl AsyncFnOnce(&DatabaseConnection) -> Result<T, E>,
) -> Result<T, E> {
    /// The advisory lock's key: any fixed number, the same on every node.
    const START_LOCK: i64 = 0x0053_5742_444d_4947; // "SWBDMIG"
    let db = open(settings, 1).await?;
    db.execute_unprepared(&format!("SELECT pg_advisory_lock({START_LOCK})"))
        .await?;
    let result = work(&db).await;
    let _ = db
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({START_LOCK})"))
        .await;
    let _ = db.close().await;
    result
}

/// Whether the database answers a trivial query (`/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
