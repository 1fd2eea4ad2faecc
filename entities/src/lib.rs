//! SeaORM entities for Switchboard: one module per database table, in the
//! generated (`DeriveEntityModel`) style with no behaviour beyond relations.
//!
//! The schema itself is owned by the `migration` crate; column types here
//! must stay in lock-step with it.

pub mod analysts;
pub mod attachment_chunks;
pub mod attachments;
pub mod call_history;
pub mod calls;
pub mod chat_links;
pub mod chat_messages;
pub mod chat_ratings;
pub mod chat_supervisors;
pub mod chat_wrap_ups;
pub mod chats;
pub mod cluster_lease;
pub mod queue_members;
pub mod queues;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_events;

/// Re-exports of every entity under a table-flavoured name.
pub mod prelude {
    pub use super::analysts::Entity as Analyst;
    pub use super::attachment_chunks::Entity as AttachmentChunk;
    pub use super::attachments::Entity as Attachment;
    pub use super::call_history::Entity as CallHistory;
    pub use super::calls::Entity as Call;
    pub use super::chat_links::Entity as ChatLink;
    pub use super::chat_messages::Entity as ChatMessage;
    pub use super::chat_ratings::Entity as ChatRating;
    pub use super::chat_supervisors::Entity as ChatSupervisor;
    pub use super::chat_wrap_ups::Entity as ChatWrapUp;
    pub use super::chats::Entity as Chat;
    pub use super::cluster_lease::Entity as ClusterLease;
    pub use super::queue_members::Entity as QueueMember;
    pub use super::queues::Entity as Queue;
    pub use super::users::Entity as User;
    pub use super::webhook_deliveries::Entity as WebhookDelivery;
    pub use super::webhook_endpoints::Entity as WebhookEndpoint;
    pub use super::webhook_events::Entity as WebhookEvent;
}
