//! Attachments: a file uploaded into a chat, stored with its bytes (only while the chat is
//! open), marked sent with the message that carries it, read back without its bytes for
//! transcripts and access checks, and the unsent ones deleted when the chat ends.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{attachments, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::error::AppResult;

/// An uploaded file about to be stored.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: String,
    pub chat_id: String,
    pub uploader_role: String,
    pub uploader_id: String,
    pub name: String,
    pub content_type: String,
    pub sha256: String,
    pub data: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// An attachment without its bytes: what transcripts, `send` and access checks need.
#[derive(Debug, Clone, PartialEq, Eq, DerivePartialModel)]
#[sea_orm(entity = "attachments::Entity")]
pub struct AttachmentMeta {
    pub id: String,
    pub chat_id: String,
    pub uploader_role: String,
    pub uploader_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// The seq of the message that carries it; null until sent.
    pub message_seq: Option<i64>,
}

/// Stores `file` if its chat is still open; `false` (nothing stored) when the chat has ended or
/// does not exist. Run by the store writer, whose transactions are serial, so a chat's end (which
/// deletes its unsent files) is either before this (refused) or after it (the file goes).
pub async fn insert_if_open(db: &impl ConnectionTrait, file: NewAttachment) -> AppResult<bool> {
    let open = chats::Entity::find_by_id(file.chat_id.clone())
        .filter(chats::Column::EndedAt.is_null())
        .select_only()
        .column(chats::Column::Id)
        .into_tuple::<String>()
        .one(db)
        .await?
        .is_some();
    if !open {
        return Ok(false);
    }
    let model = attachments::ActiveModel {
        id: Set(file.id),
        chat_id: Set(file.chat_id),
        uploader_role: Set(file.uploader_role),
        uploader_id: Set(file.uploader_id),
        name: Set(file.name),
        content_type: Set(file.content_type),
        size: Set(i64::try_from(file.data.len()).unwrap_or(i64::MAX)),
        sha256: Set(file.sha256),
        data: Set(file.data),
        message_seq: Set(None),
        created_at: Set(file.created_at),
    };
    attachments::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(true)
}

/// Marks `ids` as carried by message `seq` of `chat_id` (those still unsent in that chat).
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    chat_id: &str,
    seq: i64,
    ids: &[String],
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    attachments::Entity::update_many()
        .col_expr(attachments::Column::MessageSeq, Expr::value(seq))
        .filter(attachments::Column::ChatId.eq(chat_id))
        .filter(attachments::Column::MessageSeq.is_null())
        .filter(attachments::Column::Id.is_in(ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the files of `chat_id` that were never sent (the chat has ended).
pub async fn delete_unsent(db: &impl ConnectionTrait, chat_id: &str) -> AppResult<()> {
    attachments::Entity::delete_many()
        .filter(attachments::Column::ChatId.eq(chat_id))
        .filter(attachments::Column::MessageSeq.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// One attachment without its bytes.
pub async fn meta(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<AttachmentMeta>> {
    Ok(attachments::Entity::find_by_id(id.to_string())
        .into_partial_model::<AttachmentMeta>()
        .one(db)
        .await?)
}

/// One attachment's bytes.
pub async fn data(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<Vec<u8>>> {
    Ok(attachments::Entity::find_by_id(id.to_string())
        .select_only()
        .column(attachments::Column::Data)
        .into_tuple::<Vec<u8>>()
        .one(db)
        .await?)
}

/// The files of an open chat not yet sent, oldest first (a restarted chat actor's list).
pub async fn unsent(db: &impl ConnectionTrait, chat_id: &str) -> AppResult<Vec<AttachmentMeta>> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::ChatId.eq(chat_id))
        .filter(attachments::Column::MessageSeq.is_null())
        .order_by_asc(attachments::Column::CreatedAt)
        .into_partial_model::<AttachmentMeta>()
        .all(db)
        .await?)
}

/// The files sent in messages `from_seq..=to_seq` of a chat, by seq, in upload order.
pub async fn sent_between(
    db: &impl ConnectionTrait,
    chat_id: &str,
    from_seq: i64,
    to_seq: i64,
) -> AppResult<HashMap<i64, Vec<AttachmentMeta>>> {
    let rows = attachments::Entity::find()
        .filter(attachments::Column::ChatId.eq(chat_id))
        .filter(attachments::Column::MessageSeq.between(from_seq, to_seq))
        .order_by_asc(attachments::Column::CreatedAt)
        .order_by_asc(attachments::Column::Id)
        .into_partial_model::<AttachmentMeta>()
        .all(db)
        .await?;
    let mut by_seq: HashMap<i64, Vec<AttachmentMeta>> = HashMap::new();
    for row in rows {
        if let Some(seq) = row.message_seq {
            by_seq.entry(seq).or_default().push(row);
        }
    }
    Ok(by_seq)
}

/// The files sent in the messages `rows` (of one chat), by seq.
pub async fn of_messages(
    db: &impl ConnectionTrait,
    chat_id: &str,
    rows: &[entities::chat_messages::Model],
) -> AppResult<HashMap<i64, Vec<AttachmentMeta>>> {
    match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => sent_between(db, chat_id, first.seq, last.seq).await,
        _ => Ok(HashMap::new()),
    }
}
