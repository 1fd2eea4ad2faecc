//! Wrap-ups (contract §9.1): started with the end of an answered chat in a queue with wrap-up
//! (the row holds its deadline, so a restart re-arms it), finished once (by the analyst's code or
//! `timeout`), read for the router at start, for the call history and for `hello`. Written by the
//! store writer only; each change also sets the chat's `wrap_up` state.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{chat_wrap_ups, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::error::AppResult;

/// Ids per `IN (...)` list.
const IDS_PER_QUERY: usize = 1000;

/// A wrap-up that starts as its chat ends.
#[derive(Debug, Clone)]
pub struct NewWrapUp {
    pub chat_id: String,
    pub analyst_id: String,
    pub queue_id: String,
    pub required: bool,
    pub codes: Vec<String>,
    pub deadline: DateTime<Utc>,
}

/// A wrap-up being finished.
#[derive(Debug, Clone)]
pub struct DoneWrapUp {
    pub chat_id: String,
    pub code: String,
    pub note: Option<String>,
    pub by_id: String,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

/// Stores a pending wrap-up and marks its chat `pending`.
pub async fn start(db: &impl ConnectionTrait, w: &NewWrapUp) -> AppResult<()> {
    let codes = serde_json::to_string(&w.codes).unwrap_or_else(|_| "[]".into());
    let model = chat_wrap_ups::ActiveModel {
        chat_id: Set(w.chat_id.clone()),
        analyst_id: Set(w.analyst_id.clone()),
        queue_id: Set(w.queue_id.clone()),
        required: Set(w.required),
        codes: Set(codes),
        deadline: Set(w.deadline),
        code: Set(None),
        note: Set(None),
        by_id: Set(None),
        by_name: Set(None),
        done_at: Set(None),
    };
    chat_wrap_ups::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    set_state(db, &w.chat_id, "pending").await
}

/// Finishes a pending wrap-up; false when it was not pending (already done: nothing changes).
pub async fn finish(db: &impl ConnectionTrait, d: &DoneWrapUp) -> AppResult<bool> {
    use chat_wrap_ups::Column as C;
    let result = chat_wrap_ups::Entity::update_many()
        .col_expr(C::Code, Expr::value(d.code.clone()))
        .col_expr(C::Note, Expr::value(d.note.clone()))
        .col_expr(C::ById, Expr::value(d.by_id.clone()))
        .col_expr(C::ByName, Expr::value(d.by_name.clone()))
        .col_expr(C::DoneAt, Expr::value(d.at))
        .filter(C::ChatId.eq(&d.chat_id))
        .filter(C::Code.is_null())
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Ok(false);
    }
    set_state(db, &d.chat_id, "done").await?;
    Ok(true)
}

async fn set_state(db: &impl ConnectionTrait, chat_id: &str, state: &str) -> AppResult<()> {
    chats::Entity::update_many()
        .col_expr(chats::Column::WrapUp, Expr::value(state))
        .filter(chats::Column::Id.eq(chat_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every pending wrap-up, earliest deadline first (the router holds them at start).
pub async fn pending(db: &impl ConnectionTrait) -> AppResult<Vec<chat_wrap_ups::Model>> {
    Ok(chat_wrap_ups::Entity::find()
        .filter(chat_wrap_ups::Column::Code.is_null())
        .order_by_asc(chat_wrap_ups::Column::Deadline)
        .all(db)
        .await?)
}

/// The wrap-ups of the given chats, by chat id.
pub async fn of_chats(
    db: &impl ConnectionTrait,
    chat_ids: &[String],
) -> AppResult<HashMap<String, chat_wrap_ups::Model>> {
    let mut out = HashMap::new();
    for chunk in chat_ids.chunks(IDS_PER_QUERY) {
        let rows = chat_wrap_ups::Entity::find()
            .filter(chat_wrap_ups::Column::ChatId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|r| (r.chat_id.clone(), r)));
    }
    Ok(out)
}

/// The codes a stored wrap-up offers.
pub fn codes(row: &chat_wrap_ups::Model) -> Vec<String> {
    serde_json::from_str(&row.codes).unwrap_or_default()
}
