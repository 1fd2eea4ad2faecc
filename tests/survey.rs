//! The end-of-chat survey (contract §9.4) over real WebSockets and HTTP, on SQLite and
//! PostgreSQL: the user of an answered chat gets `survey` when it ends and may `rate` it once
//! (a second `rate` is `conflict`); the rating shows in the call history and in the queue's
//! `csat_today`; unanswered or open chats cannot be rated and bad input changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use serde_json::json;
use switchboard::domain::Role;

async fn a_chat_is_rated_once_and_the_rating_shows(app: TestApp) {
    app.provision("sd", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "sd"}))
        .await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    let call_id = started["call_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;

    // Not while it is open.
    emma.fails(
        json!({"type": "rate", "chat_id": chat_id, "score": 5}),
        "conflict",
    )
    .await;
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    emma.expect("chat_closed").await;
    assert_eq!(emma.expect("survey").await["chat_id"], chat_id);
    alice
        .expect_none("survey", Duration::from_millis(300))
        .await;

    // Bad input is refused and stores nothing; analysts may not rate.
    for bad in [
        json!({"type": "rate", "chat_id": chat_id, "score": 0}),
        json!({"type": "rate", "chat_id": chat_id, "score": 6}),
        json!({"type": "rate", "chat_id": chat_id, "score": 4, "comment": "x".repeat(1001)}),
        json!({"type": "rate", "chat_id": chat_id}),
    ] {
        emma.fails(bad, "bad_request").await;
    }
    alice
        .fails(
            json!({"type": "rate", "chat_id": chat_id, "score": 1}),
            "forbidden",
        )
        .await;
    let mut fred = app.ws(&app.token("fred", Role::User)).await;
    fred.fails(
        json!({"type": "rate", "chat_id": chat_id, "score": 1}),
        "not_found",
    )
    .await;

    emma.ok(json!({"type": "rate", "chat_id": chat_id, "score": 5, "comment": "Quick and kind"}))
        .await;
    emma.fails(
        json!({"type": "rate", "chat_id": chat_id, "score": 1}),
        "conflict",
    )
    .await;

    // The call history carries it; the queue's csat_today counts it.
    let token = app.token("emma", Role::User);
    let mut entry = serde_json::Value::Null;
    for _ in 0..50 {
        let (status, call) = app.get(&format!("/api/v1/calls/{call_id}"), &token).await;
        assert_eq!(status, 200, "{call}");
        if let Some(e) = call["history"].as_array().and_then(|h| h.first()) {
            entry = e.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(entry["rating"]["score"], 5, "{entry}");
    assert_eq!(entry["rating"]["comment"], "Quick and kind");
    common::assert_rfc3339_ms(&entry["rating"]["at"]);
    let (_, queue) = app.get("/api/v1/queues/sd", &app.admin()).await;
    assert_eq!(queue["csat_today"], 1.0, "{queue}");

    // A second chat rated 2: half of today's ratings are 4 or better.
    let second = emma
        .ok(json!({"type": "start_chat", "queue_id": "sd"}))
        .await;
    let second_id = second["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "close_chat", "chat_id": second_id}))
        .await;
    emma.expect("survey").await;
    emma.ok(json!({"type": "rate", "chat_id": second_id, "score": 2}))
        .await;
    let (_, queue) = app.get("/api/v1/queues/sd", &app.admin()).await;
    assert_eq!(queue["csat_today"], 0.5, "{queue}");
}

async fn an_unanswered_chat_gets_no_survey(app: TestApp) {
    app.provision("sd", "manual", &[("alice", "analyst")], 3)
        .await;
    let (_, queue) = app.get("/api/v1/queues/sd", &app.admin()).await;
    assert_eq!(
        queue["csat_today"],
        serde_json::Value::Null,
        "no ratings yet: {queue}"
    );
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "sd"}))
        .await;
    let chat_id = started["chat_id"].as_str().unwrap().to_string();
    emma.ok(json!({"type": "close_chat", "chat_id": chat_id}))
        .await;
    emma.expect_none("survey", Duration::from_millis(400)).await;
    emma.fails(
        json!({"type": "rate", "chat_id": chat_id, "score": 5}),
        "conflict",
    )
    .await;
}

on_both_databases!(
    a_chat_is_rated_once_and_the_rating_shows,
    an_unanswered_chat_gets_no_survey,
);
