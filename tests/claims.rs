//! Claims the README and the contract make that had no test behind them: tokens, message bodies
//! and query strings stay out of the logs (the real binary's log output, captured); every HTTP
//! answer carries its own `x-request-id`; a 405 names the allowed methods in `Allow`; `/readyz`
//! reports each of its checks; a disabled queue still answers the chats already waiting in it
//! (contract §4); a higher-priority queue's chat is answered first, across queues (§4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::process::ServerProcess;
use common::{Db, TestApp, TestDb};
use serde_json::json;
use switchboard::domain::Role;

/// Sends a request and returns the status and the response headers.
async fn headers(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, awc::http::header::HeaderMap) {
    let mut req =
        awc::Client::new().request(method.parse().unwrap(), format!("{}{path}", app.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.headers().clone())
}

#[actix_web::test]
async fn logs_keep_out_tokens_bodies_and_query_strings() {
    let db = TestDb::create(Db::Sqlite).await.unwrap();
    let url = db.url.clone();
    // Our own debug lines too: the claim holds at every level the engine logs at.
    let server = ServerProcess::start(&url, &[("LOG__FILTER", "switchboard=debug,info")]);
    let app = TestApp::attach(db, Db::Sqlite, &server.base).await;
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let token = app.token("emma", Role::User);
    let (status, ticket, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&token), None)
        .await;
    assert_eq!(status, 201);
    let ticket = ticket["ticket"].as_str().unwrap().to_string();
    let mut emma = app.ws_ticket(&ticket).await.unwrap();
    let chat = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk", "subject": "subject-5ecret"}))
        .await;
    let chat_id = chat["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "body-5ecret"}))
        .await;
    alice.expect("message").await;
    // A refused send is logged at debug: its body stays out too.
    emma.fails(
        json!({"type": "send", "chat_id": chat_id, "body": "refused-5ecret\u{7}"}),
        "bad_request",
    )
    .await;
    let (status, _) = app
        .get("/api/v1/chats?filter=answered&q=query-5ecret", &app.admin())
        .await;
    assert!(status == 200 || status == 400, "{status}");
    let (status, _, _) = app
        .call(
            "GET",
            "/api/v1/stats?token=query2-5ecret",
            Some("not-a-jwt-5ecret"),
            None,
        )
        .await;
    assert_eq!(status, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let logs = server.logs.lock().unwrap().join("\n");
    // The control: the capture holds the requests that were made (by path).
    assert!(logs.contains("/api/v1/ws-tickets"), "{logs}");
    assert!(logs.contains("/api/v1/chats"), "{logs}");
    for secret in [
        token.as_str(),
        app.admin().as_str(),
        app.token("alice", Role::Analyst).as_str(),
        ticket.as_str(),
        "5ecret",
    ] {
        assert!(!logs.contains(secret), "{secret:?} is in the logs:\n{logs}");
    }
    // JWTs all begin with the same header: none is in the logs, whoever it belongs to.
    assert!(!logs.contains("eyJ"), "a token is in the logs:\n{logs}");
}

async fn every_answer_has_its_own_request_id(app: TestApp) {
    let admin = app.admin();
    let mut seen = HashSet::new();
    for (method, path, token) in [
        ("GET", "/healthz", None),
        ("GET", "/api/v1/queues", Some(admin.as_str())),
        ("GET", "/api/v1/queues", None),
        ("GET", "/api/v1/nowhere", Some(admin.as_str())),
        ("GET", "/api/v1/queues", Some(admin.as_str())),
    ] {
        let (status, headers) = headers(&app, method, path, token).await;
        let id = headers
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{method} {path} ({status}) has no x-request-id"))
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id:?}"
        );
        assert!(seen.insert(id.clone()), "{id} was given twice");
    }
}

/// Every documented path answers a method it does not have with 405 and `Allow` naming exactly
/// the methods the OpenAPI document gives it.
async fn a_wrong_method_is_405_with_allow(app: TestApp) {
    let admin = app.admin();
    let (_, doc, _) = app.call("GET", "/api/openapi.json", None, None).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let mut documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        documented.sort_unstable();
        let Some(other) = ["DELETE", "PATCH", "PUT", "POST", "GET"]
            .into_iter()
            .find(|m| !documented.iter().any(|d| d == m))
        else {
            continue;
        };
        let concrete = path.replace('{', "x").replace('}', "");
        let (status, headers) = headers(&app, other, &concrete, Some(&admin)).await;
        assert_eq!(status, 405, "{other} {concrete}");
        let allow = headers
            .get("allow")
            .unwrap_or_else(|| panic!("{other} {concrete}: no Allow"))
            .to_str()
            .unwrap();
        let mut got: Vec<String> = allow.split(',').map(|m| m.trim().to_string()).collect();
        got.sort_unstable();
        assert_eq!(got, documented, "{other} {concrete}: Allow {allow}");
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} paths checked");
}

async fn readiness_reports_each_check(app: TestApp) {
    let (status, body, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "ok", "checks": {"database": "ok", "identity": "none", "message_writes": "ok", "router": "ok"}})
        )
    );
}

/// Contract §4: a disabled queue takes no new chats, but those already waiting are answered.
async fn a_disabled_queue_still_answers_its_waiting_chats(app: TestApp) {
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst"), ("carol", "manager")],
        3,
    )
    .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let waiting = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await["chat_id"]
        .clone();
    let (status, body) = app
        .patch(
            "/api/v1/queues/service-desk",
            &app.token("carol", Role::Manager),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    fred.fails(
        json!({"type": "start_chat", "queue_id": "service-desk"}),
        "queue_offline",
    )
    .await;
    // Alice comes online after the queue went off: Emma's chat is still routed to her.
    let mut alice = app.available("alice").await;
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], waiting);
    let accepted = emma.expect("chat_accepted").await;
    assert_eq!(accepted["chat_id"], waiting);
}

/// Contract §4: the higher-priority queue's chat goes first, even when it waited less.
async fn priority_orders_chats_across_queues(app: TestApp) {
    let admin = app.admin();
    app.provision("low", "auto", &[("alice", "analyst")], 1)
        .await;
    app.provision("high", "auto", &[("alice", "analyst")], 1)
        .await;
    let (s, body) = app
        .put(
            "/api/v1/queues/high",
            &admin,
            json!({"name": "High", "routing": "auto", "priority": 5}),
        )
        .await;
    assert_eq!((s, &body["priority"]), (200, &json!(5)), "{body}");
    let mut early = app.ws(&app.token("early", Role::User)).await;
    let low = early
        .ok(json!({"type": "start_chat", "queue_id": "low"}))
        .await["chat_id"]
        .clone();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut late = app.ws(&app.token("late", Role::User)).await;
    let high = late
        .ok(json!({"type": "start_chat", "queue_id": "high"}))
        .await["chat_id"]
        .clone();
    // Alice (capacity 1, member of both) comes online: she gets the high-priority chat.
    let mut alice = app.available("alice").await;
    let first = alice.expect("chat_assigned").await;
    assert_eq!(
        first["chat"]["chat_id"], high,
        "priority first, then waiting time"
    );
    late.expect("chat_accepted").await;
    alice
        .expect_none("chat_assigned", Duration::from_millis(300))
        .await;
    // Closing it frees her: the low-priority chat follows.
    alice
        .ok(json!({"type": "close_chat", "chat_id": high}))
        .await;
    let second = alice.expect("chat_assigned").await;
    assert_eq!(second["chat"]["chat_id"], low);
    early.expect("chat_accepted").await;
}

on_both_databases!(
    every_answer_has_its_own_request_id,
    a_wrong_method_is_405_with_allow,
    readiness_reports_each_check,
    a_disabled_queue_still_answers_its_waiting_chats,
    priority_orders_chats_across_queues,
);
