//! Entity for the `queues` table: routing queues and their SLA settings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "queues")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// `auto` | `offer` | `manual`
    pub routing: String,
    pub priority: i32,
    pub sla_answer_secs: i32,
    pub max_wait_secs: i32,
    pub offer_timeout_secs: i32,
    /// Skills a chat may ask for, as a JSON array of names (schema default `[]`).
    pub skills: String,
    /// Expansion steps as a JSON array of `{"after_secs","relax"}` (schema default `[]`).
    pub expansion: String,
    /// Overflow: after this many seconds in the queue a chat moves to `overflow_queue_id`.
    pub overflow_after_secs: Option<i32>,
    pub overflow_queue_id: Option<String>,
    /// Most chats waiting before `start_chat` answers `queue_full` (0 = no limit).
    pub max_waiting: i32,
    /// Business hours as JSON (`ScheduleSpec`); null = always open.
    pub schedule: Option<String>,
    /// Wrap-up settings as JSON (`{"mode","timeout_secs","codes"}`); null = off (§9.1).
    #[sea_orm(column_type = "Text", nullable)]
    pub wrap_up: Option<String>,
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

impl Related<super::analysts::Entity> for Entity {
    fn to() -> RelationDef {
        super::queue_members::Relation::Analysts.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::queue_members::Relation::Queues.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
