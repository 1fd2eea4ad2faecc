//! End-of-chat ratings (contract §9.4): at most one per chat, written by the store writer; read for
//! the call history and for each queue's `csat_today`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::chat_ratings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::error::AppResult;

/// Ids per `IN (...)` list.
const IDS_PER_QUERY: usize = 1000;

/// A rating about to be stored.
#[derive(Debug, Clone)]
pub struct NewRating {
    pub chat_id: String,
    /// This `rate` command's own id: the row it finds after the commit tells whether it won.
    pub rating_id: String,
    pub queue_id: String,
    pub score: i32,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// Stores the rating unless the chat already has one (then nothing changes: the caller reads
/// the row back and finds another `rating_id`). True when this rating was inserted.
pub async fn insert(db: &impl ConnectionTrait, r: &NewRating) -> AppResult<bool> {
    let model = chat_ratings::ActiveModel {
        chat_id: Set(r.chat_id.clone()),
        rating_id: Set(r.rating_id.clone()),
        queue_id: Set(r.queue_id.clone()),
        score: Set(r.score),
        comment: Set(r.comment.clone()),
        rated_at: Set(r.rated_at),
    };
    let result = chat_ratings::Entity::insert(model)
        .on_conflict(
            OnConflict::column(chat_ratings::Column::ChatId)
                .do_nothing()
                .to_owned(),
        )
        .exec(db)
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The rating of a chat, if it has one.
pub async fn find(
    db: &impl ConnectionTrait,
    chat_id: &str,
) -> AppResult<Option<chat_ratings::Model>> {
    Ok(chat_ratings::Entity::find_by_id(chat_id.to_string())
        .one(db)
        .await?)
}

/// The ratings of the given chats, by chat id.
pub async fn of_chats(
    db: &impl ConnectionTrait,
    chat_ids: &[String],
) -> AppResult<HashMap<String, chat_ratings::Model>> {
    let mut out = HashMap::new();
    for chunk in chat_ids.chunks(IDS_PER_QUERY) {
        let rows = chat_ratings::Entity::find()
            .filter(chat_ratings::Column::ChatId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|r| (r.chat_id.clone(), r)));
    }
    Ok(out)
}

/// Per queue, the share of ratings since `since` that scored 4 or 5; queues without ratings are
/// absent.
pub async fn csat_since(
    db: &impl ConnectionTrait,
    queue_ids: &[String],
    since: DateTime<Utc>,
) -> AppResult<HashMap<String, f64>> {
    let rows: Vec<(String, i32)> = chat_ratings::Entity::find()
        .select_only()
        .columns([chat_ratings::Column::QueueId, chat_ratings::Column::Score])
        .filter(chat_ratings::Column::QueueId.is_in(queue_ids.iter().cloned()))
        .filter(chat_ratings::Column::RatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
    for (queue_id, score) in rows {
        let entry = counts.entry(queue_id).or_default();
        entry.0 += 1;
        entry.1 += u64::from(score >= 4);
    }
    Ok(counts
        .into_iter()
        .map(|(queue, (all, good))| (queue, good as f64 / all as f64))
        .collect())
}
