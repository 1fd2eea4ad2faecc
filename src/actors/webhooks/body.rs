//! The body of one delivery: `{"type","timestamp","data"}` from its outbox row. A `chat.ended`
//! row leaves out the transcript (the commit that ends a chat reads nothing); it is read here
//! from the stored messages (with their attachments' URLs), which are complete and unchanging
//! once the chat has ended.

use entities::webhook_events;
use sea_orm::DatabaseConnection;

use crate::domain::Visibility;
use crate::error::{AppError, AppResult};
use crate::protocol::{Message, WebhookBody, WebhookEventType};
use crate::store;
use crate::timefmt::rfc3339;
use crate::views;

/// The JSON text posted for `event`.
pub async fn build(db: &DatabaseConnection, event: &webhook_events::Model) -> AppResult<String> {
    let kind = WebhookEventType::parse(&event.event_type)
        .ok_or_else(|| AppError::bad_request(format!("unknown event type {}", event.event_type)))?;
    let mut data: serde_json::Value = serde_json::from_str(&event.data)
        .map_err(|e| AppError::bad_request(format!("stored event data: {e}")))?;
    if kind == WebhookEventType::ChatEnded
        && let Some(chat_id) = data.get("chat_id").and_then(|v| v.as_str())
    {
        let transcript = transcript(db, chat_id).await?;
        // The user's last seq: internal messages take seqs the user never sees.
        let last_seq = transcript.last().map_or(0, |m| m.seq);
        data["transcript"] = serde_json::to_value(transcript)
            .map_err(|e| AppError::bad_request(format!("transcript: {e}")))?;
        if let Some(chat) = data.get_mut("chat") {
            chat["last_seq"] = serde_json::Value::from(last_seq);
        }
    }
    let body = WebhookBody {
        kind,
        timestamp: rfc3339(event.occurred_at),
        data,
    };
    serde_json::to_string(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))
}

/// Every message of the chat the user could see, in seq order (whispers left out).
async fn transcript(db: &DatabaseConnection, chat_id: &str) -> AppResult<Vec<Message>> {
    let rows = store::messages::transcript(db, chat_id, 0, u64::MAX).await?;
    let mut files = store::attachments::of_messages(db, chat_id, &rows).await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.visibility != Visibility::Internal.as_str())
        .filter_map(|row| {
            let carried = files.remove(&row.seq).unwrap_or_default();
            views::message(row, carried).ok()
        })
        .collect())
}
