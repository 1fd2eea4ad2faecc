//! Migration creating `cluster_lease` (contract §11): one row per cluster (`name`), naming the node
//! that holds the routing lease, the fencing `epoch` (incremented by every takeover) and when the
//! lease lapses unless renewed. Every routing write of a cluster node checks the epoch in its own
//! transaction. Created on SQLite too (cluster mode refuses SQLite; the table stays empty there).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClusterLease::Table)
                    .col(
                        ColumnDef::new(ClusterLease::Name)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ClusterLease::Holder).string().not_null())
                    .col(ColumnDef::new(ClusterLease::Epoch).big_integer().not_null())
                    .col(
                        ColumnDef::new(ClusterLease::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClusterLease::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ClusterLease {
    Table,
    Name,
    Holder,
    Epoch,
    ExpiresAt,
}
