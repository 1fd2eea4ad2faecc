//! Migration adding the routing rules of contract §8: analysts' skills; queues' skill lists,
//! expansion steps, overflow, `max_waiting` and business hours; chats' requested skills and the
//! time each entered its current queue (`queued_at`, from which expansion and overflow are
//! decided, so a restart applies them late at most, never twice). Lists and maps are stored as
//! JSON text; one column per statement, as SQLite alters a table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each added column: its table and definition.
fn columns() -> Vec<(DynIden, ColumnDef)> {
    let q = || Queues::Table.into_iden();
    vec![
        (
            Analysts::Table.into_iden(),
            ColumnDef::new(Analysts::Skills)
                .text()
                .not_null()
                .default("{}")
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::Skills)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::Expansion)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::OverflowAfterSecs)
                .integer()
                .null()
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::OverflowQueueId)
                .string()
                .null()
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::MaxWaiting)
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ),
        (
            q(),
            ColumnDef::new(Queues::Schedule).text().null().to_owned(),
        ),
        (
            Chats::Table.into_iden(),
            ColumnDef::new(Chats::Skills)
                .text()
                .not_null()
                .default("[]")
                .to_owned(),
        ),
        (
            Chats::Table.into_iden(),
            ColumnDef::new(Chats::QueuedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns().into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Analysts {
    Table,
    Skills,
}

#[derive(DeriveIden)]
enum Queues {
    Table,
    Skills,
    Expansion,
    OverflowAfterSecs,
    OverflowQueueId,
    MaxWaiting,
    Schedule,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Skills,
    QueuedAt,
}
