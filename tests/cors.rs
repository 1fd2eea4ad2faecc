//! CORS on `/api/v1` (contract §13) over plain HTTP, on SQLite and PostgreSQL: a preflight from
//! an origin in `server.allowed_origins` is answered with that origin, one from any other origin
//! is refused without it, answers to other origins carry no `Access-Control-Allow-Origin`, and the
//! WebSocket handshake still checks the origin itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use awc::Client;
use awc::http::Method;
use common::TestApp;
use switchboard::domain::Role;

const PORTAL: &str = "https://portal.example";
const OTHER: &str = "https://elsewhere.example";

fn allow_origin(res: &awc::ClientResponse<impl futures_util::Stream>) -> Option<String> {
    res.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string())
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> (u16, Option<String>, String) {
    let res = Client::default()
        .request(Method::OPTIONS, format!("{}{path}", app.base))
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header((
            "Access-Control-Request-Headers",
            "authorization, content-type",
        ))
        .send()
        .await
        .unwrap();
    let methods = res
        .headers()
        .get("access-control-allow-methods")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (res.status().as_u16(), allow_origin(&res), methods)
}

async fn preflights_are_answered_for_allowed_origins_only(app: TestApp) {
    for path in ["/api/v1/ws-tickets", "/api/v1/queues/access"] {
        let (status, allow, methods) = preflight(&app, path, PORTAL).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(allow.as_deref(), Some(PORTAL), "{path}");
        assert!(methods.contains("POST"), "{path}: {methods}");
        let (status, allow, _) = preflight(&app, path, OTHER).await;
        assert!(status >= 400, "{path}: {status}");
        assert_eq!(allow, None, "{path}");
    }

    let user = app.token("emma", Role::User);
    for (origin, expected) in [(PORTAL, Some(PORTAL)), (OTHER, None)] {
        let res = Client::default()
            .post(format!("{}/api/v1/ws-tickets", app.base))
            .insert_header(("Origin", origin))
            .insert_header(("Authorization", format!("Bearer {user}")))
            .send()
            .await
            .unwrap();
        // The engine answers; only the browser keeps a refused origin's page from reading it.
        assert_eq!(res.status(), 201, "{origin}");
        assert_eq!(allow_origin(&res).as_deref(), expected, "{origin}");
    }

    // The WebSocket handshake checks the origin as before.
    let token = app.token("emma", Role::User);
    assert!(app.ws_with(&token, Some(PORTAL)).await.is_ok());
    assert_eq!(app.ws_with(&token, Some(OTHER)).await.err(), Some(403));
}

on_both_databases!(
    with [("SEED__DEMO", "true"), ("SERVER__ALLOWED_ORIGINS", "https://portal.example")];
    preflights_are_answered_for_allowed_origins_only,
);
