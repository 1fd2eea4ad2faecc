//! The SQLite checkpointer: copies the write-ahead log back into the database file every
//! `database.sqlite_checkpoint_ms`, on a connection of its own.
//!
//! Every other connection runs with `wal_autocheckpoint = 0`. SQLite's automatic checkpoint runs
//! inside the commit that crosses its threshold, fsync included, on the committing connection: the
//! store writer's. Each batch's acknowledgements would then wait for the copy and the fsync, a
//! stall of tens to hundreds of milliseconds at no fixed time. A `PASSIVE` checkpoint here copies
//! what no reader still needs and never blocks a writer; sqlx runs each SQLite connection on its
//! own thread, so the fsync stalls only this loop.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

/// A checkpoint slower than this is logged: it is what would have stalled commits before.
const SLOW: Duration = Duration::from_millis(50);

/// Runs checkpoints forever, one every `every`. Errors are logged and the next one is tried.
pub async fn run(db: DatabaseConnection, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let started = Instant::now();
        match checkpoint(&db).await {
            Ok(()) if started.elapsed() > SLOW => {
                tracing::info!(
                    took_ms = started.elapsed().as_millis() as u64,
                    "slow WAL checkpoint"
                );
            }
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// One passive checkpoint: copies every frame no reader still needs.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
        .await
        .map(|_| ())
}
