//! Webhook retention (issue 15): deliveries that ended (`delivered`, or `failed` for good) longer
//! ago than `webhooks.retention_hours` are deleted, then the events older than that which no
//! delivery needs any more. A pending delivery is never deleted, and neither is its event,
//! however old. Run by the store writer in bounded batches (`PruneWebhooks`), so a large backlog
//! of old rows never holds the writer for long.

use chrono::{DateTime, Utc};
use entities::{webhook_deliveries, webhook_events};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::domain::DeliveryStatus;
use crate::error::AppResult;

/// Deletes at most `limit` ended deliveries whose last attempt was before `before`, and at most
/// `limit` events that happened before `before` and have no delivery left; answers how many rows
/// went and whether a batch was full (more may be due).
pub async fn prune(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> AppResult<(u64, bool)> {
    use webhook_deliveries::Column as D;
    use webhook_events::Column as E;
    let ended = [
        DeliveryStatus::Delivered.as_str(),
        DeliveryStatus::Failed.as_str(),
    ];
    let deliveries: Vec<i64> = webhook_deliveries::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(D::Status.is_in(ended))
        .filter(D::LastAttemptAt.lt(before))
        .order_by_asc(D::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let mut gone = deliveries.len() as u64;
    let mut full = gone == limit;
    if !deliveries.is_empty() {
        webhook_deliveries::Entity::delete_many()
            .filter(D::Id.is_in(deliveries))
            .exec(db)
            .await?;
    }
    let still_wanted = Query::select()
        .expr(Expr::val(1))
        .from(webhook_deliveries::Entity)
        .and_where(
            Expr::col((webhook_deliveries::Entity, D::EventId))
                .equals((webhook_events::Entity, E::Id)),
        )
        .to_owned();
    let events: Vec<String> = webhook_events::Entity::find()
        .select_only()
        .column(E::Id)
        .filter(E::OccurredAt.lt(before))
        .filter(Expr::exists(still_wanted).not())
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    gone += events.len() as u64;
    full |= events.len() as u64 == limit;
    if !events.is_empty() {
        webhook_events::Entity::delete_many()
            .filter(E::Id.is_in(events))
            .exec(db)
            .await?;
    }
    Ok((gone, full))
}
