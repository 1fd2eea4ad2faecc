//! Test support: `spawn_app` starts the real server on port 0 against a fresh database (a new
//! SQLite file, or a new PostgreSQL database created on the local server and dropped afterwards),
//! and hands back tokens, an HTTP client and the database to assert on.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod browser_find;
pub mod cluster;
pub mod cluster_sessions;
pub mod files;
pub mod outage;
pub mod portal;
pub mod process;
pub mod prom;
pub mod raw_ws;
pub mod receiver;
pub mod scenes;
pub mod sse;
pub mod ws;

use std::collections::HashMap;
use std::path::PathBuf;

use awc::Client;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;
use switchboard::app::Application;
use switchboard::auth::{Claims, JwtKeys};
use switchboard::domain::Role;
use switchboard::settings::{Settings, SettingsSource};

/// Which real database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The local PostgreSQL server. A PostgreSQL test that runs while `SWITCHBOARD_TEST_PG=0` was not
/// marked ignored (`on_both_databases!` and `for_each_database!` mark theirs): it fails rather
/// than passing without running.
fn pg_server() -> String {
    match std::env::var("SWITCHBOARD_TEST_PG").ok().as_deref() {
        Some("0") => panic!(
            "SWITCHBOARD_TEST_PG=0 but this PostgreSQL test is not ignored: give it \
             #[cfg_attr(switchboard_no_pg, ignore = \"...\")] (build.rs sets the cfg; never on CI)"
        ),
        Some(url) if url.starts_with("postgres") => url.trim_end_matches('/').to_string(),
        _ => "postgres://postgres@127.0.0.1:5432".to_string(),
    }
}

/// A database made for one test, removed when the test ends.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Database { server: String, name: String },
}

impl TestDb {
    /// A fresh database of the given kind. Always `Some` (like `spawn_app`); the `Option` stays so
    /// existing call sites keep compiling.
    pub async fn create(kind: Db) -> Option<TestDb> {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        match kind {
            Db::Sqlite => {
                let dir = std::env::temp_dir().join("switchboard-tests");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("{unique}.db"));
                Some(TestDb {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    cleanup: Cleanup::File(path),
                })
            }
            Db::Postgres => {
                let server = pg_server();
                let name = format!("sb_test_{unique}");
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {server} is required (build and run with SWITCHBOARD_TEST_PG=0 to list its tests as ignored locally): {e}")
                    });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                Some(TestDb {
                    url: format!("{server}/{name}"),
                    cleanup: Cleanup::Database { server, name },
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { server, name } => {
                let (server, name) = (server.clone(), name.clone());
                // Drop runs outside async; a helper thread with its own runtime does the async drop.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(admin) = Database::connect(format!("{server}/postgres")).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The repository's `config/` folder.
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Test settings: the `test` profile, port 0, one worker, the given database and overrides
/// (environment-variable style: `("ROUTING__OFFER_TIMEOUT_SECS", "1")`).
pub fn test_settings(db_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = HashMap::new();
    // Long enough that a busy machine never ends a chat by accident; presence tests shorten it.
    env.insert(
        "SWITCHBOARD__ROUTING__RECONNECT_GRACE_SECS".into(),
        "30".into(),
    );
    env.insert("SWITCHBOARD__DATABASE__URL".into(), db_url.into());
    env.insert("SWITCHBOARD__SERVER__BIND".into(), "127.0.0.1:0".into());
    env.insert("SWITCHBOARD__SERVER__WORKERS".into(), "1".into());
    env.insert("SWITCHBOARD__DATABASE__MAX_CONNECTIONS".into(), "4".into());
    for (k, v) in overrides {
        env.insert(format!("SWITCHBOARD__{k}"), (*v).into());
    }
    Settings::load_from(&SettingsSource {
        config_dir: config_dir(),
        profile: "test".into(),
        env,
    })
    .expect("test settings load")
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub ws_base: String,
    pub keys: JwtKeys,
    /// A separate connection to the server's database, for assertions.
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub kind: Db,
    _db: TestDb,
}

impl TestApp {
    /// A handle on a server running elsewhere (a child process) with the test profile on `test_db`.
    pub async fn attach(test_db: TestDb, kind: Db, base: &str) -> TestApp {
        let settings = test_settings(&test_db.url, &[]);
        let db = Database::connect(&test_db.url).await.unwrap();
        TestApp {
            base: base.to_string(),
            ws_base: base.replacen("http://", "ws://", 1),
            keys: JwtKeys::new(&settings.auth.jwt_secret),
            db,
            settings,
            kind,
            _db: test_db,
        }
    }

    /// Points this handle at another server on the same database (after a restart).
    pub fn repoint(&mut self, base: &str) {
        self.base = base.to_string();
        self.ws_base = base.replacen("http://", "ws://", 1);
    }
}

/// Starts the real server on a fresh database. Always `Some` (a PostgreSQL test that cannot run is
/// ignored by its attribute or fails); the `Option` stays so existing call sites keep compiling.
pub async fn spawn_app(kind: Db) -> Option<TestApp> {
    spawn_app_with(kind, &[]).await
}

pub async fn spawn_app_with(kind: Db, overrides: &[(&str, &str)]) -> Option<TestApp> {
    let test_db = TestDb::create(kind).await?;
    let settings = test_settings(&test_db.url, overrides);
    // `SWITCHBOARD_TEST_LOG=debug cargo test ...` shows the server's own logs.
    if let Ok(filter) = std::env::var("SWITCHBOARD_TEST_LOG") {
        let mut log = settings.log.clone();
        log.filter = filter;
        switchboard::telemetry::init(&log);
    }
    let app = Application::build(settings.clone())
        .await
        .expect("server builds");
    let addr = app.addr();
    actix_web::rt::spawn(app.run_until_stopped());
    let db = Database::connect(&test_db.url).await.unwrap();
    Some(TestApp {
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        keys: JwtKeys::new(&settings.auth.jwt_secret),
        db,
        settings,
        kind,
        _db: test_db,
    })
}

impl TestApp {
    /// A chat's stored messages, in seq order.
    pub async fn messages(&self, chat_id: &str) -> Vec<entities::chat_messages::Model> {
        use entities::chat_messages::{Column, Entity};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        Entity::find()
            .filter(Column::ChatId.eq(chat_id))
            .order_by_asc(Column::Seq)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// A chat's stored row (it must exist).
    pub async fn chat(&self, chat_id: &str) -> entities::chats::Model {
        use sea_orm::EntityTrait;
        entities::chats::Entity::find_by_id(chat_id.to_string())
            .one(&self.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("chat {chat_id} is not stored"))
    }

    /// A token for `sub` with `role`, valid for an hour.
    pub fn token(&self, sub: &str, role: Role) -> String {
        self.keys
            .sign(&Claims {
                sub: sub.into(),
                role,
                name: display_name(sub),
                exp: chrono::Utc::now().timestamp() + 3600,
            })
            .unwrap()
    }

    pub fn admin(&self) -> String {
        self.token("admin", Role::Admin)
    }

    /// Sends a request and returns the status and the JSON body (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value, String) {
        let client = Client::default();
        let mut req = client.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let mut res = match body {
            Some(body) => req.send_json(&body).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = res.body().limit(10 << 20).await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (res.status().as_u16(), json, content_type)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, v, _) = self.call("GET", path, Some(token), None).await;
        (s, v)
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.call("PUT", path, Some(token), Some(body)).await;
        (s, v)
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.call("PATCH", path, Some(token), Some(body)).await;
        (s, v)
    }

    /// Provisions a queue with the given routing mode and members (`(analyst_id, role)`), creating
    /// the analysts with capacity `capacity`.
    pub async fn provision(
        &self,
        queue: &str,
        routing: &str,
        members: &[(&str, &str)],
        capacity: i32,
    ) {
        let admin = self.admin();
        let (s, body) = self
            .put(
                &format!("/api/v1/queues/{queue}"),
                &admin,
                serde_json::json!({"name": display_name(queue), "routing": routing}),
            )
            .await;
        assert!(s == 200 || s == 201, "queue: {s} {body}");
        for (analyst, role) in members {
            let dir_role = if *role == "manager" {
                "manager"
            } else {
                "analyst"
            };
            let (s, body) = self
                .put(&format!("/api/v1/analysts/{analyst}"), &admin, serde_json::json!({"name": display_name(analyst), "capacity": capacity, "role": dir_role}))
                .await;
            assert!(s == 200 || s == 201, "analyst: {s} {body}");
            let (s, body) = self
                .put(
                    &format!("/api/v1/queues/{queue}/members/{analyst}"),
                    &admin,
                    serde_json::json!({"role": role}),
                )
                .await;
            assert!(s == 200 || s == 201, "member: {s} {body}");
        }
    }
}

/// Asserts that `value` is a contract timestamp (§1: RFC 3339 in UTC with a `Z` suffix and exactly
/// three fractional digits, `2026-11-25T11:20:56.123Z`) and returns it parsed.
pub fn assert_rfc3339_ms(value: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {value}"));
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("timestamp {text:?} is not RFC 3339: {e}"));
    let fraction = text
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("timestamp {text:?} does not end in Z"))
        .rsplit_once('.')
        .map(|(_, digits)| digits)
        .unwrap_or_default();
    assert!(
        fraction.len() == 3 && fraction.bytes().all(|b| b.is_ascii_digit()),
        "timestamp {text:?} does not have exactly three fractional digits"
    );
    parsed.with_timezone(&chrono::Utc)
}

/// "alice" → "Alice Test": names that are easy to recognise in assertions.
pub fn display_name(id: &str) -> String {
    let mut chars = id.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    format!("{first}{} Test", chars.as_str())
}

/// Defines one `#[actix_web::test]` per database for each `async fn name(app: TestApp)` given; the
/// PostgreSQL half is reported as ignored (with how to run it) when built with
/// `SWITCHBOARD_TEST_PG=0`.
#[macro_export]
macro_rules! on_both_databases {
    (with $overrides:expr; $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    let app = $crate::common::spawn_app_with($crate::common::Db::Sqlite, &$overrides).await;
                    super::$name(app.expect("a test server")).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(switchboard_no_pg, ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL")]
                async fn $name() {
                    let app = $crate::common::spawn_app_with($crate::common::Db::Postgres, &$overrides).await;
                    super::$name(app.expect("a test server")).await;
                }
            )+
        }
    };
    ($($name:ident),+ $(,)?) => {
        $crate::on_both_databases!(with []; $($name),+);
    };
}

/// Defines one `#[actix_web::test]` per database for each `async fn name(kind: Db)` given (tests
/// that start their own server or store); the PostgreSQL half is ignored like `on_both_databases!`'s.
#[macro_export]
macro_rules! for_each_database {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::common::Db::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(switchboard_no_pg, ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL")]
                async fn $name() {
                    super::$name($crate::common::Db::Postgres).await;
                }
            )+
        }
    };
}
