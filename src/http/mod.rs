//! The HTTP surface: one file per resource, thin handlers (parse, authorise, ask). `configure`
//! mounts every route; the extractor configs here turn malformed input into problem+json.

pub mod access;
pub mod analysts;
pub mod body;
pub mod calls;
pub mod chats;
pub mod dev;
pub mod health;
pub mod me;
pub mod members;
pub mod queues;
pub mod tickets;
pub mod ws;

use actix_web::web;

use crate::error::AppError;

/// Mounts every route and the web pages. `dev_login` adds `POST /dev/token`.
pub fn configure(cfg: &mut web::ServiceConfig, dev_login: bool) {
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
        .configure(crate::web::configure)
        .service(
            web::scope("/api/v1")
                .service(me::get_me)
                .service(tickets::create_ticket)
                .service(queues::list_queues)
                .service(queues::get_queue)
                .service(queues::put_queue)
                .service(queues::patch_queue)
                .service(queues::queue_analysts)
                .service(chats::list_chats)
                .service(chats::get_chat)
                .service(calls::get_call)
                .service(analysts::patch_analyst)
                .service(members::put_member)
                .service(members::delete_member)
                .service(analysts::get_analyst)
                .service(analysts::put_analyst),
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
        Err(AppError::bad_request(format!(
            "{field} must match ^[A-Za-z0-9][A-Za-z0-9._@-]{{0,63}}$"
        )))
    }
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
