//! Switchboard: a real-time chat routing engine for IT service desks.
//!
//! Users wait in queues, a router hands their chats to available analysts, analyst and user talk
//! over WebSocket, and each chat's transcript lands in its call's history. See README.md for the
//! map; `app` assembles the pieces.

pub mod actors;
pub mod app;
pub mod attachments;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod domain;
pub mod error;
pub mod http;
pub mod load;
pub mod metrics;
pub mod ops;
pub mod protocol;
pub mod routing;
pub mod seed;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod ticket;
pub mod timefmt;
pub mod views;
pub mod web;
