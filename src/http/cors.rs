//! CORS for `/api/v1` (contract §13): a portal page on one of `server.allowed_origins` may call
//! the HTTP API with its bearer token (the widget trades its token for a WebSocket ticket and
//! reads its queue). Preflights are answered for those origins only; a request from any other
//! origin gets no `Access-Control-Allow-Origin`, so its page cannot read the answer. No cookies
//! are involved (bearer tokens only), so credentials are never allowed.

use actix_cors::Cors;
use actix_web::http::{Method, header};

/// The policy for the allowed origins, a preflight cached for `max_age_secs`.
pub fn policy(allowed_origins: &[String], max_age_secs: u64) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CONTENT_DISPOSITION,
            header::ACCEPT,
        ])
        .max_age(usize::try_from(max_age_secs).ok())
        // Same-origin pages and clients that send no Origin go through untouched; other origins
        // are served without CORS headers (the browser keeps the answer from the page).
        .block_on_origin_mismatch(false);
    for origin in allowed_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
