//! Entity for the `chat_wrap_ups` table: an analyst's after-chat work on an answered chat
//! (contract §9.1), pending until `code` is set (by the analyst, or `timeout` at `deadline`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chat_wrap_ups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: String,
    /// The analyst whose capacity it holds.
    pub analyst_id: String,
    /// The queue the chat ended in (its mode decided the wrap-up).
    pub queue_id: String,
    /// `required` mode: the analyst is routed nothing meanwhile.
    pub required: bool,
    /// The codes offered, as a JSON array.
    #[sea_orm(column_type = "Text")]
    pub codes: String,
    /// When it ends with code `timeout` if not done before.
    pub deadline: ChronoDateTimeUtc,
    /// Null while pending.
    pub code: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub by_id: Option<String>,
    pub by_name: Option<String>,
    pub done_at: Option<ChronoDateTimeUtc>,
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
