//! Entity for the `chat_messages` table: the ordered transcript of a chat,
//! keyed by `(chat_id, seq)`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chat_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub sender_role: String,
    pub sender_id: String,
    pub sender_name: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Client-supplied id for idempotent sends; unique per (chat, sender).
    pub client_msg_id: Option<String>,
    /// `all`, or `internal` (a whisper: staff only, never the user).
    pub visibility: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id",
        on_delete = "Cascade"
    )]
    Chats,
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
