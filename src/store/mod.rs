//! Persistence: opening the database (SQLite tuned for durability, or PostgreSQL), running the
//! migrations, and async repository functions over SeaORM, one file per aggregate.

pub mod analysts;
pub mod attachments;
pub mod calls;
pub mod chats;
pub mod checkpoint;
pub mod history;
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

/// Opens the SQLite checkpointer's own connection (see [`checkpoint`]).
pub async fn connect_checkpointer(
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbErr> {
    open(settings, 1).await
}

async fn open(settings: &DatabaseSettings, connections: u32) -> Result<DatabaseConnection, DbErr> {
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
    Database::connect(options).await
}

/// Brings the schema up to date.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Whether the database answers a trivial query (`/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}
