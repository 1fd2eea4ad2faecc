//! Entity for the `call_history` table: chat transcripts written onto calls,
//! unique per `(call_id, chat_id)` so rewriting an entry is idempotent.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "call_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub call_id: String,
    /// e.g. `chat`
    pub kind: String,
    pub chat_id: String,
    pub started_at: ChronoDateTimeUtc,
    pub ended_at: ChronoDateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub contents: String,
    pub link: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::calls::Entity",
        from = "Column::CallId",
        to = "super::calls::Column::Id"
    )]
    Calls,
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id"
    )]
    Chats,
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calls.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
