//! Contract §8 end to end over real WebSockets and HTTP, on SQLite and PostgreSQL: skills and
//! timed expansion, priority aging, overflow, `max_waiting`, business hours, the estimated wait,
//! and the settings' validation at `PUT`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use common::TestApp;
use common::ws::WsClient;
use entities::{calls, chats};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use switchboard::domain::Role;

async fn user(app: &TestApp, id: &str) -> WsClient {
    app.ws(&app.token(id, Role::User)).await
}

async fn staff(app: &TestApp, id: &str) -> WsClient {
    app.ws(&app.token(id, Role::Analyst)).await
}

/// Creates or replaces a queue with `body` (name and routing added) and returns its view.
async fn queue(app: &TestApp, id: &str, routing: &str, mut body: Value) -> Value {
    body["name"] = json!(common::display_name(id));
    body["routing"] = json!(routing);
    let (s, view) = app
        .put(&format!("/api/v1/queues/{id}"), &app.admin(), body)
        .await;
    assert!(s == 200 || s == 201, "queue {id}: {s} {view}");
    view
}

/// Creates analyst `id` with `skills` and capacity, a member of `queues`.
async fn analyst(app: &TestApp, id: &str, capacity: i32, skills: Value, queues: &[&str]) {
    let admin = app.admin();
    let (s, view) = app
        .put(
            &format!("/api/v1/analysts/{id}"),
            &admin,
            json!({"name": common::display_name(id), "capacity": capacity, "skills": skills}),
        )
        .await;
    assert!(s == 200 || s == 201, "analyst {id}: {s} {view}");
    assert_eq!(
        view["skills"], skills,
        "the analyst view returns the skills"
    );
    for q in queues {
        let (s, body) = app
            .put(
                &format!("/api/v1/queues/{q}/members/{id}"),
                &admin,
                json!({"role": "analyst"}),
            )
            .await;
        assert!(s == 200 || s == 201, "member: {s} {body}");
    }
}

async fn set_status(ws: &mut WsClient, status: &str) {
    ws.ok(json!({"type": "set_status", "status": status})).await;
    ws.expect("status_changed").await;
}

/// The first frame matching `pred` within `wait` (longer than the clients' usual wait).
async fn expect_within(ws: &mut WsClient, pred: impl Fn(&Value) -> bool, wait: Duration) -> Value {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Some(frame) = ws.next_within(Duration::from_millis(500)).await
            && pred(&frame)
        {
            return frame;
        }
    }
    panic!("no matching frame within {wait:?}")
}

async fn stored_chat(app: &TestApp, id: &str) -> chats::Model {
    chats::Entity::find_by_id(id.to_string())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn skilled_chat_waits_for_the_all_step_then_goes_to_an_unskilled_analyst(app: TestApp) {
    queue(
        &app,
        "desk",
        "auto",
        json!({"skills": ["french"], "expansion": [{"after_secs": 3, "relax": "all"}]}),
    )
    .await;
    analyst(&app, "bob", 1, json!({}), &["desk"]).await;
    let mut bob = staff(&app, "bob").await;
    set_status(&mut bob, "available").await;
    let mut emma = user(&app, "emma").await;
    let started_at = Instant::now();
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk",
                   "skills": [{"name": "french", "level": 3}]}))
        .await;
    assert_eq!(
        ok["position"], 1,
        "Bob is free but holds no French: the chat waits"
    );
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    let queued = bob.expect("chat_queued").await;
    assert_eq!(
        queued["chat"]["skills"],
        json!([{"name": "french", "level": 3}])
    );
    assert_eq!(queued["chat"]["skills_relaxed"], 0);
    bob.expect_none("chat_assigned", Duration::from_millis(1500))
        .await;
    let assigned = bob.expect("chat_assigned").await;
    let waited = started_at.elapsed();
    assert_eq!(assigned["chat"]["chat_id"], chat_id);
    assert_eq!(
        assigned["chat"]["skills_relaxed"], 1,
        "the chat's own summary names the step that let Bob have it"
    );
    assert!(
        waited >= Duration::from_millis(2900),
        "not before the step: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(7),
        "the moment the step begins: {waited:?}"
    );
    emma.expect("chat_accepted").await;
    let row = stored_chat(&app, &chat_id).await;
    assert_eq!(row.analyst_id.as_deref(), Some("bob"));
    let skills: Value = serde_json::from_str(&row.skills).unwrap();
    assert_eq!(skills, json!([{"name": "french", "level": 3}]));
}

async fn expansion_keeps_the_chat_ahead_of_younger_ones(app: TestApp) {
    queue(
        &app,
        "desk",
        "auto",
        json!({"skills": ["french"], "expansion": [{"after_secs": 2, "relax": "all"}]}),
    )
    .await;
    analyst(&app, "bob", 1, json!({"vpn": 5}), &["desk"]).await;
    let mut bob = staff(&app, "bob").await;
    set_status(&mut bob, "busy").await;
    let mut emma = user(&app, "emma").await;
    let first = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk", "skills": [{"name": "french"}]}))
        .await;
    let mut noah = user(&app, "noah").await;
    let second = noah
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    assert_eq!(
        (first["position"].clone(), second["position"].clone()),
        (json!(1), json!(2))
    );
    // Past the step, Bob comes back: the older, skilled chat goes first.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    set_status(&mut bob, "available").await;
    let assigned = bob.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], first["chat_id"]);
    let moved = noah
        .expect_where(|f| f["type"] == "queue_position" && f["position"] == 1)
        .await;
    assert_eq!(moved["chat_id"], second["chat_id"]);
}

async fn aging_lets_an_old_low_priority_chat_overtake(app: TestApp) {
    queue(&app, "low", "auto", json!({"priority": 0})).await;
    queue(&app, "high", "auto", json!({"priority": 2})).await;
    analyst(&app, "bob", 1, json!({}), &["low", "high"]).await;
    let mut bob = staff(&app, "bob").await;
    let mut emma = user(&app, "emma").await;
    let old = emma
        .ok(json!({"type": "start_chat", "queue_id": "low"}))
        .await;
    // priority_aging_secs = 1: the high-priority chat counts as 2 s older than it is, and the
    // low-priority one is already 2.5 s old.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut noah = user(&app, "noah").await;
    noah.ok(json!({"type": "start_chat", "queue_id": "high"}))
        .await;
    set_status(&mut bob, "available").await;
    let assigned = bob.expect("chat_assigned").await;
    assert_eq!(
        assigned["chat"]["chat_id"], old["chat_id"],
        "the old low-priority chat first"
    );
}

async fn overflow_moves_a_chat_and_both_queues_are_told(app: TestApp) {
    queue(&app, "tier2", "manual", json!({})).await;
    queue(
        &app,
        "tier1",
        "offer",
        json!({"overflow": {"after_secs": 2, "queue_id": "tier2"}}),
    )
    .await;
    analyst(&app, "alice", 2, json!({}), &["tier1"]).await;
    analyst(&app, "bob", 2, json!({}), &["tier2"]).await;
    let mut alice = staff(&app, "alice").await;
    set_status(&mut alice, "available").await;
    let mut bob = staff(&app, "bob").await;
    let mut emma = user(&app, "emma").await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "tier1"}))
        .await;
    let chat_id = ok["chat_id"].clone();
    alice.expect("chat_offered").await;
    let revoked = alice.expect("offer_revoked").await;
    assert_eq!(
        (revoked["chat_id"].clone(), revoked["reason"].clone()),
        (chat_id.clone(), json!("overflow"))
    );
    let dequeued = alice.expect("chat_dequeued").await;
    assert_eq!(dequeued["reason"], "overflow");
    assert_eq!(dequeued["queue_id"], "tier1");
    let queued = bob.expect("chat_queued").await;
    assert_eq!(queued["chat"]["chat_id"], chat_id);
    assert_eq!(queued["chat"]["queue_id"], "tier2");
    let requeued = emma.expect("chat_requeued").await;
    assert_eq!(requeued["queue_id"], "tier2");
    assert_eq!(requeued["position"], 1);
    let row = stored_chat(&app, chat_id.as_str().unwrap()).await;
    assert_eq!(row.queue_id, "tier2");
    assert_eq!(row.state, "waiting");
    assert!(
        row.queued_at.unwrap() > row.created_at,
        "entry into tier2 is stored"
    );
    // A cycle is refused and changes nothing.
    let admin = app.admin();
    let (s, body) = app
        .put(
            "/api/v1/queues/tier2",
            &admin,
            json!({"name": "Tier 2", "routing": "manual",
                   "overflow": {"after_secs": 5, "queue_id": "tier1"}}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("overflow"),
        "{body}"
    );
    let (_, view) = app.get("/api/v1/queues/tier2", &admin).await;
    assert_eq!(view["overflow"], Value::Null);
    // Bob may take it from tier2.
    bob.ok(json!({"type": "accept", "chat_id": chat_id})).await;
}

async fn a_full_queue_refuses_and_creates_nothing(app: TestApp) {
    queue(
        &app,
        "desk",
        "manual",
        json!({"max_waiting": 1, "skills": ["vpn"]}),
    )
    .await;
    let mut emma = user(&app, "emma").await;
    emma.ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    let chats_before = chats::Entity::find().count(&app.db).await.unwrap();
    let calls_before = calls::Entity::find().count(&app.db).await.unwrap();
    let mut noah = user(&app, "noah").await;
    noah.fails(
        json!({"type": "start_chat", "queue_id": "desk"}),
        "queue_full",
    )
    .await;
    // Check order: not_found, bad_request, queue_offline, queue_closed, queue_full, conflict.
    noah.fails(
        json!({"type": "start_chat", "queue_id": "nowhere", "skills": [{"name": "x"}]}),
        "not_found",
    )
    .await;
    noah.fails(
        json!({"type": "start_chat", "queue_id": "desk", "skills": [{"name": "french"}]}),
        "bad_request",
    )
    .await;
    noah.fails(
        json!({"type": "start_chat", "queue_id": "desk", "skills": [{"name": "vpn", "level": 6}]}),
        "bad_request",
    )
    .await;
    emma.fails(
        json!({"type": "start_chat", "queue_id": "desk"}),
        "queue_full",
    )
    .await;
    let (s, _) = app
        .patch(
            "/api/v1/queues/desk",
            &app.admin(),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(s, 200);
    noah.fails(
        json!({"type": "start_chat", "queue_id": "desk"}),
        "queue_offline",
    )
    .await;
    assert_eq!(
        chats::Entity::find().count(&app.db).await.unwrap(),
        chats_before
    );
    assert_eq!(
        calls::Entity::find().count(&app.db).await.unwrap(),
        calls_before
    );
    let (_, view) = app.get("/api/v1/queues/desk", &app.admin()).await;
    assert_eq!(view["max_waiting"], 1);
}

fn hhmm(t: DateTime<Utc>) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

async fn a_queue_closes_at_its_hour_and_reopens(app: TestApp) {
    // A schedule in UTC whose closing is the next minute boundary and whose reopening is the
    // one after; started early enough in a minute and day that both are today.
    loop {
        let now = Utc::now();
        if now.second() < 40 && now.hour() * 60 + now.minute() < 24 * 60 - 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let now = Utc::now();
    let minute = now.with_second(0).unwrap().with_nanosecond(0).unwrap();
    let closes = minute + chrono::Duration::minutes(1);
    let opens = minute + chrono::Duration::minutes(2);
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [chrono::Datelike::weekday(&now).num_days_from_monday() as usize];
    let schedule = json!({"timezone": "UTC", "weekly": {
        day: [["00:00", hhmm(closes)], [hhmm(opens), "24:00"]]
    }});
    let view = queue(&app, "desk", "manual", json!({"schedule": schedule})).await;
    assert_eq!(view["open_now"], true);
    assert_eq!(common::assert_rfc3339_ms(&view["next_change_at"]), closes);
    let mut shown = schedule.clone();
    shown["holidays"] = json!([]);
    assert_eq!(view["schedule"], shown);
    analyst(&app, "bob", 2, json!({}), &["desk"]).await;
    // Clients sitting unread past the heartbeat timeout are dropped: connect and start the
    // waiting chat just before the closing.
    let lead = (closes - Utc::now() - chrono::Duration::seconds(3))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(lead).await;
    let mut bob = staff(&app, "bob").await;
    let mut emma = user(&app, "emma").await;
    let waiting = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    let closed = expect_within(
        &mut bob,
        |f| f["type"] == "queue_hours",
        Duration::from_secs(75),
    )
    .await;
    assert!(Utc::now() >= closes, "not before its hour");
    assert_eq!(closed["open_now"], false);
    assert_eq!(common::assert_rfc3339_ms(&closed["next_change_at"]), opens);
    let mut noah = user(&app, "noah").await;
    let refused = noah
        .fails(
            json!({"type": "start_chat", "queue_id": "desk"}),
            "queue_closed",
        )
        .await;
    assert_eq!(common::assert_rfc3339_ms(&refused["opens_at"]), opens);
    let (_, view) = app.get("/api/v1/queues/desk", &app.admin()).await;
    assert_eq!(view["open_now"], false);
    // The chat that was waiting still waits, and may be answered.
    let row = stored_chat(&app, waiting["chat_id"].as_str().unwrap()).await;
    assert_eq!(row.state, "waiting");
    bob.ok(json!({"type": "accept", "chat_id": waiting["chat_id"]}))
        .await;
    let reopened = expect_within(
        &mut bob,
        |f| f["type"] == "queue_hours",
        Duration::from_secs(75),
    )
    .await;
    assert!(Utc::now() >= opens);
    assert_eq!(reopened["open_now"], true);
    // A fresh connection (the others sat unread past the heartbeat timeout).
    let mut noah = user(&app, "noah").await;
    noah.ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
}

async fn the_estimate_is_sent_and_shown(app: TestApp) {
    queue(&app, "desk", "auto", json!({})).await;
    let (_, view) = app.get("/api/v1/queues/desk", &app.admin()).await;
    assert_eq!(
        view["estimated_wait_secs"],
        Value::Null,
        "nobody online: no estimate"
    );
    analyst(&app, "bob", 1, json!({}), &["desk"]).await;
    let mut bob = staff(&app, "bob").await;
    set_status(&mut bob, "available").await;
    // One chat handled for about a second gives the queue a handle time.
    let mut emma = user(&app, "emma").await;
    let first = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    assert_eq!(
        first["estimated_wait_secs"],
        Value::Null,
        "answered at once"
    );
    bob.expect("chat_assigned").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    bob.ok(json!({"type": "close_chat", "chat_id": first["chat_id"]}))
        .await;
    let second = emma
        .ok(json!({"type": "start_chat", "queue_id": "desk", "subject": "again"}))
        .await;
    assert_eq!(second["position"], Value::Null);
    let mut noah = user(&app, "noah").await;
    let third = noah
        .ok(json!({"type": "start_chat", "queue_id": "desk"}))
        .await;
    assert_eq!(third["position"], 1);
    assert!(third["estimated_wait_secs"].is_u64(), "{third}");
    let position = noah.expect("queue_position").await;
    assert!(position["estimated_wait_secs"].is_u64(), "{position}");
    let (_, view) = app.get("/api/v1/queues/desk", &app.admin()).await;
    assert!(view["estimated_wait_secs"].is_u64(), "{view}");
}

async fn bad_rules_are_refused_naming_the_field(app: TestApp) {
    let admin = app.admin();
    queue(&app, "desk", "manual", json!({"skills": ["vpn"]})).await;
    let cases = [
        (json!({"skills": ["no spaces"]}), "skills[0]"),
        (json!({"skills": ["vpn", "vpn"]}), "skills[1]"),
        (
            json!({"expansion": [{"after_secs": 30, "relax": "level"}, {"after_secs": 10, "relax": "all"}]}),
            "expansion[1].after_secs",
        ),
        (
            json!({"expansion": [{"after_secs": 30, "relax": "some"}]}),
            "expansion",
        ),
        (
            json!({"overflow": {"after_secs": 10, "queue_id": "nowhere"}}),
            "overflow.queue_id",
        ),
        (
            json!({"overflow": {"after_secs": 10, "queue_id": "desk"}}),
            "overflow.queue_id",
        ),
        (
            json!({"overflow": {"after_secs": 0, "queue_id": "desk"}}),
            "overflow.after_secs",
        ),
        (json!({"max_waiting": -1}), "max_waiting"),
        (
            json!({"schedule": {"timezone": "Mars/Olympus"}}),
            "schedule.timezone",
        ),
        (
            json!({"schedule": {"timezone": "UTC", "weekly": {"mon": [["09:00", "08:00"]]}}}),
            "schedule.weekly.mon[0]",
        ),
    ];
    for (mut body, field) in cases {
        body["name"] = json!("Desk");
        body["routing"] = json!("manual");
        let (s, problem) = app.put("/api/v1/queues/desk", &admin, body.clone()).await;
        assert_eq!(s, 400, "{body} answered {s} {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{body}: {problem}"
        );
    }
    let (_, view) = app.get("/api/v1/queues/desk", &admin).await;
    assert_eq!(view["skills"], json!(["vpn"]), "nothing changed");
    let (s, problem) = app
        .put(
            "/api/v1/analysts/bob",
            &admin,
            json!({"name": "Bob", "skills": {"vpn": 6}}),
        )
        .await;
    assert_eq!(s, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("skills.vpn"),
        "{problem}"
    );
    let (s, _) = app.get("/api/v1/analysts/bob", &admin).await;
    assert_eq!(s, 404, "nothing created");
}

on_both_databases!(
    with [("ROUTING__PRIORITY_AGING_SECS", "1")];
    skilled_chat_waits_for_the_all_step_then_goes_to_an_unskilled_analyst,
    expansion_keeps_the_chat_ahead_of_younger_ones,
    aging_lets_an_old_low_priority_chat_overtake,
    overflow_moves_a_chat_and_both_queues_are_told,
    a_full_queue_refuses_and_creates_nothing,
    a_queue_closes_at_its_hour_and_reopens,
    the_estimate_is_sent_and_shown,
    bad_rules_are_refused_naming_the_field,
);
