//! What every HTTP handler and WebSocket session can reach: settings, the database, the keys, the
//! ticket book, and the engine's actors and shared lookups. Built once in `app::build` (actors are
//! started before the HTTP workers, never per worker) and shared as `web::Data<AppState>`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix::Addr;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::actors::chat::ChatDirectory;
use crate::actors::feed::Feed;
use crate::actors::hub::Hub;
use crate::actors::router::Router;
use crate::actors::store_writer::StoreWriter;
use crate::auth::{JwtKeys, Tickets};
use crate::settings::Settings;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub keys: JwtKeys,
    pub tickets: Tickets,
    /// Origins a browser may open `/ws` from: `server.allowed_origins`, or the server's own.
    pub allowed_origins: Vec<String>,
    pub hub: Arc<Hub>,
    pub directory: Arc<ChatDirectory>,
    /// The ops event feed (`GET /api/v1/events`).
    pub feed: Arc<Feed>,
    pub router: Addr<Router>,
    pub writer: Addr<StoreWriter>,
    /// Whether the store writer's last commit succeeded.
    pub store_healthy: Arc<AtomicBool>,
    /// Wakes the webhook worker (an endpoint was created or enabled).
    pub webhooks_wake: Arc<Notify>,
    /// One permit per upload being read (`limits.max_concurrent_uploads`).
    pub uploads: Arc<tokio::sync::Semaphore>,
}
