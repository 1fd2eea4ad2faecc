//! Entity for the `queue_members` table: which analysts serve which queues.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "queue_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub queue_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub analyst_id: String,
    /// `analyst` | `manager`
    pub role: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::queues::Entity",
        from = "Column::QueueId",
        to = "super::queues::Column::Id",
        on_delete = "Cascade"
    )]
    Queues,
    #[sea_orm(
        belongs_to = "super::analysts::Entity",
        from = "Column::AnalystId",
        to = "super::analysts::Column::Id",
        on_delete = "Cascade"
    )]
    Analysts,
}

impl Related<super::queues::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Queues.def()
    }
}

impl Related<super::analysts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Analysts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
