//! A host's self-service portal for the widget's browser tests: a small actix-web server on its
//! own port (so its origin differs from the engine's) with two pages that include `/widget.js`
//! with one script tag, and the token endpoint a portal provides (`GET /switchboard-token`),
//! answering `{"token"}` for its signed-in user.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::{Arc, RwLock};

use actix_web::{App, HttpResponse, HttpServer, web};

/// What the portal's pages and token endpoint hand out; set once the engine runs.
#[derive(Default)]
struct Config {
    engine: String,
    token: String,
}

/// A running portal; its server stops with the test's runtime.
pub struct Portal {
    pub base: String,
    config: Arc<RwLock<Config>>,
}

impl Portal {
    /// Starts the portal on a free port of 127.0.0.1.
    pub fn start() -> Portal {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Arc::new(RwLock::new(Config::default()));
        let shared = config.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(shared.clone()))
                .route("/switchboard-token", web::get().to(token))
                .route("/{page}", web::get().to(page))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Portal { base, config }
    }

    /// Points the pages at the engine and the token endpoint at a token.
    pub fn serve(&self, engine: &str, token: &str) {
        let mut c = self.config.write().unwrap();
        c.engine = engine.to_string();
        c.token = token.to_string();
    }
}

async fn token(config: web::Data<RwLock<Config>>) -> HttpResponse {
    let token = config.read().unwrap().token.clone();
    HttpResponse::Ok().json(serde_json::json!({ "token": token }))
}

/// `/home` and `/help`: portal pages with their own styles, a link to the other page and the
/// widget's script tag.
async fn page(path: web::Path<String>, config: web::Data<RwLock<Config>>) -> HttpResponse {
    let engine = config.read().unwrap().engine.clone();
    let (title, other) = match path.as_str() {
        "home" => ("Portal home", "help"),
        "help" => ("Portal help", "home"),
        _ => return HttpResponse::NotFound().finish(),
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>button {{ background: hotpink; font-size: 40px; }}</style></head>
<body><h1>{title}</h1><p><a href="/{other}">Go to {other}</a></p>
<script src="{engine}/widget.js" data-queue="access" data-token-url="/switchboard-token"
  data-title="Chat with IT" defer></script></body></html>"#
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}
