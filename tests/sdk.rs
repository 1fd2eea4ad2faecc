//! The client library's own tests (`tests/sdk/client.test.mjs`, Node's test runner) against the
//! real engine on SQLite and PostgreSQL, importing the modules exactly as the engine serves them
//! at `/sdk/`. Without a Node that has a WebSocket client (22+, or 20 with
//! `--experimental-websocket`; the build script looks) these tests show as ignored, except on CI
//! (`CI` set), where they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Db, TestApp, spawn_app_with};
use switchboard::auth::Claims;
use switchboard::domain::Role;

fn sign(app: &TestApp, sub: &str, role: Role, name: &str) -> String {
    app.keys
        .sign(&Claims {
            sub: sub.into(),
            role,
            name: name.into(),
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap()
}

/// The served modules (every file of src/web/sdk/, fetched from `/sdk/`), written to a fresh
/// folder marked as ES modules for Node.
async fn served_sdk(app: &TestApp) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("switchboard-sdk-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("package.json"), r#"{"type":"module"}"#).unwrap();
    let sources = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/web/sdk");
    for entry in std::fs::read_dir(sources).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let mut res = awc::Client::default()
            .get(format!("{}/sdk/{file}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{file}");
        let body = res.body().limit(1 << 20).await.unwrap();
        std::fs::write(dir.join(file), body).unwrap();
    }
    dir
}

async fn node_tests_pass(kind: Db) {
    let app = spawn_app_with(kind, &[("SEED__DEMO", "true")])
        .await
        .expect("a test server");
    let sdk = served_sdk(&app).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/client.test.mjs");
    // build.rs found no Node with a WebSocket client: only on CI does the test run then, and fail.
    let Some(flags) = option_env!("SWITCHBOARD_NODE_FLAGS") else {
        panic!(
            "no Node with a WebSocket client on PATH (Node 22+, or Node 20 with \
             --experimental-websocket): on CI the client library's tests must run; install one"
        );
    };
    let mut node = Command::new("node");
    node.args(flags.split_whitespace())
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(&script)
        .env("SB_URL", &app.base)
        .env("SB_SDK", &sdk)
        .env(
            "SB_USER_TOKEN",
            sign(&app, "emma", Role::User, "Emma Wilson"),
        )
        .env(
            "SB_ANALYST_TOKEN",
            sign(&app, "bob", Role::Analyst, "Bob Tran"),
        )
        .env("SB_ADMIN_TOKEN", app.admin());
    // The engine runs on this thread's runtime: node waits on another thread.
    let out = actix_web::rt::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("node runs");
    let _ = std::fs::remove_dir_all(&sdk);
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "node tests failed:\n{report}");
    assert!(report.contains("pass 11"), "every node test ran:\n{report}");
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_node,
    ignore = "needs Node with a WebSocket client (22+, or 20)"
)]
async fn the_client_library_passes_its_node_tests_on_sqlite() {
    node_tests_pass(Db::Sqlite).await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_node,
    ignore = "needs Node with a WebSocket client (22+, or 20)"
)]
#[cfg_attr(
    switchboard_no_pg,
    ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL"
)]
async fn the_client_library_passes_its_node_tests_on_postgres() {
    node_tests_pass(Db::Postgres).await;
}
