//! Webhooks (contract §10.1): the endpoints hosts register, the durable outbox, and the
//! deliveries the worker makes from it. `insert_outbox` runs inside the store writer's
//! transaction of the change the events report, so an event exists exactly when its change
//! committed; it writes one `webhook_events` row per event that some enabled endpoint wants and
//! one `webhook_deliveries` row per such endpoint (nothing at all when nobody subscribes).
//! Deliveries are numbered in the order they were written, which is the order they are sent in
//! per chat and endpoint. Changes to deliveries (`DeliveryChange`) also go through the writer.

use chrono::{DateTime, Utc};
use entities::{webhook_deliveries, webhook_endpoints, webhook_events};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;

use crate::domain::DeliveryStatus;
use crate::error::{AppError, AppResult};
use crate::protocol::WebhookEventType;

/// Delivery rows per `INSERT` (11 columns each, far under every bind-parameter limit).
const ROWS_PER_INSERT: usize = 500;

/// An event to put in the outbox, in the transaction of the change it reports.
///
/// Any feature that commits a change through the store writer can report it: build the event
/// with `OutboxEvent::new` and hand it in with the change (`ChatChange::Outbox` in the same
/// `StoreChanges`). Events with the same `order_key` (a chat's id) reach each endpoint in the
/// order they were committed.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub kind: WebhookEventType,
    /// Events with the same key are delivered in order (the chat's id for `chat.*`).
    pub order_key: Option<String>,
    /// When the change happened: the body's `timestamp`.
    pub occurred_at: DateTime<Utc>,
    /// The body's `data`.
    pub data: serde_json::Value,
}

impl OutboxEvent {
    /// An event of `kind` about `data`; `order_key` orders it among its chat's events.
    pub fn new(
        kind: WebhookEventType,
        order_key: Option<String>,
        occurred_at: DateTime<Utc>,
        data: &impl Serialize,
    ) -> OutboxEvent {
        let data = serde_json::to_value(data).unwrap_or_else(|err| {
            tracing::error!(error = %err, kind = kind.as_str(), "webhook data did not serialize");
            serde_json::Value::Null
        });
        OutboxEvent {
            kind,
            order_key,
            occurred_at,
            data,
        }
    }
}

/// The event types an endpoint subscribes to, as stored.
pub fn parse_events(stored: &str) -> Vec<WebhookEventType> {
    serde_json::from_str::<Vec<String>>(stored)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| WebhookEventType::parse(t))
        .collect()
}

/// Writes `events` to the outbox with a pending delivery to every enabled endpoint subscribed to
/// each; returns how many deliveries were written.
pub async fn insert_outbox(db: &impl ConnectionTrait, events: &[OutboxEvent]) -> AppResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let endpoints: Vec<(String, String)> = webhook_endpoints::Entity::find()
        .select_only()
        .columns([
            webhook_endpoints::Column::Id,
            webhook_endpoints::Column::Events,
        ])
        .filter(webhook_endpoints::Column::Enabled.eq(true))
        .order_by_asc(webhook_endpoints::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let subscriptions: Vec<(String, Vec<WebhookEventType>)> = endpoints
        .into_iter()
        .map(|(id, types)| (id, parse_events(&types)))
        .collect();
    let now = Utc::now();
    let (mut rows, mut deliveries) = (Vec::new(), Vec::new());
    for event in events {
        let subscribers: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, types)| types.contains(&event.kind))
            .map(|(id, _)| id)
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        rows.push(webhook_events::ActiveModel {
            id: Set(id.clone()),
            event_type: Set(event.kind.as_str().to_string()),
            order_key: Set(event.order_key.clone()),
            occurred_at: Set(event.occurred_at),
            data: Set(event.data.to_string()),
        });
        for endpoint in subscribers {
            deliveries.push(webhook_deliveries::ActiveModel {
                endpoint_id: Set(endpoint.clone()),
                event_id: Set(id.clone()),
                event_type: Set(event.kind.as_str().to_string()),
                order_key: Set(event.order_key.clone()),
                status: Set(DeliveryStatus::Pending.as_str().to_string()),
                attempts: Set(0),
                last_status_code: Set(None),
                last_attempt_at: Set(None),
                next_attempt_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    let written = deliveries.len();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        webhook_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    for chunk in deliveries.chunks(ROWS_PER_INSERT) {
        webhook_deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(written)
}

/// A change to deliveries or their endpoint, committed by the store writer.
#[derive(Debug, Clone)]
pub enum DeliveryChange {
    /// One attempt was made: its answer and what happens next.
    Attempted {
        delivery_id: i64,
        status: DeliveryStatus,
        status_code: Option<i32>,
        at: DateTime<Utc>,
        next_attempt_at: DateTime<Utc>,
    },
    /// Send it again (manual retry): pending, due now, attempts kept.
    Retry { delivery_id: i64 },
    /// The endpoint answered `410 Gone`: it gets nothing more until it is enabled again.
    Disable { endpoint_id: String, reason: String },
}

/// Applies one delivery change; a row that is gone meanwhile (endpoint deleted) is no error.
pub async fn apply(db: &impl ConnectionTrait, change: &DeliveryChange) -> AppResult<()> {
    use webhook_deliveries::Column as D;
    match change {
        DeliveryChange::Attempted {
            delivery_id,
            status,
            status_code,
            at,
            next_attempt_at,
        } => {
            webhook_deliveries::Entity::update_many()
                .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
                .col_expr(D::Status, Expr::val(status.as_str()))
                .col_expr(D::LastStatusCode, Expr::val(*status_code))
                .col_expr(D::LastAttemptAt, Expr::val(*at))
                .col_expr(D::NextAttemptAt, Expr::val(*next_attempt_at))
                .filter(D::Id.eq(*delivery_id))
                .exec(db)
                .await?;
        }
        DeliveryChange::Retry { delivery_id } => {
            webhook_deliveries::Entity::update_many()
                .col_expr(D::Status, Expr::val(DeliveryStatus::Pending.as_str()))
                .col_expr(D::NextAttemptAt, Expr::val(Utc::now()))
                .filter(D::Id.eq(*delivery_id))
                .exec(db)
                .await?;
        }
        DeliveryChange::Disable {
            endpoint_id,
            reason,
        } => {
            webhook_endpoints::Entity::update_many()
                .col_expr(webhook_endpoints::Column::Enabled, Expr::val(false))
                .col_expr(
                    webhook_endpoints::Column::DisabledReason,
                    Expr::val(reason.as_str()),
                )
                .col_expr(webhook_endpoints::Column::UpdatedAt, Expr::val(Utc::now()))
                .filter(webhook_endpoints::Column::Id.eq(endpoint_id.as_str()))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

/// An endpoint as `PUT` gives it.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub secret: String,
    pub enabled: bool,
}

/// Creates or replaces an endpoint; `true` when it was created.
pub async fn put_endpoint(
    db: &impl ConnectionTrait,
    id: &str,
    settings: &EndpointSettings,
) -> AppResult<(webhook_endpoints::Model, bool)> {
    let now = Utc::now();
    let events: Vec<&str> = settings.events.iter().map(|t| t.as_str()).collect();
    let events =
        serde_json::to_string(&events).map_err(|e| AppError::bad_request(e.to_string()))?;
    let existing = find_endpoint(db, id).await?;
    let created = existing.is_none();
    let model = match existing {
        Some(found) => {
            let mut model: webhook_endpoints::ActiveModel = found.into();
            model.url = Set(settings.url.clone());
            model.events = Set(events);
            model.secret = Set(settings.secret.clone());
            model.enabled = Set(settings.enabled);
            model.disabled_reason = Set(None);
            model.updated_at = Set(now);
            model.update(db).await?
        }
        None => {
            webhook_endpoints::ActiveModel {
                id: Set(id.to_string()),
                url: Set(settings.url.clone()),
                events: Set(events),
                secret: Set(settings.secret.clone()),
                enabled: Set(settings.enabled),
                disabled_reason: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    Ok((model, created))
}

pub async fn find_endpoint(
    db: &impl ConnectionTrait,
    id: &str,
) -> AppResult<Option<webhook_endpoints::Model>> {
    Ok(webhook_endpoints::Entity::find_by_id(id.to_string())
        .one(db)
        .await?)
}

/// Every endpoint, by id.
pub async fn endpoints(db: &impl ConnectionTrait) -> AppResult<Vec<webhook_endpoints::Model>> {
    Ok(webhook_endpoints::Entity::find()
        .order_by_asc(webhook_endpoints::Column::Id)
        .all(db)
        .await?)
}

/// Deletes an endpoint and its deliveries; `false` when there was none.
pub async fn delete_endpoint(db: &impl ConnectionTrait, id: &str) -> AppResult<bool> {
    webhook_deliveries::Entity::delete_many()
        .filter(webhook_deliveries::Column::EndpointId.eq(id))
        .exec(db)
        .await?;
    let deleted = webhook_endpoints::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// The first `limit` pending deliveries of an endpoint, in the order they were written.
pub async fn pending(
    db: &impl ConnectionTrait,
    endpoint_id: &str,
    limit: u64,
) -> AppResult<Vec<webhook_deliveries::Model>> {
    Ok(webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
        .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .order_by_asc(webhook_deliveries::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn event(
    db: &impl ConnectionTrait,
    id: &str,
) -> AppResult<Option<webhook_events::Model>> {
    Ok(webhook_events::Entity::find_by_id(id.to_string())
        .one(db)
        .await?)
}

/// One of the endpoint's deliveries (`None` for another endpoint's).
pub async fn delivery(
    db: &impl ConnectionTrait,
    endpoint_id: &str,
    delivery_id: i64,
) -> AppResult<Option<webhook_deliveries::Model>> {
    Ok(webhook_deliveries::Entity::find_by_id(delivery_id)
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
        .one(db)
        .await?)
}

/// One page of an endpoint's deliveries, newest first, and the cursor of the next page.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    endpoint_id: &str,
    status: Option<DeliveryStatus>,
    cursor: Option<&str>,
    limit: u64,
) -> AppResult<(Vec<webhook_deliveries::Model>, Option<String>)> {
    let limit = Ord::max(limit, 1);
    let mut select = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id));
    if let Some(status) = status {
        select = select.filter(webhook_deliveries::Column::Status.eq(status.as_str()));
    }
    if let Some(cursor) = cursor {
        let before: i64 = cursor
            .parse()
            .map_err(|_| AppError::bad_request("cursor is not valid"))?;
        select = select.filter(webhook_deliveries::Column::Id.lt(before));
    }
    let mut rows = select
        .order_by_desc(webhook_deliveries::Column::Id)
        .limit(limit.saturating_add(1))
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more {
        rows.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok((rows, next))
}
