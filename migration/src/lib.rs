//! Schema migrations for Switchboard: the `Migrator` and its ordered list of
//! migrations. Every migration runs unchanged on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_create_directory;
mod m20261125_000002_create_calls_and_chats;
mod m20261125_000003_create_messages_and_history;
mod m20261125_000004_drop_client_msg_index;
mod m20261201_100001_create_webhooks;
mod m20261201_110001_add_call_external_ref;
mod m20261201_120001_create_attachments;
mod m20261201_130001_add_routing_rules;
mod m20261201_140001_add_supervision;
mod m20261201_140002_create_chat_ratings;
mod m20261201_160001_chunk_attachments;
mod m20261201_160002_webhook_retention_indexes;
mod m20261201_170001_add_wrap_up;
mod m20261201_170002_create_cluster_lease;

/// Applies (or rolls back) all Switchboard migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_directory::Migration),
            Box::new(m20261125_000002_create_calls_and_chats::Migration),
            Box::new(m20261125_000003_create_messages_and_history::Migration),
            Box::new(m20261125_000004_drop_client_msg_index::Migration),
            Box::new(m20261201_100001_create_webhooks::Migration),
            Box::new(m20261201_110001_add_call_external_ref::Migration),
            Box::new(m20261201_120001_create_attachments::Migration),
            Box::new(m20261201_130001_add_routing_rules::Migration),
            Box::new(m20261201_140001_add_supervision::Migration),
            Box::new(m20261201_140002_create_chat_ratings::Migration),
            Box::new(m20261201_160001_chunk_attachments::Migration),
            Box::new(m20261201_160002_webhook_retention_indexes::Migration),
            Box::new(m20261201_170001_add_wrap_up::Migration),
            Box::new(m20261201_170002_create_cluster_lease::Migration),
        ]
    }
}
