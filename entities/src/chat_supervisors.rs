//! Entity for the `chat_supervisors` table: managers and admins who monitor or joined a chat
//! (contract §9.3), keyed by `(chat_id, principal_id, kind)`.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chat_supervisors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub chat_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub principal_id: String,
    /// `monitor` or `join`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    /// `manager` or `admin`.
    pub role: String,
    pub name: String,
    pub since: ChronoDateTimeUtc,
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
