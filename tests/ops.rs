//! The ops surface end to end: `/metrics` parses as Prometheus text and moves as chats start,
//! are answered and close; `/api/v1/stats` has live totals; `/api/v1/events` streams
//! `queue_stats`, `analyst_status` and `chat_state` to managers and admins (resumable with
//! `Last-Event-ID`, which must be an event id, openable with a ticket) and refuses everyone else.
//! Both databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::prom::{self, Sample};
use common::ws::WsClient;
use serde_json::{Value, json};
use switchboard::domain::Role;

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let mut res = awc::Client::new()
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let ct = res.headers().get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let body = res.body().await.unwrap();
    prom::parse(std::str::from_utf8(&body).unwrap()).unwrap()
}

async fn analyst(app: &TestApp, id: &str) -> WsClient {
    let mut ws = app.ws(&app.token(id, Role::Analyst)).await;
    ws.ok(json!({"type": "set_status", "status": "available"}))
        .await;
    ws.expect("status_changed").await;
    ws
}

/// How much `name` (no labels) grew from `before` to `after`.
fn grew(before: &[Sample], after: &[Sample], name: &str) -> f64 {
    prom::value(after, name, &[]) - prom::value(before, name, &[])
}

/// Asserts a histogram took exactly `count` observations between two scrapes, whose sum lies
/// within `0..=most` (seconds, or rows).
fn observed(before: &[Sample], after: &[Sample], name: &str, count: f64, most: f64) {
    assert_eq!(
        grew(before, after, &format!("{name}_count")),
        count,
        "{name}_count"
    );
    let sum = grew(before, after, &format!("{name}_sum"));
    assert!(
        (0.0..=most).contains(&sum),
        "{name}_sum grew by {sum}, not within 0..={most}"
    );
}

async fn metrics_move_as_chats_start_are_answered_and_close(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    app.provision("desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let before = scrape(&app).await;
    assert_eq!(
        prom::value(&before, "switchboard_chats", &[("state", "waiting")]),
        0.0
    );

    let mut alice = analyst(&app, "alice").await;
    let started_at = std::time::Instant::now();
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_queued").await;

    let queued = scrape(&app).await;
    assert_eq!(
        prom::value(&queued, "switchboard_chats", &[("state", "waiting")]),
        1.0
    );
    assert_eq!(
        prom::value(&queued, "switchboard_queue_waiting", &[("queue", "desk")]),
        1.0
    );
    assert_eq!(
        prom::value(&queued, "switchboard_analysts", &[("status", "available")]),
        1.0
    );
    let users = |s: &[Sample]| prom::value(s, "switchboard_connections", &[("role", "user")]);
    assert_eq!(users(&queued) - users(&before), 1.0, "Emma's socket");
    assert_eq!(
        grew(&before, &queued, "switchboard_chats_started_total"),
        1.0
    );

    let section = std::time::Instant::now();
    alice
        .ok(json!({"type": "accept", "chat_id": chat_id}))
        .await;
    emma.expect("chat_accepted").await;
    emma.ok(json!({"type": "send", "chat_id": chat_id, "body": "hello", "client_msg_id": "m1"}))
        .await;
    alice.expect("message").await;

    let answered = scrape(&app).await;
    let (waited, took) = (
        started_at.elapsed().as_secs_f64(),
        section.elapsed().as_secs_f64(),
    );
    assert_eq!(
        prom::value(&answered, "switchboard_chats", &[("state", "waiting")]),
        0.0
    );
    assert_eq!(
        prom::value(&answered, "switchboard_chats", &[("state", "active")]),
        1.0
    );
    assert_eq!(
        prom::value(&answered, "switchboard_queue_waiting", &[("queue", "desk")]),
        0.0
    );
    assert_eq!(
        grew(&queued, &answered, "switchboard_assignments_total"),
        1.0
    );
    assert_eq!(
        grew(&queued, &answered, "switchboard_messages_stored_total"),
        1.0
    );
    observed(
        &queued,
        &answered,
        "switchboard_wait_to_answer_seconds",
        1.0,
        waited,
    );
    observed(
        &queued,
        &answered,
        "switchboard_message_delivery_seconds",
        1.0,
        took,
    );
    // Two commits: the accept (a chat change, no message rows) and then the one message.
    observed(
        &queued,
        &answered,
        "switchboard_db_batch_commit_seconds",
        2.0,
        took,
    );
    observed(&queued, &answered, "switchboard_store_batch_rows", 2.0, 1.0);
    assert_eq!(
        grew(&queued, &answered, "switchboard_store_batch_rows_sum"),
        1.0
    );

    emma.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    alice.expect("chat_closed").await;
    let closed = scrape(&app).await;
    assert_eq!(
        prom::value(&closed, "switchboard_chats", &[("state", "active")]),
        0.0
    );
    let ended = |s: &[Sample], reason: &str| {
        prom::value(s, "switchboard_chats_ended_total", &[("reason", reason)])
    };
    assert_eq!(
        ended(&closed, "closed_by_user") - ended(&answered, "closed_by_user"),
        1.0
    );
    for other in ["closed_by_analyst", "user_left", "max_wait"] {
        assert_eq!(ended(&closed, other), ended(&answered, other), "{other}");
    }

    // Auto routing: the time from joining the queue to the analyst's chat_assigned is measured.
    app.provision("auto-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let section = std::time::Instant::now();
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    fred.ok(json!({"type": "start_chat", "queue_id": "auto-desk"}))
        .await;
    alice.expect("chat_assigned").await;
    let assigned = scrape(&app).await;
    let took = section.elapsed().as_secs_f64();
    observed(
        &closed,
        &assigned,
        "switchboard_queued_to_assigned_seconds",
        1.0,
        took,
    );
    assert_eq!(
        grew(&closed, &assigned, "switchboard_assignments_total"),
        1.0
    );
    assert_eq!(
        grew(&closed, &assigned, "switchboard_chats_started_total"),
        1.0
    );
}

async fn offer_counters_move_on_decline_and_timeout(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    app.provision(
        "hw",
        "offer",
        &[("alice", "analyst"), ("bob", "analyst")],
        3,
    )
    .await;
    let (s, body) = app
        .put(
            "/api/v1/queues/hw",
            &app.admin(),
            json!({"name": "Hardware", "routing": "offer", "offer_timeout_secs": 1}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let offers = |s: &[Sample], outcome: &str| {
        prom::value(s, "switchboard_offers_total", &[("outcome", outcome)])
    };
    let before = scrape(&app).await;
    let mut alice = analyst(&app, "alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let chat_id = emma
        .ok(json!({"type": "start_chat", "queue_id": "hw"}))
        .await["chat_id"]
        .clone();
    alice.expect("chat_offered").await;
    // Alice declines; Bob, available by then, is offered it and lets the offer lapse.
    let mut bob = analyst(&app, "bob").await;
    alice
        .ok(json!({"type": "decline", "chat_id": chat_id}))
        .await;
    bob.expect("chat_offered").await;
    let revoked = bob.expect("offer_revoked").await;
    assert_eq!(revoked["reason"], "timeout");
    // Both have passed on it now: nobody is offered it again, so the counts stay put.
    alice
        .expect_none("chat_offered", std::time::Duration::from_millis(300))
        .await;
    let after = scrape(&app).await;
    assert_eq!(offers(&after, "made") - offers(&before, "made"), 2.0);
    assert_eq!(
        offers(&after, "declined") - offers(&before, "declined"),
        1.0
    );
    assert_eq!(
        offers(&after, "timed_out") - offers(&before, "timed_out"),
        1.0
    );
}

async fn stats_show_live_totals_to_staff_and_refuse_users(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    app.provision("desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    emma.ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    for token in [app.admin(), app.token("alice", Role::Analyst)] {
        let (s, stats) = app.get("/api/v1/stats", &token).await;
        assert_eq!(s, 200, "{stats}");
        assert_eq!(stats["waiting"], 1);
        assert_eq!(stats["chats"]["waiting"], 1);
        assert_eq!(stats["queues"][0]["id"], "desk");
        assert_eq!(stats["queues"][0]["waiting"], 1);
        assert!(stats["connections"]["user"].as_i64().unwrap() >= 1);
        assert!(stats["messages_per_sec"].is_number());
        assert_eq!(stats["service_level"], Value::Null, "nothing answered yet");
    }
    let (s, body, ct) = app
        .call(
            "GET",
            "/api/v1/stats",
            Some(&app.token("emma", Role::User)),
            None,
        )
        .await;
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(ct, "application/problem+json");
}

async fn manager_stream_gets_queue_stats_analyst_status_and_chat_state(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    app.provision(
        "desk",
        "manual",
        &[("alice", "analyst"), ("carol", "manager")],
        3,
    )
    .await;
    app.provision("other", "manual", &[("bob", "manager")], 3)
        .await;
    let carol = app.token("carol", Role::Manager);
    let mut stream = app.sse(Some(&carol), "", None).await.unwrap();
    // A fresh stream opens with the current figures of the manager's queues (not resumable: no id).
    let opening = stream.expect("queue_stats", |d| d["id"] == "desk").await;
    assert_eq!((opening.id, &opening.data["waiting"]), (None, &json!(0)));
    assert!(stream.events.iter().all(|e| e.data["id"] != "other"));

    let _alice = analyst(&app, "alice").await;
    let status = stream
        .expect("analyst_status", |d| d["analyst_id"] == "alice")
        .await;
    assert_eq!(status.data["status"], "available");
    assert_eq!(status.data["by"]["id"], "alice");
    let first_id: u64 = status.id.as_deref().unwrap().parse().unwrap();

    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    let stats = stream
        .expect("queue_stats", |d| d["id"] == "desk" && d["waiting"] == 1)
        .await;
    assert_eq!(stats.data["analysts_available"], 1);
    let state = stream
        .expect("chat_state", |d| d["state"] == "waiting")
        .await;
    assert_eq!(state.data["chat_id"], started["chat_id"]);

    // A manager sees only the queues they manage.
    let mut olga = app.ws(&app.token("olga", Role::User)).await;
    olga.ok(json!({"type": "start_chat", "queue_id": "other"}))
        .await;
    let mut bobs = app
        .sse(Some(&app.token("bob", Role::Manager)), "", Some("0"))
        .await
        .unwrap();
    bobs.expect("queue_stats", |d| d["id"] == "other").await;
    assert!(
        bobs.events
            .iter()
            .all(|e| e.data["id"] != "desk" && e.data["queue_id"] != "desk"),
        "bob got events of a queue he does not manage: {:?}",
        bobs.events
    );

    // Resume: a stream that says where it stopped gets what came after, in order.
    let mut resumed = app
        .sse(Some(&carol), "", Some(&first_id.to_string()))
        .await
        .unwrap();
    let again = resumed
        .expect("queue_stats", |d| d["id"] == "desk" && d["waiting"] == 1)
        .await;
    assert!(again.id.unwrap().parse::<u64>().unwrap() > first_id);
    assert!(
        resumed
            .events
            .iter()
            .all(|e| e.id.as_deref().unwrap().parse::<u64>().unwrap() > first_id)
    );
}

async fn event_stream_refuses_users_and_analysts_and_takes_tickets(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    app.provision("desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let (s, body) = app
        .sse(Some(&app.token("emma", Role::User)), "", None)
        .await
        .err()
        .unwrap();
    assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = app
        .sse(Some(&app.token("alice", Role::Analyst)), "", None)
        .await
        .err()
        .unwrap();
    assert_eq!(s, 403);
    let (s, body) = app.sse(None, "", None).await.err().unwrap();
    assert_eq!((s, body["code"].as_str()), (401, Some("unauthorized")));

    let (s, ticket, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&app.admin()), None)
        .await;
    assert_eq!(s, 201);
    let ticket = ticket["ticket"].as_str().unwrap();
    // A malformed `Last-Event-ID` is a problem, and spends no ticket.
    let (s, body) = app
        .sse(None, &format!("?ticket={ticket}"), Some("yesterday"))
        .await
        .err()
        .unwrap();
    assert_eq!((s, body["code"].as_str()), (400, Some("bad_request")));
    let mut stream = app
        .sse(None, &format!("?ticket={ticket}"), None)
        .await
        .unwrap();
    stream.expect_comment("connected").await;
    let (s, _) = app
        .sse(None, &format!("?ticket={ticket}"), None)
        .await
        .err()
        .unwrap();
    assert_eq!(s, 401, "a ticket is single-use");
}

/// The event stream keeps the last `feed::RING` events for resume: after more than that, a
/// resume from the start gets exactly the last `RING`, in order, with consecutive ids.
async fn event_stream_replays_at_most_the_ring(app: TestApp) {
    let _serial = prom::METRICS.lock().await;
    const RING: usize = switchboard::actors::feed::RING;
    app.provision("desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    // Each change is an analyst_status event (and the queue's figures): well past the ring.
    for i in 0..RING / 2 + 100 {
        let status = if i % 2 == 0 { "available" } else { "away" };
        alice
            .ok(json!({"type": "set_status", "status": status}))
            .await;
    }
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    let mut resumed = app.sse(Some(&app.admin()), "", Some("0")).await.unwrap();
    let last = resumed
        .expect("analyst_status", |d| d["status"] == "busy")
        .await;
    let last_id: u64 = last.id.unwrap().parse().unwrap();
    // The queue's figures after that last change come too; nothing more happens after them.
    resumed.settle(std::time::Duration::from_millis(500)).await;
    let mut ids: Vec<u64> = resumed
        .events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    ids.push(last_id);
    ids.sort_unstable();
    assert!(
        last_id as usize > RING + 10,
        "more events than the ring: {last_id}"
    );
    assert_eq!(ids.len(), RING, "exactly the ring is replayed");
    let first = ids[0];
    assert!(first > 1, "the oldest events are gone");
    assert_eq!(
        ids,
        (first..first + RING as u64).collect::<Vec<_>>(),
        "none missing"
    );
}

/// A quiet event stream still carries a `: heartbeat` comment every `ws.heartbeat_secs`.
#[actix_web::test]
async fn a_quiet_event_stream_has_heartbeats() {
    let _serial = prom::METRICS.lock().await;
    let app = common::spawn_app_with(common::Db::Sqlite, &[("WS__HEARTBEAT_SECS", "1")])
        .await
        .unwrap();
    let mut stream = app.sse(Some(&app.admin()), "", None).await.unwrap();
    let opened = std::time::Instant::now();
    stream.expect_comment("heartbeat").await;
    stream.comments.retain(|c| c != "heartbeat");
    stream.expect_comment("heartbeat").await;
    assert!(
        opened.elapsed() >= std::time::Duration::from_millis(900),
        "two heartbeats come about a second apart, not at once"
    );
    assert!(
        stream.events.is_empty(),
        "nothing happened: {:?}",
        stream.events
    );
}

on_both_databases!(
    metrics_move_as_chats_start_are_answered_and_close,
    offer_counters_move_on_decline_and_timeout,
    stats_show_live_totals_to_staff_and_refuse_users,
    manager_stream_gets_queue_stats_analyst_status_and_chat_state,
    event_stream_refuses_users_and_analysts_and_takes_tickets,
    event_stream_replays_at_most_the_ring,
);
