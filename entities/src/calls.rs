//! Entity for the `calls` table: service-desk calls (tickets) that chats
//! belong to.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calls")]
pub struct Model {
    /// Opaque id chosen by the engine.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    pub summary: String,
    /// e.g. `Chat`
    pub source: String,
    /// e.g. `open`
    pub status: String,
    pub created_at: ChronoDateTimeUtc,
    pub first_contact_at: Option<ChronoDateTimeUtc>,
    /// The host's ticket id (e.g. `INC0012345`), unique across calls.
    #[sea_orm(unique)]
    pub external_ref: Option<String>,
    /// Absolute http(s) URL of the host's ticket.
    pub external_url: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    Users,
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
    #[sea_orm(has_many = "super::chat_links::Entity")]
    ChatLinks,
    #[sea_orm(has_many = "super::call_history::Entity")]
    CallHistory,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::chat_links::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChatLinks.def()
    }
}

impl Related<super::call_history::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CallHistory.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
