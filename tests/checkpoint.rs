//! SQLite's write-ahead log is checkpointed by the background checkpointer, never inside a commit
//! (`store::checkpoint`): commits leave the WAL growing, a checkpoint copies it back, and the next
//! commit starts the WAL over, truncated to `database.sqlite_wal_limit_mb`. SQLite only: PostgreSQL
//! has no such log to manage, so there is no PostgreSQL half to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Db, TestDb};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use switchboard::store::{self, checkpoint};

const MIB: u64 = 1024 * 1024;

fn wal_len(url: &str) -> u64 {
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap();
    std::fs::metadata(format!("{path}-wal"))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Commits `mib` MiB of rows, one 64 KiB row per transaction.
async fn write(db: &DatabaseConnection, mib: u64) {
    for _ in 0..mib * 16 {
        db.execute_unprepared("INSERT INTO filler (body) VALUES (randomblob(65536))")
            .await
            .unwrap();
    }
}

#[actix_web::test]
async fn commits_leave_the_wal_to_the_checkpointer_which_copies_and_truncates_it() {
    let test_db = TestDb::create(Db::Sqlite).await.unwrap();
    let settings = common::test_settings(&test_db.url, &[("database.sqlite_wal_limit_mb", "1")]);
    let db = store::connect_writer(&settings.database).await.unwrap();
    db.execute_unprepared("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .await
        .unwrap();

    // SQLite's automatic checkpoint (on by default at 1,000 pages, about 4 MiB) would have reset
    // the log and kept the file near 4 MiB; with it off, commits only append.
    write(&db, 12).await;
    assert!(
        wal_len(&test_db.url) > 12 * MIB,
        "the WAL is {} bytes after 12 MiB of commits: a commit checkpointed",
        wal_len(&test_db.url)
    );

    // The checkpointer's passive checkpoint, on its own connection, copies the whole log back;
    // the next commit then starts the log over and truncates the file to the limit.
    let checkpointer = store::connect_checkpointer(&settings.database)
        .await
        .unwrap();
    checkpoint::checkpoint(&checkpointer).await.unwrap();
    db.execute_unprepared("INSERT INTO filler (body) VALUES (x'00')")
        .await
        .unwrap();
    assert!(
        wal_len(&test_db.url) <= MIB,
        "the WAL is {} bytes after a checkpoint and a commit: not truncated to 1 MiB",
        wal_len(&test_db.url)
    );
    let rows = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM filler",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(rows, 12 * 16 + 1);
}

#[actix_web::test]
async fn the_running_server_checkpoints_in_the_background() {
    let app = common::spawn_app_with(
        Db::Sqlite,
        &[
            ("database.sqlite_checkpoint_ms", "50"),
            ("database.sqlite_wal_limit_mb", "1"),
        ],
    )
    .await
    .unwrap();
    let url = app.settings.database.url.clone();
    let db = store::connect_writer(&app.settings.database).await.unwrap();
    db.execute_unprepared("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .await
        .unwrap();
    write(&db, 8).await;
    // Within a few of the checkpointer's ticks the log is copied back, and the next commit
    // truncates the file: without a checkpointer it would only grow.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        db.execute_unprepared("INSERT INTO filler (body) VALUES (x'00')")
            .await
            .unwrap();
        if wal_len(&url) <= MIB {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL is still {} bytes 10 s after 8 MiB of commits: no background checkpoint",
            wal_len(&url)
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
