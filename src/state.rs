//! What every HTTP handler and WebSocket handshake can reach: settings, the database, the keys,
//! the ticket book. Built once in `app::build`, shared by every worker as `web::Data<AppState>`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{JwtKeys, Tickets};
use crate::settings::Settings;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub keys: JwtKeys,
    pub tickets: Tickets,
}
