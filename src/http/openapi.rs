//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations as `api_v1` mounts them, so the document and the mounted routes come from one list.
//! Also the per-event schema of the `GET /events` stream. The bodies handlers send are typed and
//! documented next to their handlers, and the problem+json body is `error::Problem`; nothing
//! but `http::configure` imports this file, so the document sits on top of the handlers.

use std::sync::LazyLock;

use actix_web::dev::ResourceDef;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, get};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::actors::feed::{AnalystStatusChanged, ChatStateChanged, QueueStats};
use crate::actors::router::AnalystRow;
use crate::http::analysts::AnalystView;
use crate::protocol::{
    AnalystStatusData, CallView, ChatEndedData, ChatEventData, QueueStatusData, WebhookBody,
};
use crate::routing::ChatId;

use crate::error::{AppError, Problem};

/// Types named only in annotations, kept referenced so unused-import lints stay quiet.
#[allow(dead_code)]
type Named = (AnalystRow, AnalystView, ChatId);

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Real-time chat routing engine for IT service desks: the HTTP API (contract §5)."),
    modifiers(&Security),
    components(schemas(Problem, QueueStats, AnalystStatusChanged, ChatStateChanged, WebhookBody, ChatEventData, ChatEndedData, AnalystStatusData, QueueStatusData, CallView)),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Every `/api/v1` route, in one list: `http::configure` mounts it, `document` documents it.
pub fn api_v1(cfg: &mut ServiceConfig) {
    use crate::http::*;
    cfg.service(me::get_me)
        .service(tickets::create_ticket)
        .service(queues::list_queues)
        .service(queues::get_queue)
        .service(queues::put_queue)
        .service(queues::patch_queue)
        .service(queues::queue_analysts)
        .service(chats::list_chats)
        .service(chats::get_chat)
        .service(attachments::upload_attachment)
        .service(downloads::download_attachment)
        .service(call_tickets::find_calls)
        .service(call_tickets::post_call)
        .service(call_tickets::patch_call)
        .service(calls::get_call)
        .service(analysts::patch_analyst)
        .service(members::put_member)
        .service(members::delete_member)
        .service(analysts::get_analyst)
        .service(analysts::put_analyst)
        .service(stats::get_stats)
        .service(cluster::get_cluster)
        .service(events::events)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::put_webhook)
        .service(webhooks::delete_webhook)
        .service(webhook_deliveries::list_deliveries)
        .service(webhook_deliveries::retry_delivery);
}

/// The OpenAPI document of `api_v1` under `/api/v1`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(api_v1))
        .split_for_parts();
    api
}

/// `document` as served: with the schema of one event of `GET /events` (see
/// `events::event_schema`), which utoipa cannot express.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut doc = match serde_json::to_value(document()) {
        Ok(doc) => doc,
        Err(e) => return format!("{{\"error\":\"{e}\"}}"),
    };
    if let Some(stream) =
        doc.pointer_mut("/paths/~1api~1v1~1events/get/responses/200/content/text~1event-stream")
    {
        stream["schema"] = crate::http::events::event_schema();
    }
    doc.to_string()
});

#[get("/api/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

/// Each documented path with its methods (upper case), for the fallback below.
static ROUTES: LazyLock<Vec<(ResourceDef, Vec<String>)>> = LazyLock::new(|| {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    paths
        .into_iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .map(|m| m.keys().map(|k| k.to_uppercase()).collect())
                .unwrap_or_default();
            (ResourceDef::new(path), methods)
        })
        .collect()
});

/// What `/api/v1` answers when no route matched: 405 (with `Allow`) for a known path with another
/// method, else 404; both problem+json.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let known = ROUTES
        .iter()
        .find(|(def, _)| def.is_match(req.path()))
        .map(|(_, methods)| methods.join(", "));
    match known {
        Some(allow) => HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow.clone()))
            .content_type("application/problem+json")
            .json(Problem {
                kind: "/problems/bad_request".into(),
                title: "Method Not Allowed".into(),
                status: 405,
                detail: format!("{} is not allowed here; allowed: {allow}", req.method()),
                code: "bad_request".into(),
            }),
        None => actix_web::ResponseError::error_response(&AppError::not_found(format!(
            "route {}",
            req.path()
        ))),
    }
}
