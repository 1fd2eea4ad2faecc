//! Migration creating the directory tables: `queues`, `analysts`,
//! `queue_members` and `users`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Queues::Table)
                    .col(ColumnDef::new(Queues::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Queues::Name).string().not_null())
                    .col(ColumnDef::new(Queues::Description).string().not_null())
                    .col(ColumnDef::new(Queues::Enabled).boolean().not_null())
                    .col(ColumnDef::new(Queues::Routing).string().not_null())
                    .col(ColumnDef::new(Queues::Priority).integer().not_null())
                    .col(ColumnDef::new(Queues::SlaAnswerSecs).integer().not_null())
                    .col(ColumnDef::new(Queues::MaxWaitSecs).integer().not_null())
                    .col(
                        ColumnDef::new(Queues::OfferTimeoutSecs)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Queues::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Queues::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Analysts::Table)
                    .col(
                        ColumnDef::new(Analysts::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Analysts::Name).string().not_null())
                    .col(ColumnDef::new(Analysts::Role).string().not_null())
                    .col(ColumnDef::new(Analysts::Capacity).integer().not_null())
                    .col(
                        ColumnDef::new(Analysts::Status)
                            .string()
                            .not_null()
                            .default("offline"),
                    )
                    .col(
                        ColumnDef::new(Analysts::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Analysts::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(QueueMembers::Table)
                    .col(ColumnDef::new(QueueMembers::QueueId).string().not_null())
                    .col(ColumnDef::new(QueueMembers::AnalystId).string().not_null())
                    .col(ColumnDef::new(QueueMembers::Role).string().not_null())
                    .col(
                        ColumnDef::new(QueueMembers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(QueueMembers::QueueId)
                            .col(QueueMembers::AnalystId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_queue_members_queue")
                            .from(QueueMembers::Table, QueueMembers::QueueId)
                            .to(Queues::Table, Queues::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_queue_members_analyst")
                            .from(QueueMembers::Table, QueueMembers::AnalystId)
                            .to(Analysts::Table, Analysts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_queue_members_analyst")
                    .table(QueueMembers::Table)
                    .col(QueueMembers::AnalystId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Users::Name).string().not_null())
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables.
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(QueueMembers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Analysts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Queues::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Queues {
    Table,
    Id,
    Name,
    Description,
    Enabled,
    Routing,
    Priority,
    SlaAnswerSecs,
    MaxWaitSecs,
    OfferTimeoutSecs,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Analysts {
    Table,
    Id,
    Name,
    Role,
    Capacity,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QueueMembers {
    Table,
    QueueId,
    AnalystId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}
