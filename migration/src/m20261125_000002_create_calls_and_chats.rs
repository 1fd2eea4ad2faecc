//! Migration creating `calls`, `chats` and `chat_links`, plus the chat
//! indexes used by routing (queue/state/age scans) and per-user/analyst look-ups.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Calls::Table)
                    .col(ColumnDef::new(Calls::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Calls::UserId).string().not_null())
                    .col(ColumnDef::new(Calls::Summary).string().not_null())
                    .col(ColumnDef::new(Calls::Source).string().not_null())
                    .col(ColumnDef::new(Calls::Status).string().not_null())
                    .col(
                        ColumnDef::new(Calls::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Calls::FirstContactAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calls_user")
                            .from(Calls::Table, Calls::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_calls_user")
                    .table(Calls::Table)
                    .col(Calls::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Chats::Table)
                    .col(ColumnDef::new(Chats::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Chats::QueueId).string().not_null())
                    .col(ColumnDef::new(Chats::UserId).string().not_null())
                    .col(ColumnDef::new(Chats::AnalystId).string().null())
                    .col(ColumnDef::new(Chats::CallId).string().not_null())
                    .col(ColumnDef::new(Chats::Subject).string().not_null())
                    .col(ColumnDef::new(Chats::State).string().not_null())
                    .col(
                        ColumnDef::new(Chats::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Chats::AcceptedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Chats::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Chats::EndReason).string().null())
                    .col(
                        ColumnDef::new(Chats::LastSeq)
                            .big_integer()
                            .not_null()
                            .default(0i64),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_queue")
                            .from(Chats::Table, Chats::QueueId)
                            .to(Queues::Table, Queues::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_user")
                            .from(Chats::Table, Chats::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_analyst")
                            .from(Chats::Table, Chats::AnalystId)
                            .to(Analysts::Table, Analysts::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_call")
                            .from(Chats::Table, Chats::CallId)
                            .to(Calls::Table, Calls::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx_chats_queue_state_created")
                    .table(Chats::Table)
                    .col(Chats::QueueId)
                    .col(Chats::State)
                    .col(Chats::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chats_state_created")
                    .table(Chats::Table)
                    .col(Chats::State)
                    .col(Chats::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chats_user_state")
                    .table(Chats::Table)
                    .col(Chats::UserId)
                    .col(Chats::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_chats_analyst_state")
                    .table(Chats::Table)
                    .col(Chats::AnalystId)
                    .col(Chats::State)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatLinks::Table)
                    .col(ColumnDef::new(ChatLinks::ChatId).string().not_null())
                    .col(ColumnDef::new(ChatLinks::CallId).string().not_null())
                    .col(
                        ColumnDef::new(ChatLinks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(ChatLinks::ChatId)
                            .col(ChatLinks::CallId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_links_chat")
                            .from(ChatLinks::Table, ChatLinks::ChatId)
                            .to(Chats::Table, Chats::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_links_call")
                            .from(ChatLinks::Table, ChatLinks::CallId)
                            .to(Calls::Table, Calls::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables.
        manager
            .drop_table(Table::drop().table(ChatLinks::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Chats::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Calls::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Queues {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Analysts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Calls {
    Table,
    Id,
    UserId,
    Summary,
    Source,
    Status,
    CreatedAt,
    FirstContactAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    QueueId,
    UserId,
    AnalystId,
    CallId,
    Subject,
    State,
    CreatedAt,
    AcceptedAt,
    EndedAt,
    EndReason,
    LastSeq,
}

#[derive(DeriveIden)]
enum ChatLinks {
    Table,
    ChatId,
    CallId,
    CreatedAt,
}
