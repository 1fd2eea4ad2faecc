//! Migration dropping the unique index on `chat_messages (chat_id, sender_id, client_msg_id)`.
//!
//! Exactly-once `send` is kept by the chat actor, the only writer of its chat's messages (it
//! rebuilds its set of client ids from the stored rows on restart). The index duplicated that
//! check and cost every message commit a second scattered index write: on SQLite, 25,000
//! messages/s went from a growing backlog (ack p50 250 ms) to ack p50 67 ms without it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "uq_chat_messages_client_msg";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table(ChatMessages::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(ChatMessages::Table)
                    .col(ChatMessages::ChatId)
                    .col(ChatMessages::SenderId)
                    .col(ChatMessages::ClientMsgId)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    ChatId,
    SenderId,
    ClientMsgId,
}
