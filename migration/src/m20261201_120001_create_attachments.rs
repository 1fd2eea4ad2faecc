//! Migration creating `attachments`: files uploaded into a chat (contract §12), the bytes kept
//! in the row (BLOB on SQLite, BYTEA on PostgreSQL) so every node of a cluster reads the same
//! store. `message_seq` is null until the file is sent in a message of its chat; the index on
//! `(chat_id, message_seq)` serves both the transcript's look-up and the end-of-chat clean-up.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ix_attachments_chat_seq";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(
                        ColumnDef::new(Attachments::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Attachments::ChatId).string().not_null())
                    .col(
                        ColumnDef::new(Attachments::UploaderRole)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Attachments::UploaderId).string().not_null())
                    .col(ColumnDef::new(Attachments::Name).string().not_null())
                    .col(ColumnDef::new(Attachments::ContentType).string().not_null())
                    .col(ColumnDef::new(Attachments::Size).big_integer().not_null())
                    .col(ColumnDef::new(Attachments::Sha256).string().not_null())
                    .col(ColumnDef::new(Attachments::Data).blob().not_null())
                    .col(ColumnDef::new(Attachments::MessageSeq).big_integer().null())
                    .col(
                        ColumnDef::new(Attachments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachments_chat")
                            .from(Attachments::Table, Attachments::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Attachments::Table)
                    .col(Attachments::ChatId)
                    .col(Attachments::MessageSeq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attachments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ChatId,
    UploaderRole,
    UploaderId,
    Name,
    ContentType,
    Size,
    Sha256,
    Data,
    MessageSeq,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}
