//! The HTTP surface: one file per resource, thin handlers (parse, authorise, ask). `configure`
//! mounts every route; the extractor configs here turn malformed input into problem+json.

pub mod access;
pub mod analysts;
pub mod attachments;
pub mod body;
pub mod call_tickets;
pub mod caller;
pub mod calls;
pub mod chats;
pub mod cluster;
pub mod cors;
pub mod dev;
pub mod downloads;
pub mod events;
pub mod forward;
pub mod health;
pub mod me;
pub mod members;
pub mod metrics;
pub mod openapi;
pub mod queues;
pub mod stats;
pub mod tickets;
pub mod webhook_deliveries;
pub mod webhooks;
pub mod ws;
pub mod ws_host;
pub mod ws_relay;

use actix_web::web;

use crate::error::AppError;

/// Mounts every route and the web pages. `dev_login` adds `POST /dev/token`; `cors` guards
/// `/api/v1` for browsers on other origins.
pub fn configure(cfg: &mut web::ServiceConfig, dev_login: bool, cors: actix_cors::Cors) {
    cfg.app_data(web::PayloadConfig::new(body::MAX_JSON_BYTES))
        .app_data(
            web::PathConfig::default()
                .error_handler(|err, _| AppError::bad_request(err.to_string()).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|err, _| AppError::bad_request(err.to_string()).into()),
        )
        .service(health::healthz)
        .service(health::readyz)
        .service(ws::connect)
        .service(metrics::metrics)
        .service(openapi::openapi_json)
        .configure(crate::web::configure)
        .service(
            utoipa_actix_web::scope(web::scope("/api/v1"))
                .configure(openapi::api_v1)
                .default_service(web::to(openapi::fallback))
                .wrap(cors),
        );
    if dev_login {
        cfg.service(dev::dev_token);
    }
}

/// Refuses ids that do not match the contract's id pattern, naming the field.
pub fn check_id(field: &str, id: &str) -> Result<(), AppError> {
    if crate::domain::is_valid_id(id) {
        Ok(())
    } else {
        Err(bad_id(field))
    }
}

/// An id from a path, checked by its type's `parse` (`QueueId`, `AnalystId`, ...); refused with
/// the same problem as `check_id`, naming the field.
pub fn parse_id<T: std::str::FromStr>(field: &str, id: &str) -> Result<T, AppError> {
    id.parse().map_err(|_| bad_id(field))
}

fn bad_id(field: &str) -> AppError {
    AppError::bad_request(format!(
        "{field} must match ^[A-Za-z0-9][A-Za-z0-9._@-]{{0,63}}$"
    ))
}

/// After a provisioning change: the router reloads queues, analysts and memberships before the
/// response goes out, so a client that connects next finds them.
pub async fn reload_directory(state: &crate::state::AppState) -> Result<(), AppError> {
    state
        .router
        .send(crate::actors::router::LoadDirectory)
        .await
        .map_err(|e| AppError::new(crate::error::ErrorCode::Unavailable, e.to_string()))?
}
