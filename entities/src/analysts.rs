//! Entity for the `analysts` table: service-desk analysts and managers.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "analysts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// `analyst` | `manager`
    pub role: String,
    pub capacity: i32,
    /// `available` | `busy` | `away` | `offline` (schema default `offline`)
    pub status: String,
    /// Skills and levels 1–5 as a JSON object, `{"french": 4}` (schema default `{}`).
    pub skills: String,
    /// The status asked for once their chats and wrap-ups are over (§9.2); null = none.
    pub pending_status: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::queue_members::Entity")]
    QueueMembers,
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
}

impl Related<super::queue_members::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::QueueMembers.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        super::queue_members::Relation::Queues.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::queue_members::Relation::Analysts.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
