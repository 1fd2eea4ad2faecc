//! Database faults for tests: `Outage::begin` takes the test's database away for writes and
//! `end` gives it back. SQLite: another connection holds the write lock (writes fail after
//! `database.sqlite_busy_timeout_ms`). PostgreSQL: the test's database stops accepting
//! connections and the server's sessions are terminated. `until_ok` resends a command until
//! the engine answers it again after the outage.

use std::time::Duration;

use sea_orm::sqlx::{Connection, Executor, SqliteConnection};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use super::ws::WsClient;
use super::{Db, TestApp};

/// Something that takes the database away and gives it back.
pub enum Outage {
    SqliteLock(SqliteConnection),
    Postgres {
        admin: sea_orm::DatabaseConnection,
        name: String,
    },
}

impl Outage {
    pub async fn begin(app: &TestApp) -> Outage {
        let url = app.settings.database.url.clone();
        match app.kind {
            Db::Sqlite => {
                let mut conn = SqliteConnection::connect(&url).await.unwrap();
                conn.execute("BEGIN EXCLUSIVE").await.unwrap();
                Outage::SqliteLock(conn)
            }
            Db::Postgres => {
                let (server, name) = url.rsplit_once('/').unwrap();
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
                    ))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    ))
                    .await
                    .unwrap();
                Outage::Postgres {
                    admin,
                    name: name.to_string(),
                }
            }
        }
    }

    pub async fn end(self) {
        match self {
            Outage::SqliteLock(mut conn) => {
                conn.execute("COMMIT").await.unwrap();
                conn.close().await.unwrap();
            }
            Outage::Postgres { admin, name } => {
                admin
                    .execute_unprepared(&format!(
                        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"
                    ))
                    .await
                    .unwrap();
            }
        }
    }
}

/// Sends `command` until it is answered ok (the database is back, its pools reconnecting).
pub async fn until_ok(ws: &mut WsClient, command: Value) -> Value {
    for _ in 0..50 {
        if let Some(reply) = ws.try_cmd(command.clone()).await
            && reply["type"] == "ok"
        {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{command} never succeeded once the database was back");
}
