//! Webhook endpoints (contract §10.1): `PUT`, `GET`, `DELETE /webhooks/{id}` and
//! `GET /webhooks`, for admins and the `service` role (`AdminOrService`). A new endpoint without
//! a secret gets one generated, returned by that `PUT` only; a `PUT` without `secret` keeps the
//! existing one; no `GET` ever returns it. Bad input is a `400` naming the field, nothing changed.

use actix_web::{HttpResponse, delete, get, put, web};
use entities::webhook_endpoints;
use serde::{Deserialize, Serialize};

use crate::actors::webhooks::signature;
use crate::error::{AppError, AppResult};
use crate::http::body::Body;
use crate::http::caller::AdminOrService;
use crate::http::check_id;
use crate::protocol::WebhookEventType;
use crate::state::AppState;
use crate::store;
use crate::store::webhooks::EndpointSettings;
use crate::timefmt::rfc3339;

/// Longest endpoint URL accepted.
const MAX_URL_CHARS: usize = 2000;

/// `PUT /webhooks/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWebhook {
    /// Where deliveries are posted: an absolute `http` or `https` URL.
    url: String,
    /// The event types to receive (at least one).
    events: Vec<String>,
    /// `whsec_` + base64 of 24 to 64 bytes; generated when a new endpoint has none, kept when
    /// absent on an existing one.
    secret: Option<String>,
    /// Default true; enabling an endpoint a `410` disabled resumes its pending deliveries.
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// An endpoint as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub enabled: bool,
    /// Why the engine disabled it (`410 Gone`), or null.
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Only in the answer to the `PUT` that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn view(model: webhook_endpoints::Model, secret: Option<String>) -> WebhookView {
    WebhookView {
        events: store::webhooks::parse_events(&model.events),
        id: model.id,
        url: model.url,
        enabled: model.enabled,
        disabled_reason: model.disabled_reason,
        created_at: rfc3339(model.created_at),
        updated_at: rfc3339(model.updated_at),
        secret,
    }
}

/// An absolute `http(s)` URL with a host.
fn check_url(url: &str) -> AppResult<()> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(AppError::bad_request(format!(
            "url must be at most {MAX_URL_CHARS} characters"
        )));
    }
    if crate::ticket::is_http_url(url) {
        Ok(())
    } else {
        Err(AppError::bad_request(
            "url must be an absolute http or https URL",
        ))
    }
}

/// Known event types, each once, in the contract's order.
fn check_events(events: &[String]) -> AppResult<Vec<WebhookEventType>> {
    if events.is_empty() {
        return Err(AppError::bad_request(
            "events must name at least one event type",
        ));
    }
    let mut known = Vec::new();
    for name in events {
        let kind = WebhookEventType::parse(name).ok_or_else(|| {
            let all: Vec<&str> = WebhookEventType::ALL.iter().map(|t| t.as_str()).collect();
            AppError::bad_request(format!(
                "events: unknown event type {name:?} (known: {})",
                all.join(", ")
            ))
        })?;
        known.push(kind);
    }
    known.sort();
    known.dedup();
    Ok(known)
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")),
    request_body = PutWebhook,
    responses(
        (status = 200, description = "Replaced", body = WebhookView),
        (status = 201, description = "Created; carries the secret when it was generated", body = WebhookView),
        (status = 400, description = "Malformed input", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/webhooks/{id}")]
pub async fn put_webhook(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    id: web::Path<String>,
    body: Body<PutWebhook>,
) -> AppResult<HttpResponse> {
    check_id("webhook id", &id)?;
    let b = body.into_inner();
    check_url(&b.url)?;
    let events = check_events(&b.events)?;
    if let Some(secret) = &b.secret {
        signature::secret_key(secret).map_err(AppError::bad_request)?;
    }
    let existing = store::webhooks::find_endpoint(&state.db, &id).await?;
    let generated = match (&b.secret, &existing) {
        (None, None) => Some(signature::generate_secret()),
        _ => None,
    };
    let secret = b
        .secret
        .clone()
        .or_else(|| generated.clone())
        .or_else(|| existing.map(|e| e.secret))
        .unwrap_or_default();
    let settings = EndpointSettings {
        url: b.url,
        events,
        secret,
        enabled: b.enabled,
    };
    let (model, created) = store::webhooks::put_endpoint(&state.db, &id, &settings).await?;
    // A re-enabled endpoint's pending deliveries go out now.
    state.webhooks_wake.notify_one();
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(view(model, generated)))
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The endpoint (never its secret)", body = WebhookView),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let model = store::webhooks::find_endpoint(&state.db, &id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("webhook {id}")))?;
    Ok(HttpResponse::Ok().json(view(model, None)))
}

#[utoipa::path(
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint, by id (never their secrets)", body = Vec<WebhookView>),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    _caller: AdminOrService,
) -> AppResult<HttpResponse> {
    let views: Vec<WebhookView> = store::webhooks::endpoints(&state.db)
        .await?
        .into_iter()
        .map(|m| view(m, None))
        .collect();
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted, with its deliveries"),
        (status = 401, description = "No valid bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed for this role", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not found", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The engine or database is unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    _caller: AdminOrService,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    if store::webhooks::delete_endpoint(&state.db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(AppError::not_found(format!("webhook {id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https() {
        assert!(check_url("https://desk.example.com/hooks/switchboard").is_ok());
        assert!(check_url("http://127.0.0.1:9000/x?y=1").is_ok());
        for bad in [
            "/hooks",
            "ftp://example.com/x",
            "example.com/x",
            "",
            "https://",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_must_be_known_and_are_kept_once() {
        let events = check_events(&["chat.ended".into(), "chat.ended".into()]);
        assert_eq!(events.ok(), Some(vec![WebhookEventType::ChatEnded]));
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["chat.deleted".into()]).is_err());
    }
}
