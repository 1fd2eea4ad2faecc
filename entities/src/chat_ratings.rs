//! Entity for the `chat_ratings` table: a user's end-of-chat rating (contract §9.4), one per chat.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chat_ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: String,
    /// Which `rate` command wrote the row: a second one finds another id and is a conflict.
    pub rating_id: String,
    /// The queue the chat ended in.
    pub queue_id: String,
    /// 1 to 5.
    pub score: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub rated_at: ChronoDateTimeUtc,
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
