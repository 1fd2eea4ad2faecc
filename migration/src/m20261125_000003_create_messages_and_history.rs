//! Migration creating `chat_messages` (transcript, keyed by chat + seq) and
//! `call_history` (transcripts written onto calls, unique per call + chat).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatMessages::Table)
                    .col(ColumnDef::new(ChatMessages::ChatId).string().not_null())
                    .col(ColumnDef::new(ChatMessages::Seq).big_integer().not_null())
                    .col(ColumnDef::new(ChatMessages::SenderRole).string().not_null())
                    .col(ColumnDef::new(ChatMessages::SenderId).string().not_null())
                    .col(ColumnDef::new(ChatMessages::SenderName).string().not_null())
                    .col(ColumnDef::new(ChatMessages::Body).text().not_null())
                    .col(ColumnDef::new(ChatMessages::ClientMsgId).string().null())
                    .col(
                        ColumnDef::new(ChatMessages::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ChatMessages::ChatId)
                            .col(ChatMessages::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_messages_chat")
                            .from(ChatMessages::Table, ChatMessages::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        // Idempotent sends; NULL client ids never collide.
        manager
            .create_index(
                Index::create()
                    .name("uq_chat_messages_client_msg")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::ChatId)
                    .col(ChatMessages::SenderId)
                    .col(ChatMessages::ClientMsgId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CallHistory::Table)
                    .col(
                        ColumnDef::new(CallHistory::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CallHistory::CallId).string().not_null())
                    .col(ColumnDef::new(CallHistory::Kind).string().not_null())
                    .col(ColumnDef::new(CallHistory::ChatId).string().not_null())
                    .col(
                        ColumnDef::new(CallHistory::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CallHistory::EndedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(CallHistory::Contents).text().not_null())
                    .col(ColumnDef::new(CallHistory::Link).string().not_null())
                    .col(
                        ColumnDef::new(CallHistory::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_history_call")
                            .from(CallHistory::Table, CallHistory::CallId)
                            .to(Calls::Table, Calls::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_call_history_chat")
                            .from(CallHistory::Table, CallHistory::ChatId)
                            .to(Chats::Table, Chats::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("uq_call_history_call_chat")
                    .table(CallHistory::Table)
                    .col(CallHistory::CallId)
                    .col(CallHistory::ChatId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables.
        manager
            .drop_table(Table::drop().table(CallHistory::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ChatMessages::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    ChatId,
    Seq,
    SenderRole,
    SenderId,
    SenderName,
    Body,
    ClientMsgId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CallHistory {
    Table,
    Id,
    CallId,
    Kind,
    ChatId,
    StartedAt,
    EndedAt,
    Contents,
    Link,
    CreatedAt,
}
