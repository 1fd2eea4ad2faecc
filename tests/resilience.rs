//! Presence matches reality and bad input changes nothing (contract §3 and §4): reconnect grace for
//! analysts and users with `peer_status` both ways, requeue at the head past grace, `user_left`,
//! resume windows, frame and body limits, the rate limit, per-principal socket caps, the heartbeat,
//! the Origin allowlist and single-use tickets. Runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::ws::WsClient;
use common::{Db, TestApp, spawn_app_with};
use entities::{chat_messages, chats};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use switchboard::domain::Role;

async fn app_with(kind: Db, overrides: &[(&str, &str)]) -> Option<TestApp> {
    spawn_app_with(kind, overrides).await
}

async fn start(app: &TestApp, user: &str, queue: &str) -> (WsClient, String) {
    let mut ws = app.ws(&app.token(user, Role::User)).await;
    let ok = ws
        .ok(json!({"type": "start_chat", "queue_id": queue}))
        .await;
    (ws, ok["chat_id"].as_str().unwrap().to_string())
}

async fn analyst_lost_past_grace_requeues_at_head_and_never_gets_offers(app: TestApp) {
    app.provision(
        "service-desk",
        "auto",
        &[("alice", "analyst"), ("bob", "analyst")],
        1,
    )
    .await;
    let mut alice = app.available("alice").await;
    let (mut emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    emma.expect("chat_accepted").await;
    // A second chat waits behind (Alice is at capacity, Bob is offline).
    let (_fred, _) = start(&app, "fred", "service-desk").await;

    alice.close().await;
    let peer = emma.expect("peer_status").await;
    assert_eq!(
        (peer["chat_id"].as_str(), peer["connected"].as_bool()),
        (Some(chat_id.as_str()), Some(false))
    );
    let requeued = emma.expect("chat_requeued").await;
    assert_eq!(
        requeued["position"], 1,
        "back at the head of the queue, ahead of Fred"
    );
    let stored = chats::Entity::find_by_id(chat_id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.state.as_str(), stored.analyst_id),
        ("waiting", None)
    );

    // Bob comes online: he gets the requeued chat first, with its transcript.
    let mut bob = app.available("bob").await;
    let assigned = bob.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], chat_id);
    // Alice is offline now; reconnecting does not bring her status back, nor any chat.
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    assert_eq!(alice.hello["analyst"]["status"], "offline");
    alice
        .expect_none("chat_assigned", Duration::from_millis(500))
        .await;

    // An analyst who drops while holding an offer: the offer is revoked at once (long before the
    // offer timeout) and made to the other analyst; back again, the first is not offered it.
    app.provision(
        "hardware",
        "offer",
        &[("dave", "analyst"), ("erin", "analyst")],
        1,
    )
    .await;
    let mut dave = app.available("dave").await;
    let (_gina, offered_id) = start(&app, "gina", "hardware").await;
    let offer = dave.expect("chat_offered").await;
    assert_eq!(offer["chat"]["chat_id"], offered_id);
    let mut erin = app.available("erin").await;
    erin.expect_none("chat_offered", Duration::from_millis(500))
        .await;
    let dropped = tokio::time::Instant::now();
    dave.close().await;
    let again = erin.expect("chat_offered").await;
    assert_eq!(again["chat"]["chat_id"], offered_id);
    assert!(
        dropped.elapsed() < Duration::from_secs(app.settings.routing.offer_timeout_secs),
        "re-offered because Dave dropped, not because his offer timed out"
    );
    let mut dave = app.available("dave").await;
    dave.expect_none("chat_offered", Duration::from_millis(500))
        .await;
    erin.ok(json!({"type": "accept", "chat_id": offered_id}))
        .await;
}

async fn analyst_back_within_grace_keeps_chats_and_status(app: TestApp) {
    let grace = Duration::from_secs(app.settings.routing.reconnect_grace_secs);
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let (mut emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    alice.close().await;
    assert_eq!(emma.expect("peer_status").await["connected"], false);
    // Back late in the grace period (its start is when Emma heard she was gone).
    let away = tokio::time::Instant::now();
    tokio::time::sleep(grace - Duration::from_millis(1500)).await;
    let mut alice = app.ws(&app.token("alice", Role::Analyst)).await;
    assert!(
        away.elapsed() < grace,
        "reconnected within the grace period"
    );
    assert_eq!(alice.hello["analyst"]["status"], "available");
    assert_eq!(alice.hello["chats"][0]["chat_id"], chat_id);
    assert_eq!(emma.expect("peer_status").await["connected"], true);
    // Well past where the grace period would have ended: the chat stays with Alice.
    emma.expect_none("chat_requeued", Duration::from_secs(3))
        .await;
    alice
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "still with you"}))
        .await;
    assert_eq!(emma.expect("message").await["body"], "still with you");
}

async fn user_lost_past_grace_ends_the_chat_user_left(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let (emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    emma.close().await;
    assert_eq!(alice.expect("peer_status").await["connected"], false);
    let closed = alice.expect("chat_closed").await;
    assert_eq!(
        (closed["chat_id"].as_str(), closed["reason"].as_str()),
        (Some(chat_id.as_str()), Some("user_left"))
    );
    // A waiting chat whose user leaves ends unanswered: Alice is busy, so Fred's chat really waits.
    alice
        .ok(json!({"type": "set_status", "status": "busy"}))
        .await;
    let (fred, waiting_id) = start(&app, "fred", "service-desk").await;
    let queued = alice.expect("chat_queued").await;
    assert_eq!(queued["chat"]["chat_id"], waiting_id);
    let row = chats::Entity::find_by_id(waiting_id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "waiting", "nobody is available to take it");
    fred.close().await;
    let dequeued = alice.expect("chat_dequeued").await;
    assert_eq!(
        (dequeued["chat_id"].as_str(), dequeued["reason"].as_str()),
        (Some(waiting_id.as_str()), Some("unanswered"))
    );
    let row = chats::Entity::find_by_id(waiting_id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.end_reason.as_deref(),
            row.analyst_id
        ),
        ("unanswered", Some("user_left"), None)
    );
}

async fn resume_more_than_a_thousand_behind_is_too_far(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let (mut emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    for i in 0..1002 {
        emma.ok(json!({"type": "send", "chat_id": chat_id, "body": format!("n{i}")}))
            .await;
    }
    emma.fails(
        json!({"type": "resume", "chat_id": chat_id, "after_seq": 0}),
        "too_far_behind",
    )
    .await;
    let ok = emma
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 1000}))
        .await;
    assert_eq!(ok["last_seq"], 1002);
    let replayed: Vec<i64> = emma
        .inbox
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, [1001, 1002]);
    // Further back than the chat keeps in memory (but inside the window): read back in order.
    emma.inbox.clear();
    let ok = emma
        .ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": 500}))
        .await;
    assert_eq!(ok["last_seq"], 1002);
    let replayed: Vec<i64> = emma
        .inbox
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, (501..=1002).collect::<Vec<_>>());
    // An analyst who takes the chat over gets the whole transcript, not only what is in memory.
    let mut bob = {
        app.provision("service-desk", "auto", &[("bob", "analyst")], 3)
            .await;
        app.ws(&app.token("bob", Role::Analyst)).await
    };
    alice
        .ok(json!({"type": "transfer", "chat_id": chat_id, "analyst_id": "bob"}))
        .await;
    bob.expect("chat_offered").await;
    let accepted = bob.ok(json!({"type": "accept", "chat_id": chat_id})).await;
    assert_eq!(accepted["transcript"].as_array().unwrap().len(), 1002);
}

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let (mut emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    let long = "x".repeat(8001);
    let cases: Vec<(String, &str)> = vec![
        ("this is not json".into(), "not JSON"),
        ("[1,2]".into(), "JSON object"),
        (json!({"type": "teleport"}).to_string(), "unknown type"),
        (json!({"type": "send", "body": "hi"}).to_string(), "chat_id"),
        (
            json!({"type": "send", "chat_id": 42, "body": "hi"}).to_string(),
            "chat_id",
        ),
        (
            json!({"type": "send", "chat_id": chat_id, "body": ""}).to_string(),
            "body",
        ),
        (
            json!({"type": "send", "chat_id": chat_id, "body": long}).to_string(),
            "body",
        ),
        (
            json!({"type": "send", "chat_id": chat_id, "body": "bell\u{7}"}).to_string(),
            "control",
        ),
        (
            json!({"type": "resume", "chat_id": chat_id, "after_seq": "one"}).to_string(),
            "after_seq",
        ),
        (
            json!({"type": "start_chat", "queue_id": "service-desk", "subject": 7}).to_string(),
            "subject",
        ),
        (
            json!({"type": "ping", "ref": "r".repeat(65)}).to_string(),
            "ref",
        ),
    ];
    for (frame, mentions) in &cases {
        emma.send_text(frame).await;
        let err = emma.expect("error").await;
        assert_eq!(err["code"], "bad_request", "{frame}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(mentions),
            "{frame}: {err}"
        );
    }
    emma.send_binary(vec![1, 2, 3]).await;
    assert_eq!(emma.expect("error").await["code"], "bad_request");
    // Roles: a user may not accept; an analyst may not start chats.
    emma.fails(json!({"type": "accept", "chat_id": chat_id}), "forbidden")
        .await;
    alice
        .fails(
            json!({"type": "start_chat", "queue_id": "service-desk"}),
            "forbidden",
        )
        .await;
    emma.fails(
        json!({"type": "start_chat", "queue_id": "no-such-queue"}),
        "not_found",
    )
    .await;
    emma.fails(
        json!({"type": "start_chat", "queue_id": "service-desk"}),
        "conflict",
    )
    .await;
    // Nothing was stored, and the connection still works.
    assert_eq!(
        chat_messages::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    assert_eq!(chats::Entity::find().count(&app.db).await.unwrap(), 1);
    assert_eq!(emma.cmd(json!({"type": "ping"})).await["type"], "pong");
    alice
        .expect_none("message", Duration::from_millis(200))
        .await;
    // A frame over limits.max_frame_bytes closes the connection with 1009.
    emma.send_text(&format!(
        "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    ))
    .await;
    assert_eq!(emma.closed_with().await, Some(1009));
}

async fn handshake_checks_origin_tickets_and_socket_cap(app: TestApp) {
    let token = app.token("emma", Role::User);
    assert_eq!(
        app.ws_with(&token, Some("http://evil.example")).await.err(),
        Some(403)
    );
    let own = app.base.clone();
    assert!(
        app.ws_with(&token, Some(&own)).await.is_ok(),
        "the server's own origin is allowed"
    );
    let (status, body, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&token), None)
        .await;
    assert_eq!(status, 201);
    let ticket = body["ticket"].as_str().unwrap();
    let ws = app.ws_ticket(ticket).await.unwrap();
    assert_eq!(ws.hello["user"]["id"], "emma");
    assert_eq!(
        app.ws_ticket(ticket).await.err(),
        Some(401),
        "a ticket is single use"
    );
    assert_eq!(app.ws_with("garbage", None).await.err(), Some(401));
    // At most limits.max_connections_per_principal (5) sockets each.
    let mut open = vec![ws];
    for _ in 0..4 {
        open.push(app.ws(&token).await);
    }
    assert_eq!(app.ws_with(&token, None).await.err(), Some(429));
}

async fn random_cuts_with_resume_lose_and_double_nothing(app: TestApp) {
    use rand::{Rng, SeedableRng};
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let mut alice = app.available("alice").await;
    let (emma, chat_id) = start(&app, "emma", "service-desk").await;
    alice.expect("chat_assigned").await;
    const N: i64 = 80;
    let sender = async {
        for i in 1..=N {
            alice
                .ok(json!({"type": "send", "chat_id": chat_id, "body": format!("line {i}")}))
                .await;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    };
    // Emma checks the order in which frames arrive on each connection: the first counts 1, 2, 3…;
    // after a cut the new connection may see live messages first, then the replay from the first
    // missing seq, and from there on every frame is the one after the previous one.
    let receiver = async {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut received: std::collections::BTreeMap<i64, String> = Default::default();
        let mut ws = emma;
        let mut last = 0;
        let mut cuts = 0;
        let (mut previous, mut replay_from): (Option<i64>, Option<i64>) = (None, Some(1));
        let mut arrivals: Vec<i64> = Vec::new();
        while last < N {
            let frame = ws.expect_where(|f| f["type"] == "message").await;
            let seq = frame["seq"].as_i64().unwrap();
            arrivals.push(seq);
            // The replay's first seq may also have come live just before it (so once more).
            let starts_replay = replay_from == Some(seq);
            let in_order = previous.is_some_and(|p| seq == p + 1)
                || starts_replay
                || (previous.is_none() && cuts > 0 && replay_from.is_some_and(|r| seq > r));
            assert!(in_order, "out of order on this connection: {arrivals:?}");
            if starts_replay && previous.is_some() {
                replay_from = None;
            }
            previous = Some(seq);
            let body = frame["body"].as_str().unwrap().to_string();
            if let Some(seen) = received.insert(seq, body.clone()) {
                assert_eq!(seen, body, "a replayed message is the same message");
            }
            last = last.max(seq);
            if rng.random_bool(0.1) && last < N {
                cuts += 1;
                ws.close().await;
                ws = app.ws(&app.token("emma", Role::User)).await;
                let contiguous = (1..)
                    .take_while(|s| received.contains_key(s))
                    .last()
                    .unwrap_or(0);
                (previous, replay_from) = (None, Some(contiguous + 1));
                arrivals.clear();
                ws.ok(json!({"type": "resume", "chat_id": chat_id, "after_seq": contiguous}))
                    .await;
            }
        }
        (received, cuts)
    };
    let ((), (received, cuts)) = tokio::join!(sender, receiver);
    assert!(cuts > 0, "the connection was cut at least once");
    let stored: Vec<(i64, String)> = chat_messages::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.seq, m.body))
        .collect();
    let mut stored = stored;
    stored.sort();
    assert_eq!(
        received.into_iter().collect::<Vec<_>>(),
        stored,
        "what Emma saw is the transcript"
    );
}

/// Presence tests: a one-second grace period.
const SHORT_GRACE: [(&str, &str); 1] = [("ROUTING__RECONNECT_GRACE_SECS", "1")];

mod short_grace {
    use super::*;

    on_both_databases!(
        with crate::SHORT_GRACE;
        analyst_lost_past_grace_requeues_at_head_and_never_gets_offers,
        user_lost_past_grace_ends_the_chat_user_left,
    );
}

/// Reconnecting late in a grace period that the test can wait out: four seconds.
const FOUR_SECOND_GRACE: [(&str, &str); 1] = [("ROUTING__RECONNECT_GRACE_SECS", "4")];

mod four_second_grace {
    use super::*;

    on_both_databases!(
        with crate::FOUR_SECOND_GRACE;
        analyst_back_within_grace_keeps_chats_and_status,
    );
}

on_both_databases!(
    random_cuts_with_resume_lose_and_double_nothing,
    resume_more_than_a_thousand_behind_is_too_far,
    bad_input_is_refused_and_changes_nothing,
    handshake_checks_origin_tickets_and_socket_cap,
);

#[actix_web::test]
async fn the_rate_limit_answers_then_closes_1008() {
    let app = app_with(
        Db::Sqlite,
        &[("LIMITS__MSGS_PER_SEC", "1"), ("LIMITS__MSGS_BURST", "3")],
    )
    .await
    .unwrap();
    let mut ws = app.ws(&app.token("emma", Role::User)).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        let reply = ws.cmd(json!({"type": "ping"})).await;
        codes.push(reply["code"].as_str().unwrap_or("pong").to_string());
    }
    assert_eq!(&codes[..3], ["pong", "pong", "pong"]);
    assert!(codes[3..].iter().all(|c| c == "rate_limited"), "{codes:?}");
    for _ in 0..10 {
        ws.send_text(r#"{"type":"ping"}"#).await;
    }
    assert_eq!(ws.closed_with().await, Some(1008));
}

#[actix_web::test]
async fn a_silent_connection_is_closed() {
    let app = app_with(
        Db::Sqlite,
        &[
            ("WS__HEARTBEAT_SECS", "1"),
            ("WS__CLIENT_TIMEOUT_SECS", "2"),
        ],
    )
    .await
    .unwrap();
    let mut ws = app.ws(&app.token("emma", Role::User)).await;
    // The control: a client that reads (and so answers the server's pings) stays open.
    let mut reading = app.ws(&app.token("fred", Role::User)).await;
    let (_, ()) = tokio::join!(
        tokio::time::sleep(Duration::from_millis(3500)),
        reading.expect_none("message", Duration::from_millis(3500))
    );
    assert_eq!(ws.closed_with().await, Some(1001));
    assert_eq!(reading.closed, None, "a reading client is not closed");
    assert_eq!(reading.cmd(json!({"type": "ping"})).await["type"], "pong");
}
