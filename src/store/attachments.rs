//! Attachments: a file uploaded into a chat, its bytes stored first as numbered chunks of at most
//! `CHUNK_BYTES` (each its own small statement, so the store writer interleaves them with
//! message batches), then its row (only while the chat is open; the row alone makes the file
//! exist), marked sent with the message that carries it, read back without its bytes for
//! transcripts and access checks and chunk by chunk for downloads, and the unsent ones deleted
//! (with their chunks) when the chat ends.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{attachment_chunks, attachments, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::error::AppResult;

/// Largest piece of a file stored in one statement: small enough that a message batch waiting
/// behind it is barely delayed, large enough that a 10 MiB file is 40 statements.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// An uploaded file about to be stored (its bytes already are, as chunks).
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: String,
    pub chat_id: String,
    pub uploader_role: String,
    pub uploader_id: String,
    pub name: String,
    pub content_type: String,
    pub sha256: String,
    /// Bytes in its chunks.
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

/// One piece of an upload in progress.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub attachment_id: String,
    /// 0, 1, 2, ... in file order.
    pub seq: i32,
    pub data: Vec<u8>,
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

/// Stores one chunk of an upload (not yet a file: its row comes last).
pub async fn insert_chunk(db: &impl ConnectionTrait, chunk: NewChunk) -> AppResult<()> {
    let model = attachment_chunks::ActiveModel {
        attachment_id: Set(chunk.attachment_id),
        seq: Set(chunk.seq),
        data: Set(chunk.data),
        created_at: Set(Utc::now()),
    };
    attachment_chunks::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Deletes the chunks of `attachment_id` (an upload that failed, was refused or cut off).
pub async fn delete_chunks(db: &impl ConnectionTrait, attachment_id: &str) -> AppResult<()> {
    attachment_chunks::Entity::delete_many()
        .filter(attachment_chunks::Column::AttachmentId.eq(attachment_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores `file`'s row (its chunks are stored already) if its chat is still open; `false` when
/// the chat has ended or does not exist, and then its chunks are deleted in the same
/// transaction. Run by the store writer, whose transactions are serial, so a chat's end (which
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
        delete_chunks(db, &file.id).await?;
        return Ok(false);
    }
    let model = attachments::ActiveModel {
        id: Set(file.id),
        chat_id: Set(file.chat_id),
        uploader_role: Set(file.uploader_role),
        uploader_id: Set(file.uploader_id),
        name: Set(file.name),
        content_type: Set(file.content_type),
        size: Set(file.size),
        sha256: Set(file.sha256),
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

/// Deletes the files of `chat_id` that were never sent (the chat has ended), chunks first.
pub async fn delete_unsent(db: &impl ConnectionTrait, chat_id: &str) -> AppResult<()> {
    let unsent = attachments::Entity::find()
        .filter(attachments::Column::ChatId.eq(chat_id))
        .filter(attachments::Column::MessageSeq.is_null())
        .select_only()
        .column(attachments::Column::Id)
        .into_tuple::<String>()
        .all(db)
        .await?;
    if unsent.is_empty() {
        return Ok(());
    }
    attachment_chunks::Entity::delete_many()
        .filter(attachment_chunks::Column::AttachmentId.is_in(unsent))
        .exec(db)
        .await?;
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

/// Chunk `seq` of an attachment's bytes; `None` past its last.
pub async fn chunk(db: &impl ConnectionTrait, id: &str, seq: i32) -> AppResult<Option<Vec<u8>>> {
    Ok(attachment_chunks::Entity::find_by_id((id.to_string(), seq))
        .select_only()
        .column(attachment_chunks::Column::Data)
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
