//! Chat messages: the batched, transactional write path of the engine, transcript reads, and
//! what a restart needs to resume (last sequence numbers, client ids for idempotent sends).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::chat_messages;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::domain::Visibility;
use crate::error::AppResult;
use crate::store::attachments;

/// Rows per `INSERT`: 8 columns each keeps a statement well under SQLite's 32766 and
/// PostgreSQL's 65535 bind parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Ids per `IN (...)` list, for the same reason.
const IDS_PER_QUERY: usize = 1000;

/// A message about to be stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub chat_id: String,
    pub seq: i64,
    pub sender_role: String,
    pub sender_id: String,
    pub sender_name: String,
    pub body: String,
    pub client_msg_id: Option<String>,
    /// `all`, or `internal` (a whisper).
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
    /// Ids of the files it carries, marked sent with it in the same transaction.
    pub attachments: Vec<String>,
}

impl NewMessage {
    fn active_model(&self) -> chat_messages::ActiveModel {
        chat_messages::ActiveModel {
            chat_id: Set(self.chat_id.clone()),
            seq: Set(self.seq),
            sender_role: Set(self.sender_role.clone()),
            sender_id: Set(self.sender_id.clone()),
            sender_name: Set(self.sender_name.clone()),
            body: Set(self.body.clone()),
            client_msg_id: Set(self.client_msg_id.clone()),
            visibility: Set(self.visibility.as_str().to_string()),
            created_at: Set(self.created_at),
        }
    }
}

/// Stores `rows` in one transaction with multi-row inserts: all of them or (on error) none.
/// An empty slice does not touch the database.
pub async fn insert_batch(db: &DatabaseConnection, rows: &[NewMessage]) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let carries_files = rows.iter().any(|r| !r.attachments.is_empty());
    if rows.len() <= ROWS_PER_INSERT && !carries_files {
        // One statement is atomic on its own: no BEGIN and COMMIT round trips.
        return insert_statement(db, rows).await;
    }
    let txn = db.begin().await?;
    insert_in(&txn, rows).await?;
    txn.commit().await
}

/// Stores `rows` as part of the caller's transaction, in multi-row inserts, and marks the files
/// they carry as sent.
pub async fn insert_in(txn: &DatabaseTransaction, rows: &[NewMessage]) -> Result<(), DbErr> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_statement(txn, chunk).await?;
    }
    for row in rows.iter().filter(|r| !r.attachments.is_empty()) {
        attachments::mark_sent(txn, &row.chat_id, row.seq, &row.attachments)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    Ok(())
}

async fn insert_statement(db: &impl ConnectionTrait, rows: &[NewMessage]) -> Result<(), DbErr> {
    chat_messages::Entity::insert_many(rows.iter().map(NewMessage::active_model))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// Up to `limit` messages of a chat after `after_seq`, in order (`u64::MAX`: all of them).
pub async fn transcript(
    db: &impl ConnectionTrait,
    chat_id: &str,
    after_seq: i64,
    limit: u64,
) -> AppResult<Vec<chat_messages::Model>> {
    Ok(chat_messages::Entity::find()
        .filter(chat_messages::Column::ChatId.eq(chat_id))
        .filter(chat_messages::Column::Seq.gt(after_seq))
        .order_by_asc(chat_messages::Column::Seq)
        // Databases take a signed 64-bit LIMIT.
        .limit(std::cmp::min(limit, i64::MAX as u64))
        .all(db)
        .await?)
}

/// The highest stored sequence number of each chat; chats without messages are absent.
pub async fn last_seqs(
    db: &impl ConnectionTrait,
    chat_ids: &[String],
) -> AppResult<HashMap<String, i64>> {
    max_seqs(db, chat_ids, false).await
}

/// The highest sequence number of each chat among the messages its user sees (no whispers):
/// the `last_seq` a user is shown (contract §9.3).
pub async fn last_visible_seqs(
    db: &impl ConnectionTrait,
    chat_ids: &[String],
) -> AppResult<HashMap<String, i64>> {
    max_seqs(db, chat_ids, true).await
}

async fn max_seqs(
    db: &impl ConnectionTrait,
    chat_ids: &[String],
    visible_only: bool,
) -> AppResult<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(chat_ids.len());
    for chunk in chat_ids.chunks(IDS_PER_QUERY) {
        let mut query = chat_messages::Entity::find()
            .select_only()
            .column(chat_messages::Column::ChatId)
            .column_as(Expr::col(chat_messages::Column::Seq).max(), "max_seq")
            .filter(chat_messages::Column::ChatId.is_in(chunk.iter().cloned()));
        if visible_only {
            query = query.filter(chat_messages::Column::Visibility.eq(Visibility::All.as_str()));
        }
        let rows: Vec<(String, i64)> = query
            .group_by(chat_messages::Column::ChatId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// `(sender_id, client_msg_id, seq)` of a chat's messages sent with a client id, by seq.
pub async fn client_ids(
    db: &impl ConnectionTrait,
    chat_id: &str,
) -> AppResult<Vec<(String, String, i64)>> {
    Ok(chat_messages::Entity::find()
        .select_only()
        .columns([
            chat_messages::Column::SenderId,
            chat_messages::Column::ClientMsgId,
            chat_messages::Column::Seq,
        ])
        .filter(chat_messages::Column::ChatId.eq(chat_id))
        .filter(chat_messages::Column::ClientMsgId.is_not_null())
        .order_by_asc(chat_messages::Column::Seq)
        .into_tuple()
        .all(db)
        .await?)
}

/// The `visibility` of message `seq` of a chat (`all` or `internal`), if it is stored.
pub async fn visibility_of(
    db: &impl ConnectionTrait,
    chat_id: &str,
    seq: i64,
) -> AppResult<Option<String>> {
    Ok(
        chat_messages::Entity::find_by_id((chat_id.to_string(), seq))
            .select_only()
            .column(chat_messages::Column::Visibility)
            .into_tuple()
            .one(db)
            .await?,
    )
}
