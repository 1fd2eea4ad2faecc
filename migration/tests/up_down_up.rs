//! Round-trip test for the migrator: `up`, `down(None)`, `up` again on a fresh
//! SQLite file and on a throw-away PostgreSQL database, checking every table
//! exists afterwards (and none survive the `down`).
//!
//! The PostgreSQL half connects to `postgres://postgres@127.0.0.1:5432/postgres`
//! and is skipped only when `SWITCHBOARD_TEST_PG=0`.

use std::time::{SystemTime, UNIX_EPOCH};

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr};

const TABLES: [&str; 11] = [
    "queues",
    "analysts",
    "queue_members",
    "users",
    "calls",
    "chats",
    "chat_links",
    "chat_messages",
    "call_history",
    "chat_supervisors",
    "chat_ratings",
];

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432";

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{}", std::process::id(), nanos)
}

async fn assert_tables(db: &DatabaseConnection, expected: bool) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        let present = manager.has_table(table).await?;
        assert_eq!(
            present, expected,
            "table {table}: expected present={expected}, got {present}"
        );
    }
    Ok(())
}

async fn up_down_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    assert_tables(db, true).await?;
    Migrator::down(db, None).await?;
    assert_tables(db, false).await?;
    Migrator::up(db, None).await?;
    assert_tables(db, true).await?;
    assert!(Migrator::get_pending_migrations(db).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn sqlite_up_down_up() -> Result<(), DbErr> {
    let path = std::env::temp_dir().join(format!("sb_mig_{}.db", unique_suffix()));
    let url = format!("sqlite://{}?mode=rwc", path.display());

    let db = Database::connect(&url).await?;
    let result = up_down_up(&db).await;
    db.close().await?;

    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    result
}

#[tokio::test]
async fn postgres_up_down_up() -> Result<(), DbErr> {
    if std::env::var("SWITCHBOARD_TEST_PG").is_ok_and(|v| v == "0") {
        eprintln!("SWITCHBOARD_TEST_PG=0: skipping PostgreSQL migration test");
        return Ok(());
    }

    let db_name = format!("sb_mig_{}", unique_suffix());
    let admin = Database::connect(format!("{PG_ADMIN_URL}/postgres")).await?;
    admin
        .execute_unprepared(&format!(r#"CREATE DATABASE "{db_name}""#))
        .await?;

    let result = async {
        let db = Database::connect(format!("{PG_ADMIN_URL}/{db_name}")).await?;
        let result = up_down_up(&db).await;
        db.close().await?;
        result
    }
    .await;

    let dropped = admin
        .execute_unprepared(&format!(
            r#"DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)"#
        ))
        .await;
    admin.close().await?;

    result?;
    dropped.map(|_| ())
}
