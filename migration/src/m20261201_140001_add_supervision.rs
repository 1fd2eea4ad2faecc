//! Migration for supervising a live chat (contract §9.3): `chat_messages.visibility` (`all`, or
//! `internal` for a whisper that the user never sees) and `chat_supervisors` (managers and
//! admins who monitor or joined a chat: one row per chat, principal and kind while it lasts).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMessages::Table)
                    .add_column(
                        ColumnDef::new(ChatMessages::Visibility)
                            .string()
                            .not_null()
                            .default("all"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatSupervisors::Table)
                    .col(ColumnDef::new(ChatSupervisors::ChatId).string().not_null())
                    .col(
                        ColumnDef::new(ChatSupervisors::PrincipalId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ChatSupervisors::Kind).string().not_null())
                    .col(ColumnDef::new(ChatSupervisors::Role).string().not_null())
                    .col(ColumnDef::new(ChatSupervisors::Name).string().not_null())
                    .col(
                        ColumnDef::new(ChatSupervisors::Since)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ChatSupervisors::ChatId)
                            .col(ChatSupervisors::PrincipalId)
                            .col(ChatSupervisors::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_supervisors_chat")
                            .from(ChatSupervisors::Table, ChatSupervisors::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChatSupervisors::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMessages::Table)
                    .drop_column(ChatMessages::Visibility)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    Visibility,
}

#[derive(DeriveIden)]
enum ChatSupervisors {
    Table,
    ChatId,
    PrincipalId,
    Kind,
    Role,
    Name,
    Since,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}
