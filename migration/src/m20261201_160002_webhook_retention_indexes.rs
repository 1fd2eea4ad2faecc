//! Migration adding the indexes the webhook retention sweep (issue 15) reads by: ended
//! deliveries by status and last attempt, deliveries by event (is an event still wanted?), and
//! events by when they happened.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ENDED: &str = "ix_webhook_deliveries_ended";
const BY_EVENT: &str = "ix_webhook_deliveries_event";
const OCCURRED: &str = "ix_webhook_events_occurred";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(ENDED)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::LastAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(BY_EVENT)
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EventId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OCCURRED)
                    .table(WebhookEvents::Table)
                    .col(WebhookEvents::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            (ENDED, WebhookDeliveries::Table.into_iden()),
            (BY_EVENT, WebhookDeliveries::Table.into_iden()),
            (OCCURRED, WebhookEvents::Table.into_iden()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Status,
    LastAttemptAt,
    EventId,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    OccurredAt,
}
