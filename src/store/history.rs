//! Call history: the transcript of an ended chat written onto its call (idempotently, once per
//! call and chat), its text form (with the files sent in it), and the extra calls a chat is linked to.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{call_history, chat_links, chat_messages};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::error::AppResult;
use crate::protocol::AttachmentRef;
use crate::store::attachments::AttachmentMeta;

/// A chat's transcript as it is written onto one call.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub call_id: String,
    pub chat_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub contents: String,
}

/// Writes the entry (kind `chat`, link `/chats/{chat_id}`); an entry already written for the
/// same call and chat is left as it is.
pub async fn write(db: &impl ConnectionTrait, entry: HistoryEntry) -> AppResult<()> {
    let link = format!("/chats/{}", entry.chat_id);
    let model = call_history::ActiveModel {
        call_id: Set(entry.call_id),
        kind: Set("chat".to_string()),
        chat_id: Set(entry.chat_id),
        started_at: Set(entry.started_at),
        ended_at: Set(entry.ended_at),
        contents: Set(entry.contents),
        link: Set(link),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    let result = call_history::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([call_history::Column::CallId, call_history::Column::ChatId])
                .do_nothing()
                .to_owned(),
        )
        .exec(db)
        .await;
    match result {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The transcript as text: `[YYYY-MM-DD HH:MM:SS UTC] Name: body`, one message a line; the
/// further lines of a multi-line body are indented by two spaces, and so is each file the
/// message carries (`files`, by seq), as `[attachment] name (content type, size bytes) url`.
/// Whispers (`internal`) are left out: the call's history is read by its user too (contract §9.3).
pub fn transcript_text(
    messages: &[chat_messages::Model],
    files: &HashMap<i64, Vec<AttachmentMeta>>,
) -> String {
    messages
        .iter()
        .filter(|m| m.visibility != crate::domain::Visibility::Internal.as_str())
        .map(|m| {
            let mut line = format!(
                "[{}] {}: {}",
                m.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                m.sender_name,
                m.body.replace('\n', "\n  ")
            );
            for f in files.get(&m.seq).into_iter().flatten() {
                line.push_str(&format!(
                    "\n  [attachment] {} ({}, {} bytes) {}",
                    f.name,
                    f.content_type,
                    f.size,
                    AttachmentRef::url_of(&f.id)
                ));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Links a chat to another call; `true` when the link is new.
pub async fn link(db: &impl ConnectionTrait, chat_id: &str, call_id: &str) -> AppResult<bool> {
    let model = chat_links::ActiveModel {
        chat_id: Set(chat_id.to_string()),
        call_id: Set(call_id.to_string()),
        created_at: Set(Utc::now()),
    };
    let inserted = chat_links::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([chat_links::Column::ChatId, chat_links::Column::CallId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

/// The calls a chat is linked to, in the order they were linked.
pub async fn linked_calls(db: &impl ConnectionTrait, chat_id: &str) -> AppResult<Vec<String>> {
    Ok(chat_links::Entity::find()
        .select_only()
        .column(chat_links::Column::CallId)
        .filter(chat_links::Column::ChatId.eq(chat_id))
        .order_by_asc(chat_links::Column::CreatedAt)
        .order_by_asc(chat_links::Column::CallId)
        .into_tuple()
        .all(db)
        .await?)
}
