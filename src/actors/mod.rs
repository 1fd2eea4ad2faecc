//! The actors (architecture.md): the router decides who gets which chat; one queue actor per queue
//! keeps that queue's waiting users told of their place; one chat actor per open chat orders,
//! stores and relays its messages; one session actor per WebSocket; the store writer group-commits
//! messages. `hub` and `directory` are the shared lookups that let them reach each other; every
//! frame to a session goes through its `outbox`, which bounds it. `queue_views` joins stored queue
//! figures with the router's presence for HTTP and the session's `hello`. Nothing here imports
//! `http` (tests/imports.rs).

pub mod archive;
pub mod chat;
pub mod commands;
pub mod delivery;
pub mod directory;
pub mod feed;
pub mod hub;
pub mod linking;
pub mod outbox;
pub mod queue;
pub mod queue_views;
pub mod router;
pub mod session;
pub mod socket;
pub mod store_writer;
pub mod webhook_events;
pub mod webhooks;
