//! Webhook delivery (contract §10.1, Standard Webhooks): the worker that reads the durable outbox
//! and posts each event to its endpoints (`worker`), the signature and secrets (`signature`),
//! the body of each delivery (`body`) and when a failed one is tried again (`backoff`). Outbox rows
//! are written by the store writer with the change they report (`webhook_events` builds them),
//! and deleted by it once old and done (`retention`).

pub mod backoff;
pub mod body;
pub mod retention;
pub mod signature;
pub mod worker;

pub use worker::WebhookWorker;
