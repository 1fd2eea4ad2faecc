//! Migration for contract §9.1–§9.2: each queue's wrap-up settings (`queues.wrap_up`, JSON, null =
//! off), each analyst's pending status (`analysts.pending_status`), each chat's wrap-up state
//! (`chats.wrap_up`: null, `pending` or `done`) and `chat_wrap_ups`, one row per wrap-up with its
//! stored deadline (so a restart re-arms it) and, once done, its code, note, who and when.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Each added column: its table and definition (one per statement, as SQLite alters a table).
fn columns() -> Vec<(DynIden, ColumnDef)> {
    vec![
        (
            Queues::Table.into_iden(),
            ColumnDef::new(Queues::WrapUp).text().null().to_owned(),
        ),
        (
            Analysts::Table.into_iden(),
            ColumnDef::new(Analysts::PendingStatus)
                .string()
                .null()
                .to_owned(),
        ),
        (
            Chats::Table.into_iden(),
            ColumnDef::new(Chats::WrapUp).string().null().to_owned(),
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
        manager
            .create_table(
                Table::create()
                    .table(ChatWrapUps::Table)
                    .col(
                        ColumnDef::new(ChatWrapUps::ChatId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ChatWrapUps::AnalystId).string().not_null())
                    .col(ColumnDef::new(ChatWrapUps::QueueId).string().not_null())
                    .col(ColumnDef::new(ChatWrapUps::Required).boolean().not_null())
                    .col(ColumnDef::new(ChatWrapUps::Codes).text().not_null())
                    .col(
                        ColumnDef::new(ChatWrapUps::Deadline)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ChatWrapUps::Code).string().null())
                    .col(ColumnDef::new(ChatWrapUps::Note).text().null())
                    .col(ColumnDef::new(ChatWrapUps::ById).string().null())
                    .col(ColumnDef::new(ChatWrapUps::ByName).string().null())
                    .col(
                        ColumnDef::new(ChatWrapUps::DoneAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_wrap_ups_chat")
                            .from(ChatWrapUps::Table, ChatWrapUps::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_chat_wrap_ups_pending")
                    .table(ChatWrapUps::Table)
                    .col(ChatWrapUps::Code)
                    .col(ChatWrapUps::Deadline)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChatWrapUps::Table).to_owned())
            .await?;
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
enum Queues {
    Table,
    WrapUp,
}

#[derive(DeriveIden)]
enum Analysts {
    Table,
    PendingStatus,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    WrapUp,
}

#[derive(DeriveIden)]
enum ChatWrapUps {
    Table,
    ChatId,
    AnalystId,
    QueueId,
    Required,
    Codes,
    Deadline,
    Code,
    Note,
    ById,
    ByName,
    DoneAt,
}
