//! Migration creating `chat_ratings` (contract §9.4): the user's end-of-chat rating, at most one
//! per chat (its primary key), with the queue it was answered in for the day's `csat_today`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatRatings::Table)
                    .col(
                        ColumnDef::new(ChatRatings::ChatId)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ChatRatings::RatingId).string().not_null())
                    .col(ColumnDef::new(ChatRatings::QueueId).string().not_null())
                    .col(ColumnDef::new(ChatRatings::Score).integer().not_null())
                    .col(ColumnDef::new(ChatRatings::Comment).text().null())
                    .col(
                        ColumnDef::new(ChatRatings::RatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_ratings_chat")
                            .from(ChatRatings::Table, ChatRatings::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_chat_ratings_queue_rated_at")
                    .table(ChatRatings::Table)
                    .col(ChatRatings::QueueId)
                    .col(ChatRatings::RatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChatRatings::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ChatRatings {
    Table,
    ChatId,
    RatingId,
    QueueId,
    Score,
    Comment,
    RatedAt,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
}
