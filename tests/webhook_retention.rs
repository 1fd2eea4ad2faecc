//! Webhook retention (issue 15), on SQLite and PostgreSQL: deliveries that ended longer ago than
//! `webhooks.retention_hours` are deleted in the background (through the store writer), with the
//! events no delivery needs any more; a pending delivery and its event stay however old they
//! are, and so does a recent delivered one. Age is set by moving the stored timestamps back,
//! as if the week had passed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use common::receiver::Receiver;
use entities::{webhook_deliveries, webhook_events};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use switchboard::domain::Role;

async fn subscribe(app: &TestApp, receiver: &Receiver, id: &str, events: &[&str]) {
    let (status, body) = app
        .put(
            &format!("/api/v1/webhooks/{id}"),
            &app.admin(),
            json!({"url": receiver.url(), "events": events}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    receiver.secret(body["secret"].as_str().unwrap());
}

async fn deliveries(app: &TestApp) -> Vec<webhook_deliveries::Model> {
    webhook_deliveries::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
}

async fn events(app: &TestApp) -> Vec<webhook_events::Model> {
    webhook_events::Entity::find().all(&app.db).await.unwrap()
}

/// Moves every stored delivery and event `hours` into the past.
async fn age_everything(app: &TestApp, hours: i64) {
    let then = chrono::Utc::now() - chrono::TimeDelta::hours(hours);
    webhook_deliveries::Entity::update_many()
        .col_expr(webhook_deliveries::Column::LastAttemptAt, Expr::val(then))
        .col_expr(webhook_deliveries::Column::CreatedAt, Expr::val(then))
        .exec(&app.db)
        .await
        .unwrap();
    webhook_events::Entity::update_many()
        .col_expr(webhook_events::Column::OccurredAt, Expr::val(then))
        .exec(&app.db)
        .await
        .unwrap();
}

/// A user's chat that waits in `service-desk` (nobody answers) and is then closed by the user:
/// `chat.queued`, then `chat.ended`.
async fn queued_then_closed(app: &TestApp, user: &str) {
    let mut ws = app.ws(&app.token(user, Role::User)).await;
    let ok = ws
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = ok["chat_id"].as_str().unwrap().to_string();
    ws.ok(json!({"type": "close_chat", "chat_id": chat})).await;
}

async fn old_ended_deliveries_go_and_pending_ones_stay(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let desk = Receiver::start().await;
    subscribe(&app, &desk, "desk", &["chat.queued", "chat.ended"]).await;
    // A host that keeps failing: its `chat.ended` stays pending (retried).
    let down = Receiver::start().await;
    down.script(&[500; 1000]);
    subscribe(&app, &down, "down", &["chat.ended"]).await;

    queued_then_closed(&app, "uma").await;
    desk.wait_delivered(&["chat.queued", "chat.ended"]).await;
    down.wait_for(Duration::from_secs(10), |got| !got.is_empty())
        .await;
    assert_eq!(deliveries(&app).await.len(), 3);

    // A week and a day later (retention: a week).
    age_everything(&app, 8 * 24).await;
    let mut left = Vec::new();
    for _ in 0..100 {
        left = deliveries(&app).await;
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left.len(), 1, "only the pending delivery stays: {left:?}");
    assert_eq!(left[0].endpoint_id, "down");
    assert_eq!(left[0].status, "pending");
    let kept = events(&app).await;
    assert_eq!(kept.len(), 1, "only the event still pending stays");
    assert_eq!(kept[0].event_type, "chat.ended");
    assert_eq!(kept[0].id, left[0].event_id);

    // A delivery that ended just now is kept through several sweeps.
    queued_then_closed(&app, "una").await;
    desk.wait_for(Duration::from_secs(30), |got| {
        got.iter()
            .filter(|g| g.answered == 200 && g.body["type"] == "chat.ended")
            .count()
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let recent = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq("desk"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(recent.len(), 2, "recent deliveries are kept: {recent:?}");
}

on_both_databases!(
    with [
        ("WEBHOOKS__RETRY_BASE_SECS", "1"),
        ("WEBHOOKS__RETENTION_HOURS", "168"),
        ("WEBHOOKS__RETENTION_SWEEP_SECS", "1"),
    ];
    old_ended_deliveries_go_and_pending_ones_stay,
);
