//! Calls (service-desk tickets) that chats belong to: creation with an opaque readable id, the
//! first-contact stamp, and the history entries written onto a call.

use chrono::{DateTime, Utc};
use entities::{call_history, calls};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::error::AppResult;

/// A fresh call id: `CALL-` and a whole UUID v7 in upper-case hex (time-ordered, never reused).
fn new_call_id() -> String {
    format!(
        "CALL-{}",
        uuid::Uuid::now_v7()
            .simple()
            .to_string()
            .to_ascii_uppercase()
    )
}

/// Opens a new call for a user's chat (source `Chat`, status `open`, no first contact yet).
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: &str,
    summary: &str,
    at: DateTime<Utc>,
) -> AppResult<calls::Model> {
    Ok(new_call(user_id, summary, at).1.insert(db).await?)
}

/// A fresh call id and the row of the new call.
pub fn new_call(user_id: &str, summary: &str, at: DateTime<Utc>) -> (String, calls::ActiveModel) {
    let id = new_call_id();
    let model = calls::ActiveModel {
        id: Set(id.clone()),
        user_id: Set(user_id.to_string()),
        summary: Set(summary.to_string()),
        source: Set("Chat".to_string()),
        status: Set("open".to_string()),
        created_at: Set(at),
        first_contact_at: Set(None),
    };
    (id, model)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<calls::Model>> {
    Ok(calls::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Stamps each call's first contact, `(call, at)`, unless it already has one: one conditional
/// UPDATE per 500; the first stamp given for a call wins.
pub async fn record_first_contacts(
    db: &impl ConnectionTrait,
    stamps: &[(&str, DateTime<Utc>)],
) -> AppResult<()> {
    for chunk in stamps.chunks(500) {
        let mut first = CaseStatement::new();
        for &(id, at) in chunk {
            first = first.case(calls::Column::Id.eq(id), Expr::val(at));
        }
        calls::Entity::update_many()
            .col_expr(calls::Column::FirstContactAt, first.into())
            .filter(calls::Column::Id.is_in(chunk.iter().map(|c| c.0)))
            .filter(calls::Column::FirstContactAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The history entries written onto a call, oldest first.
pub async fn history(
    db: &impl ConnectionTrait,
    call_id: &str,
) -> AppResult<Vec<call_history::Model>> {
    Ok(call_history::Entity::find()
        .filter(call_history::Column::CallId.eq(call_id))
        .order_by_asc(call_history::Column::StartedAt)
        .order_by_asc(call_history::Column::Id)
        .all(db)
        .await?)
}
