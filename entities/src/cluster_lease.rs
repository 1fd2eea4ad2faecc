//! Entity for the `cluster_lease` table: which node of a cluster holds the routing lease, under
//! which fencing epoch, until when (contract §11). Written only by `store::lease`'s statements.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "cluster_lease")]
pub struct Model {
    /// The cluster's `cluster.name`: clusters sharing a database each have their own row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The `cluster.node_id` of the leader.
    pub holder: String,
    /// Incremented by every takeover; a routing write under an older epoch is refused.
    pub epoch: i64,
    /// The lease lapses then unless its holder renews it (database clock).
    pub expires_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
