//! Entity for the `chats` table: one routed chat session and its lifecycle.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    /// UUID v7 in text form.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub queue_id: String,
    pub user_id: String,
    pub analyst_id: Option<String>,
    pub call_id: String,
    pub subject: String,
    /// `waiting` | `offered` | `active` | `closed` | `unanswered`
    pub state: String,
    pub created_at: ChronoDateTimeUtc,
    pub accepted_at: Option<ChronoDateTimeUtc>,
    pub ended_at: Option<ChronoDateTimeUtc>,
    pub end_reason: Option<String>,
    /// Highest message sequence number handed out (schema default 0).
    pub last_seq: i64,
    /// Skills asked for, as a JSON array of `{"name","level"}` (schema default `[]`).
    pub skills: String,
    /// When the chat entered its current queue; null = at creation.
    pub queued_at: Option<ChronoDateTimeUtc>,
    /// After-chat work (§9.1): null (none), `pending` or `done`.
    pub wrap_up: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id"
    )]
    Queues,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    Users,
    #[sea_orm(
        belongs_to = "super::analysts::Entity",
        from = "Column::AnalystId",
        to = "super::analysts::Column::Id",
        on_delete = "SetNull"
    )]
    Analysts,
    #[sea_orm(
        belongs_to = "super::calls::Entity",
        from = "Column::CallId",
        to = "super::calls::Column::Id"
    )]
    Calls,
    #[sea_orm(has_many = "super::chat_messages::Entity")]
    ChatMessages,
    #[sea_orm(has_many = "super::chat_links::Entity")]
    ChatLinks,
    #[sea_orm(has_many = "super::call_history::Entity")]
    CallHistory,
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::analysts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Analysts.def()
    }
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calls.def()
    }
}

impl Related<super::chat_messages::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ChatMessages.def()
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
