//! The `service` role (contract v2 preamble, §10.3): the host's integration account, with no
//! directory entry. It reads and writes calls (and, as they land, webhooks and attachment
//! downloads); `/ws`, the event stream and every other route answer 403. `switchboard token
//! --role service` mints one. Every server test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use serde_json::{Value, json};
use switchboard::domain::Role;

fn service(app: &TestApp) -> String {
    app.token("crm-bridge", Role::Service)
}

/// A call made by a user's chat; returns its id.
async fn a_call(app: &TestApp) -> String {
    app.provision("service-desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk", "subject": "VPN"}))
        .await;
    ok["call_id"].as_str().unwrap().to_string()
}

async fn service_is_refused_on_the_websocket(app: TestApp) {
    let refused = app.ws_with(&service(&app), None).await.err();
    assert_eq!(refused, Some(403), "service may not open /ws");
}

async fn service_reads_any_call(app: TestApp) {
    let call_id = a_call(&app).await;
    let (status, body) = app
        .get(&format!("/api/v1/calls/{call_id}"), &service(&app))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], call_id.as_str());
    assert_eq!(body["user"]["id"], "emma");
    let (status, _) = app.get("/api/v1/calls/no-such-call", &service(&app)).await;
    assert_eq!(status, 404);
}

async fn service_gets_403_everywhere_else(app: TestApp) {
    let call_id = a_call(&app).await;
    let token = service(&app);
    let mut chats = app
        .get("/api/v1/chats?filter=waiting", &app.admin())
        .await
        .1;
    let chat_id = chats["chats"][0]["chat_id"].take();
    let chat_id = chat_id.as_str().unwrap();
    let requests: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/v1/me".into(), None),
        ("GET", "/api/v1/queues".into(), None),
        ("GET", "/api/v1/queues/service-desk".into(), None),
        ("GET", "/api/v1/queues/service-desk/analysts".into(), None),
        (
            "PUT",
            "/api/v1/queues/new-queue".into(),
            Some(json!({"name": "New", "routing": "auto"})),
        ),
        (
            "PATCH",
            "/api/v1/queues/service-desk".into(),
            Some(json!({"enabled": false})),
        ),
        ("GET", "/api/v1/analysts/alice".into(), None),
        (
            "PUT",
            "/api/v1/analysts/bob".into(),
            Some(json!({"name": "Bob", "capacity": 3, "role": "analyst"})),
        ),
        (
            "PUT",
            "/api/v1/queues/service-desk/members/alice".into(),
            Some(json!({"role": "manager"})),
        ),
        ("GET", "/api/v1/chats".into(), None),
        ("GET", format!("/api/v1/chats/{chat_id}"), None),
        ("GET", "/api/v1/stats".into(), None),
        ("GET", "/api/v1/events".into(), None),
        ("POST", "/api/v1/ws-tickets".into(), None),
        (
            "POST",
            format!("/api/v1/chats/{chat_id}/attachments"),
            Some(json!("not a file")),
        ),
    ];
    for (method, path, body) in requests {
        let (status, problem, content_type) = app.call(method, &path, Some(&token), body).await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
        assert_eq!(problem["code"], "forbidden", "{method} {path}");
        assert_eq!(content_type, "application/problem+json");
    }
    // Nothing changed.
    let (_, queue) = app.get("/api/v1/queues/service-desk", &app.admin()).await;
    assert_eq!(queue["enabled"], true);
    let (status, _) = app.get("/api/v1/queues/new-queue", &app.admin()).await;
    assert_eq!(status, 404);
    let (status, _) = app.get(&format!("/api/v1/calls/{call_id}"), &token).await;
    assert_eq!(status, 200, "the calls routes stay open");
}

on_both_databases!(
    service_is_refused_on_the_websocket,
    service_reads_any_call,
    service_gets_403_everywhere_else,
);

#[test]
fn token_subcommand_mints_a_service_token() {
    let secret = "cli-test-secret-at-least-32-bytes-long";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "token",
            "--sub",
            "crm-bridge",
            "--role",
            "service",
            "--name",
            "CRM bridge",
        ])
        .env("SWITCHBOARD_ENV", "test")
        .env("SWITCHBOARD_CONFIG_DIR", common::config_dir())
        .env("SWITCHBOARD__AUTH__JWT_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let principal = switchboard::auth::JwtKeys::new(secret)
        .verify(token.trim(), chrono::Utc::now().timestamp())
        .unwrap();
    assert_eq!(principal.role, Role::Service);
    assert_eq!(principal.id, "crm-bridge");
}
