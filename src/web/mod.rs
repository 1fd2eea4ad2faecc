//! The web pages served by the engine (contract §6): plain HTML, CSS and JavaScript compiled into
//! the binary with `include_str!`, no build step, nothing loaded from elsewhere. Pages take their
//! token from the URL fragment and speak the HTTP API like any client, and the WebSocket protocol
//! through the client library served at `/sdk/` (contract §13), which any origin may load.

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::seed;

/// Every page allows scripts, styles and connections from this server only.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const INDEX: &str = include_str!("index.html");
const CHAT: &str = include_str!("chat.html");
const CONSOLE: &str = include_str!("console.html");
const MANAGER: &str = include_str!("manager.html");
const DASHBOARD: &str = include_str!("dashboard.html");
const TRANSCRIPT: &str = include_str!("transcript.html");

/// Static assets by file name: (name, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("app.css"),
    ),
    ("common.js", JS, include_str!("common.js")),
    ("files.js", JS, include_str!("files.js")),
    ("chatwindow.js", JS, include_str!("chatwindow.js")),
    ("index.js", JS, include_str!("index.js")),
    ("chat.js", JS, include_str!("chat.js")),
    ("console.js", JS, include_str!("console.js")),
    ("manager.js", JS, include_str!("manager.js")),
    ("dashboard.js", JS, include_str!("dashboard.js")),
    ("transcript.js", JS, include_str!("transcript.js")),
];

const JS: &str = "text/javascript; charset=utf-8";

/// The client library's modules by file name (`/sdk/{file}`): public code that a portal on
/// another origin imports, so it is served to any origin (modules need CORS).
const SDK: &[(&str, &str)] = &[
    ("switchboard.js", include_str!("sdk/switchboard.js")),
    ("connection.js", include_str!("sdk/connection.js")),
    ("chats.js", include_str!("sdk/chats.js")),
    ("chatlog.js", include_str!("sdk/chatlog.js")),
    ("errors.js", include_str!("sdk/errors.js")),
    ("http.js", include_str!("sdk/http.js")),
    ("words.js", include_str!("sdk/words.js")),
];

/// Mounts the pages and their assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/chat", web::get().to(|| page(CHAT)))
        .route("/console", web::get().to(|| page(CONSOLE)))
        .route("/console/manager", web::get().to(|| page(MANAGER)))
        .route("/dashboard", web::get().to(|| page(DASHBOARD)))
        .route("/chats/{id}", web::get().to(|| page(TRANSCRIPT)))
        .route("/assets/{file}", web::get().to(asset))
        .route("/sdk/{file}", web::get().to(sdk))
        .route("/widget.js", web::get().to(widget));
}

fn secured(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    builder
}

async fn page(html: &'static str) -> HttpResponse {
    secured(HttpResponse::Ok())
        .content_type(ContentType::html())
        .body(html)
}

/// The start page, with the demo principals embedded as JSON data (shown only when
/// `POST /dev/token` answers).
async fn index() -> HttpResponse {
    let html = INDEX.replace("\"__DEMO__\"", &demo_principals().to_string());
    secured(HttpResponse::Ok())
        .content_type(ContentType::html())
        .body(html)
}

/// The seeded principals the start page offers: users, analysts, managers and the admin.
fn demo_principals() -> serde_json::Value {
    let mut people = vec![json!({
        "sub": seed::DEMO_USER.0, "name": seed::DEMO_USER.1, "role": "user", "page": "/chat",
    })];
    for a in seed::ANALYSTS {
        let role = a.role.as_str();
        let page = if role == "manager" {
            "/console/manager"
        } else {
            "/console"
        };
        people.push(json!({"sub": a.id, "name": a.name, "role": role, "page": page}));
    }
    people.push(json!({
        "sub": seed::DEMO_ADMIN.0, "name": seed::DEMO_ADMIN.1, "role": "admin", "page": "/dashboard",
    }));
    serde_json::Value::Array(people)
}

async fn asset(file: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(name, _, _)| *name == file.as_str()) {
        Some((_, content_type, body)) => secured(HttpResponse::Ok())
            .insert_header((header::CONTENT_TYPE, *content_type))
            .body(*body),
        None => HttpResponse::NotFound()
            .content_type(ContentType::plaintext())
            .body("no such asset"),
    }
}

/// The embeddable widget a portal includes with one script tag (contract §13).
const WIDGET: &str = include_str!("widget.js");
/// Its panel's stylesheet, inlined into the script where it says `"__WIDGET_CSS__"`.
const WIDGET_CSS: &str = include_str!("widget.css");

/// The widget as served: the script with its stylesheet as a string literal.
static WIDGET_SERVED: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    WIDGET.replace(
        "\"__WIDGET_CSS__\"",
        &serde_json::Value::from(WIDGET_CSS).to_string(),
    )
});

/// Public code for other origins: any page may load it (and import the modules it imports).
fn public_script(body: &'static str) -> HttpResponse {
    secured(HttpResponse::Ok())
        .insert_header((header::CONTENT_TYPE, JS))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(("cross-origin-resource-policy", "cross-origin"))
        .body(body)
}

async fn widget() -> HttpResponse {
    public_script(WIDGET_SERVED.as_str())
}

async fn sdk(file: web::Path<String>) -> HttpResponse {
    match SDK.iter().find(|(name, _)| *name == file.as_str()) {
        Some((_, body)) => public_script(body),
        None => HttpResponse::NotFound()
            .content_type(ContentType::plaintext())
            .body("no such module"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_imports_only_modules_that_exist() {
        for body in ASSETS.iter().map(|(_, _, b)| *b).chain([WIDGET]) {
            for part in body.split("'/sdk/").skip(1) {
                let name = part.split('\'').next().unwrap_or_default();
                assert!(SDK.iter().any(|(n, _)| *n == name), "missing module {name}");
            }
        }
    }

    /// Every module in src/web/sdk/ is served, and every `./x.js` a module imports is one of them.
    #[test]
    fn every_sdk_module_is_served_with_what_it_imports() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/sdk");
        for entry in std::fs::read_dir(dir).expect("src/web/sdk") {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            assert!(SDK.iter().any(|(n, _)| *n == name), "{name} is not served");
        }
        for (file, body) in SDK {
            for part in body.split("from './").skip(1) {
                let name = part.split('\'').next().unwrap_or_default();
                assert!(SDK.iter().any(|(n, _)| *n == name), "{file} imports {name}");
            }
        }
    }

    #[test]
    fn the_widget_carries_its_stylesheet() {
        assert!(!WIDGET_SERVED.contains("__WIDGET_CSS__"));
        assert!(WIDGET_SERVED.contains(":host {"));
    }

    #[test]
    fn every_page_names_only_assets_that_exist() {
        for html in [INDEX, CHAT, CONSOLE, MANAGER, DASHBOARD, TRANSCRIPT] {
            for part in html.split("/assets/").skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(
                    ASSETS.iter().any(|(n, _, _)| *n == name),
                    "missing asset {name}"
                );
            }
        }
    }
}
