//! Webhooks end to end (contract §10.1) against a real receiver (`common::receiver`: an
//! actix-web server on port 0 that checks every signature with the endpoint's secret): every
//! event type that exists today arrives signed with the documented body, in order per chat; a
//! receiver answering 500 three times gets the event once more with the same `webhook-id`;
//! pending deliveries survive an engine restart while the receiver is down; `410` disables the
//! endpoint; a change whose write fails reports nothing; only admins manage endpoints; the
//! deliveries log and manual retry. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::outage::{Outage, until_ok};
use common::process::ServerProcess;
use common::receiver::{Got, Receiver};
use common::{Db, TestApp, TestDb, assert_rfc3339_ms};
use entities::{webhook_deliveries, webhook_events};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use switchboard::domain::Role;

/// Retries a second apart (then 2 s, 4 s, …), a short SQLite busy wait for the outage test.
const FAST: [(&str, &str); 3] = [
    ("WEBHOOKS__RETRY_BASE_SECS", "1"),
    ("DATABASE__SQLITE_BUSY_TIMEOUT_MS", "200"),
    ("ROUTING__RECONNECT_GRACE_SECS", "1"),
];

const ALL_EVENTS: [&str; 9] = [
    "call.created",
    "chat.queued",
    "chat.accepted",
    "chat.transferred",
    "chat.ended",
    "chat.wrapped_up",
    "chat.rated",
    "analyst.status_changed",
    "queue.status_changed",
];

/// Registers `receiver` for `events` as endpoint `id` and hands it the generated secret.
async fn subscribe(app: &TestApp, receiver: &Receiver, id: &str, events: &[&str]) -> Value {
    let (status, body) = app
        .put(
            &format!("/api/v1/webhooks/{id}"),
            &app.admin(),
            json!({"url": receiver.url(), "events": events}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().expect("a generated secret");
    assert!(secret.starts_with("whsec_"));
    receiver.secret(secret);
    body
}

fn of_type<'a>(got: &'a [Got], kind: &str) -> Vec<&'a Got> {
    got.iter().filter(|g| g.body["type"] == kind).collect()
}

fn assert_chat_data(got: &Got, chat_id: &str, call_id: &str, queue_id: &str, state: &str) {
    let data = &got.body["data"];
    assert_eq!(data["chat_id"], chat_id, "{}", got.body);
    assert_eq!(data["call_id"], call_id);
    assert_eq!(data["queue_id"], queue_id);
    assert_eq!(data["chat"]["chat_id"], chat_id);
    assert_eq!(data["chat"]["queue_id"], queue_id);
    assert_eq!(data["chat"]["state"], state, "{}", got.body);
    assert_eq!(
        data["chat"]["user"],
        json!({"id": "emma", "name": "Emma Test"})
    );
}

async fn every_event_arrives_signed_with_its_documented_body(app: TestApp) {
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, "desk", &ALL_EVENTS).await;
    app.provision("service-desk", "auto", &[("alice", "manager")], 3)
        .await;
    app.provision("tier-2", "manual", &[("bob", "analyst")], 3)
        .await;
    // The host opens a call for its ticket.
    let (status, host_call, _) = app
        .call(
            "POST",
            "/api/v1/calls",
            Some(&app.token("bridge", Role::Service)),
            Some(json!({"user_id": "emma", "summary": "Laptop", "external_ref": "INC0012345", "external_url": "https://desk.example.com/INC0012345"})),
        )
        .await;
    assert_eq!(status, 201, "{host_call}");
    let mut alice = app.available("alice").await;
    let mut bob = app.ws(&app.token("bob", Role::Analyst)).await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk", "subject": "VPN down"}))
        .await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    let call_id = started["call_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "It says error 809", "client_msg_id": "e1"}))
        .await;
    // A whisper takes seq 2 and never reaches the host's copy of what the user saw.
    alice
        .ok(json!({"type": "whisper", "chat_id": chat_id, "body": "internal: known VPN outage", "client_msg_id": "w1"}))
        .await;
    alice
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "Passing you to tier 2", "client_msg_id": "a1"}))
        .await;
    alice
        .ok(json!({"type": "transfer", "chat_id": chat_id, "queue_id": "tier-2"}))
        .await;
    bob.expect("chat_queued").await;
    bob.ok(json!({"type": "accept", "chat_id": chat_id})).await;
    emma.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    let (status, _) = app
        .patch(
            "/api/v1/queues/service-desk",
            &app.token("alice", Role::Manager),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, 200);

    let got = receiver
        .wait_delivered(&[
            "call.created",
            "chat.queued",
            "chat.accepted",
            "chat.transferred",
            "chat.ended",
            "analyst.status_changed",
            "queue.status_changed",
        ])
        .await;
    for g in &got {
        assert!(g.signed, "signature checks with the secret: {}", g.body);
        assert!(g.id.starts_with("msg_"), "webhook-id {}", g.id);
        assert!((g.timestamp - chrono::Utc::now().timestamp()).abs() < 120);
        assert_rfc3339_ms(&g.body["timestamp"]);
    }
    // A chat's events arrive in the order they happened.
    let chat_events: Vec<&str> = got
        .iter()
        .filter(|g| {
            g.body["data"]["chat_id"] == chat_id.as_str()
                || g.body["data"]["id"] == call_id.as_str()
        })
        .map(|g| g.body["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        chat_events,
        [
            "call.created",
            "chat.queued",
            "chat.accepted",
            "chat.transferred",
            "chat.accepted",
            "chat.ended"
        ]
    );

    let created = of_type(&got, "call.created");
    assert_eq!(created.len(), 2, "the host's call and the chat's");
    let host = &created
        .iter()
        .find(|g| g.body["data"]["id"] == host_call["id"])
        .unwrap()
        .body["data"];
    assert_eq!(
        (
            host["external_ref"].as_str(),
            host["external_url"].as_str(),
            host["summary"].as_str()
        ),
        (
            Some("INC0012345"),
            Some("https://desk.example.com/INC0012345"),
            Some("Laptop")
        )
    );
    let call = &created
        .iter()
        .find(|g| g.body["data"]["id"] == call_id.as_str())
        .unwrap()
        .body["data"];
    assert_eq!(
        (&call["external_ref"], &call["external_url"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(call["user"], json!({"id": "emma", "name": "Emma Test"}));
    assert_eq!(
        (call["summary"].as_str(), call["source"].as_str()),
        (Some("VPN down"), Some("Chat"))
    );
    assert_eq!(call["history"], json!([]));

    assert_chat_data(
        of_type(&got, "chat.queued")[0],
        &chat_id,
        &call_id,
        "service-desk",
        "waiting",
    );
    let accepted = of_type(&got, "chat.accepted");
    assert_chat_data(accepted[0], &chat_id, &call_id, "service-desk", "active");
    assert_eq!(accepted[0].body["data"]["chat"]["analyst"]["id"], "alice");
    assert_chat_data(accepted[1], &chat_id, &call_id, "tier-2", "active");
    assert_eq!(accepted[1].body["data"]["chat"]["analyst"]["id"], "bob");
    let transferred = of_type(&got, "chat.transferred")[0];
    assert_chat_data(transferred, &chat_id, &call_id, "tier-2", "waiting");
    assert_eq!(transferred.body["data"]["chat"]["analyst"], Value::Null);

    let ended = of_type(&got, "chat.ended")[0];
    assert_chat_data(ended, &chat_id, &call_id, "tier-2", "closed");
    let data = &ended.body["data"];
    assert_eq!(data["end_reason"], "closed_by_user");
    assert_eq!(data["chat"]["end_reason"], "closed_by_user");
    assert_eq!(data["wrap_up"], Value::Null);
    assert!(data.as_object().unwrap().contains_key("wrap_up"));
    let transcript: Vec<(i64, &str, &str)> = data["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().unwrap(),
                m["from"]["id"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        transcript,
        [
            (1, "emma", "It says error 809"),
            (3, "alice", "Passing you to tier 2")
        ],
        "internal messages are left out"
    );
    assert_eq!(data["chat"]["last_seq"], 3);

    let status = of_type(&got, "analyst.status_changed")[0];
    let data = &status.body["data"];
    assert_eq!(
        (data["analyst_id"].as_str(), data["status"].as_str()),
        (Some("alice"), Some("available"))
    );
    assert_eq!(data["by"]["id"], "alice");
    assert_rfc3339_ms(&data["at"]);

    let queue = &of_type(&got, "queue.status_changed")[0].body["data"];
    assert_eq!(
        (
            queue["queue_id"].as_str(),
            queue["enabled"].as_bool(),
            queue["open_now"].as_bool()
        ),
        (Some("service-desk"), Some(false), Some(true))
    );
    assert_eq!(queue["by"]["id"], "alice");
    assert_rfc3339_ms(&queue["at"]);
    // Each event once (nothing failed, nothing was retried).
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len());
}

/// Turns the queue off and on (two `queue.status_changed`), as the admin.
async fn switch_queue(app: &TestApp, enabled: bool) {
    let (status, body) = app
        .patch(
            "/api/v1/queues/service-desk",
            &app.admin(),
            json!({"enabled": enabled}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn deliveries(app: &TestApp, endpoint: &str, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &format!("/api/v1/webhooks/{endpoint}/deliveries{query}"),
            &app.admin(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

async fn failures_are_retried_with_the_same_id_then_delivered_once(app: TestApp) {
    app.provision("service-desk", "manual", &[], 3).await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, "desk", &["queue.status_changed"]).await;
    receiver.script(&[500, 500, 500]);
    switch_queue(&app, false).await;
    // Retries 1 s, 2 s and 4 s after each failure.
    let got = receiver
        .wait_for(Duration::from_secs(30), |got| {
            got.iter().any(|g| g.answered == 200)
        })
        .await;
    let answers: Vec<u16> = got.iter().map(|g| g.answered).collect();
    assert_eq!(answers, [500, 500, 500, 200]);
    assert!(
        got.iter()
            .all(|g| g.id == got[0].id && g.signed && g.body == got[0].body)
    );
    // Delivered: not sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.got().len(),
        4,
        "exactly once more after the failures"
    );

    let log = deliveries(&app, "desk", "").await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (
            log[0]["status"].as_str(),
            log[0]["attempts"].as_i64(),
            log[0]["last_status_code"].as_i64()
        ),
        (Some("delivered"), Some(4), Some(200))
    );
    assert_eq!(log[0]["event_type"], "queue.status_changed");
    assert_eq!(log[0]["event_id"], got[0].id.as_str());
    assert_eq!(log[0]["next_attempt_at"], Value::Null);
    assert_rfc3339_ms(&log[0]["last_attempt_at"]);
    assert!(deliveries(&app, "desk", "?status=pending").await.is_empty());
    assert_eq!(deliveries(&app, "desk", "?status=delivered").await.len(), 1);

    // A manual retry sends it once more, with the same webhook-id.
    let delivery_id = log[0]["id"].as_str().unwrap();
    let (status, body, _) = app
        .call(
            "POST",
            &format!("/api/v1/webhooks/desk/deliveries/{delivery_id}/retry"),
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let got = receiver
        .wait_for(Duration::from_secs(10), |got| got.len() == 5)
        .await;
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].id, got[0].id);
    assert_eq!(got[4].answered, 200);
    // The outcome is stored just after the receiver answered.
    let mut log = deliveries(&app, "desk", "").await;
    for _ in 0..50 {
        if log[0]["attempts"] == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = deliveries(&app, "desk", "").await;
    }
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("delivered"), Some(5))
    );
    let (status, _, _) = app
        .call(
            "POST",
            "/api/v1/webhooks/desk/deliveries/999999/retry",
            Some(&app.admin()),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn a_410_disables_the_endpoint_until_it_is_enabled_again(app: TestApp) {
    app.provision("service-desk", "manual", &[], 3).await;
    let receiver = Receiver::start().await;
    let created = subscribe(&app, &receiver, "desk", &["queue.status_changed"]).await;
    receiver.script(&[410]);
    switch_queue(&app, false).await;
    receiver
        .wait_for(Duration::from_secs(10), |got| !got.is_empty())
        .await;
    let mut disabled = Value::Null;
    for _ in 0..50 {
        disabled = app.get("/api/v1/webhooks/desk", &app.admin()).await.1;
        if disabled["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(disabled["enabled"], false, "{disabled}");
    assert!(
        disabled["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    // Disabled: nothing more is sent, neither the retry nor new events.
    switch_queue(&app, true).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 1);
    assert_eq!(deliveries(&app, "desk", "?status=pending").await.len(), 1);

    // Enabled again (same url, the secret kept): the pending one goes out.
    let (status, body) = app
        .put(
            "/api/v1/webhooks/desk",
            &app.admin(),
            json!({"url": receiver.url(), "events": ["queue.status_changed"], "enabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("secret").is_none(),
        "the secret is returned only when generated"
    );
    assert_eq!(body["created_at"], created["created_at"]);
    let got = receiver
        .wait_for(Duration::from_secs(15), |got| {
            got.iter().filter(|g| g.answered == 200).count() == 1
        })
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].id, got[0].id);
    assert!(got[1].signed, "the kept secret still signs");
}

async fn a_change_whose_write_fails_reports_nothing(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver, "desk", &["chat.ended"]).await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.expect("chat_accepted").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let outage = Outage::begin(&app).await;
    let close = json!({"type": "close_chat", "chat_id": chat_id});
    emma.fails(close.clone(), "unavailable").await;
    outage.end().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        receiver.got().is_empty(),
        "no chat.ended for an end that was not stored"
    );
    let ended_rows = || {
        webhook_events::Entity::find()
            .filter(webhook_events::Column::EventType.eq("chat.ended"))
            .count(&app.db)
    };
    let mut counted = None;
    for _ in 0..50 {
        if let Ok(n) = ended_rows().await {
            counted = Some(n);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, Some(0));

    // The same close, once stored, is reported exactly once.
    until_ok(&mut emma, close).await;
    let got = receiver.wait_delivered(&["chat.ended"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.got().len(), 1, "{got:?}");
    assert_eq!(got[0].body["data"]["chat_id"], chat_id.as_str());
}

async fn only_admins_manage_endpoints_and_bad_input_changes_nothing(app: TestApp) {
    app.provision("service-desk", "manual", &[("alice", "manager")], 3)
        .await;
    let receiver = Receiver::start().await;
    let admin = app.admin();
    let body = json!({"url": receiver.url(), "events": ["chat.ended"]});
    for token in [
        app.token("alice", Role::Manager),
        app.token("emma", Role::User),
    ] {
        let (s, _) = app.put("/api/v1/webhooks/desk", &token, body.clone()).await;
        assert_eq!(s, 403);
        assert_eq!(app.get("/api/v1/webhooks", &token).await.0, 403);
        assert_eq!(app.get("/api/v1/webhooks/desk", &token).await.0, 403);
        assert_eq!(
            app.get("/api/v1/webhooks/desk/deliveries", &token).await.0,
            403
        );
        let (s, _, _) = app
            .call("DELETE", "/api/v1/webhooks/desk", Some(&token), None)
            .await;
        assert_eq!(s, 403);
    }
    let (s, _, _) = app.call("GET", "/api/v1/webhooks", None, None).await;
    assert_eq!(s, 401);
    // The host's integration account manages them like an admin.
    let service = app.token("host", Role::Service);
    let (s, made) = app
        .put("/api/v1/webhooks/by-service", &service, body.clone())
        .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(
        app.get("/api/v1/webhooks/by-service", &service).await.0,
        200
    );
    assert_eq!(
        app.get("/api/v1/webhooks/by-service/deliveries", &service)
            .await
            .0,
        200
    );
    let (s, _, _) = app
        .call(
            "DELETE",
            "/api/v1/webhooks/by-service",
            Some(&service),
            None,
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/api/v1/webhooks/desk", &admin).await.0, 404);

    for (bad, field) in [
        (json!({"url": "/relative", "events": ["chat.ended"]}), "url"),
        (
            json!({"url": "ftp://example.com/x", "events": ["chat.ended"]}),
            "url",
        ),
        (
            json!({"url": receiver.url(), "events": ["chat.deleted"]}),
            "events",
        ),
        (json!({"url": receiver.url(), "events": []}), "events"),
        (
            json!({"url": receiver.url(), "events": ["chat.ended"], "secret": "whsec_c2hvcnQ="}),
            "secret",
        ),
        (
            json!({"url": receiver.url(), "events": ["chat.ended"], "secret": "nope"}),
            "secret",
        ),
        (json!({"events": ["chat.ended"]}), "url"),
    ] {
        let (s, problem) = app.put("/api/v1/webhooks/desk", &admin, bad.clone()).await;
        assert_eq!(s, 400, "{bad}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem} names {field}"
        );
        assert_eq!(problem["code"], "bad_request");
    }
    assert_eq!(
        app.get("/api/v1/webhooks", &admin).await.1,
        json!([]),
        "nothing was created"
    );

    // A secret of one's own is kept and never shown.
    let secret = format!("whsec_{}", base64_of(&[7u8; 32]));
    let (s, created) = app
        .put("/api/v1/webhooks/desk", &admin, json!({"url": receiver.url(), "events": ["chat.ended", "chat.rated"], "secret": secret}))
        .await;
    assert_eq!(s, 201, "{created}");
    assert!(created.get("secret").is_none());
    assert_eq!(created["events"], json!(["chat.ended", "chat.rated"]));
    let (s, bad) = app
        .put(
            "/api/v1/webhooks/desk",
            &admin,
            json!({"url": "nope", "events": ["chat.ended"]}),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
    let (_, shown) = app.get("/api/v1/webhooks/desk", &admin).await;
    assert_eq!(
        shown["url"],
        receiver.url().as_str(),
        "a refused PUT changed nothing"
    );
    assert!(shown.get("secret").is_none());
    let (_, listed) = app.get("/api/v1/webhooks", &admin).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(listed[0].get("secret").is_none());
    let (s, page) = app
        .get("/api/v1/webhooks/desk/deliveries?status=sent", &admin)
        .await;
    assert_eq!(s, 400, "{page}");
    let (s, _, _) = app
        .call("DELETE", "/api/v1/webhooks/desk", Some(&admin), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get("/api/v1/webhooks/desk", &admin).await.0, 404);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

on_both_databases!(
    with super::FAST;
    every_event_arrives_signed_with_its_documented_body,
    failures_are_retried_with_the_same_id_then_delivered_once,
    a_410_disables_the_endpoint_until_it_is_enabled_again,
    a_change_whose_write_fails_reports_nothing,
    only_admins_manage_endpoints_and_bad_input_changes_nothing,
);

/// The receiver is down while the engine restarts: every event pending then arrives once both
/// are back.
async fn pending_deliveries_survive_a_restart_while_the_receiver_is_down(kind: Db) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let url = db.url.clone();
    let overrides = [("WEBHOOKS__RETRY_BASE_SECS", "1")];
    let mut server = ServerProcess::start(&url, &overrides);
    let mut app = TestApp::attach(db, kind, &server.base).await;
    let mut receiver = Receiver::start().await;
    subscribe(&app, &receiver, "desk", &ALL_EVENTS).await;
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    receiver.wait_delivered(&["chat.accepted"]).await;

    receiver.stop().await;
    emma.ok(
        json!({"type": "send", "chat_id": chat_id, "body": "Still there?", "client_msg_id": "e1"}),
    )
    .await;
    emma.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    alice
        .ok(json!({"type": "set_status", "status": "away"}))
        .await;
    // Tried (refused) at least once before the crash.
    let db = app.db.clone();
    let pending = || {
        webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::Status.eq("pending"))
            .all(&db)
    };
    for _ in 0..100 {
        let rows = pending().await.unwrap();
        if rows.len() == 2 && rows.iter().all(|r| r.attempts >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = pending().await.unwrap();
    assert_eq!(
        rows.len(),
        2,
        "chat.ended and analyst.status_changed wait: {rows:?}"
    );
    drop((alice, emma));
    server.kill_9();

    let restarted = ServerProcess::start(&url, &overrides);
    app.repoint(&restarted.base);
    receiver.restart().await;
    let got = receiver
        .wait_for(Duration::from_secs(30), |got| {
            got.iter().any(|g| g.body["type"] == "chat.ended")
                && got.iter().any(|g| {
                    g.body["type"] == "analyst.status_changed" && g.body["data"]["status"] == "away"
                })
        })
        .await;
    let ended = of_type(&got, "chat.ended");
    assert_eq!(ended.len(), 1, "{got:?}");
    assert!(ended[0].signed);
    assert_eq!(
        ended[0].body["data"]["transcript"][0]["body"],
        "Still there?"
    );
    assert!(
        got.iter()
            .any(|g| g.body["type"] == "analyst.status_changed"
                && g.body["data"]["status"] == "away")
    );
    for _ in 0..50 {
        if pending().await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries still pending after the receiver came back");
}

mod restart {
    #[actix_web::test]
    async fn sqlite() {
        super::pending_deliveries_survive_a_restart_while_the_receiver_is_down(super::Db::Sqlite)
            .await;
    }

    #[actix_web::test]
    async fn postgres() {
        super::pending_deliveries_survive_a_restart_while_the_receiver_is_down(super::Db::Postgres)
            .await;
    }
}
