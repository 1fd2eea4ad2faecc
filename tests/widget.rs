//! Browser tests of `/widget.js` (contract §13) in headless Chromium: a portal served from
//! another origin (`common::portal`) includes the widget with one script tag; its user chats
//! with an analyst who answers in the console, keeps the conversation across the portal's page
//! loads, moves focus into the panel and back, and rates the ended chat. A portal whose origin
//! is not allowed gets no chat, says so, and the engine's CORS answer refuses it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use awc::Client;
use common::TestApp;
use common::browser::{Browser, Driver, El};
use common::files::TINY_PNG;
use common::portal::Portal;
use common::scenes::{analyst_accepts, analyst_goes_available, send};
use common::{Db, spawn_app_with};
use switchboard::auth::Claims;
use switchboard::domain::Role;

/// An engine with the demo data whose `server.allowed_origins` are its own origin, and the
/// portal's when `allow_portal`. The engine's port is chosen first so its own origin can be
/// listed beside the portal's.
async fn engine(portal: &Portal, allow_portal: bool) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let own = format!("http://127.0.0.1:{port}");
    let origins = if allow_portal {
        format!("{},{own}", portal.base)
    } else {
        own
    };
    let bind = format!("127.0.0.1:{port}");
    let app = spawn_app_with(
        Db::Sqlite,
        &[
            ("AUTH__DEV_LOGIN", "true"),
            ("SEED__DEMO", "true"),
            ("SERVER__BIND", &bind),
            ("SERVER__ALLOWED_ORIGINS", &origins),
        ],
    )
    .await
    .unwrap();
    let token = app
        .keys
        .sign(&Claims {
            sub: "emma".into(),
            role: Role::User,
            name: "Emma Wilson".into(),
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .unwrap();
    portal.serve(&app.base, &token);
    app
}

/// The status and `Access-Control-Allow-Origin` of a CORS preflight for `POST /api/v1/ws-tickets`.
async fn preflight(app: &TestApp, origin: &str) -> (u16, Option<String>) {
    let res = Client::default()
        .request(
            awc::http::Method::OPTIONS,
            format!("{}/api/v1/ws-tickets", app.base),
        )
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "POST"))
        .insert_header(("Access-Control-Request-Headers", "authorization"))
        .send()
        .await
        .unwrap();
    let allow = res
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    (res.status().as_u16(), allow)
}

/// Pastes an 8×8 PNG named `screenshot.png` into the widget's Message box, as a browser does
/// for a screenshot on the clipboard.
async fn paste_screenshot(user: &Browser<'_>) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(TINY_PNG);
    user.script(
        r#"const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
           const dt = new DataTransfer();
           dt.items.add(new File([bytes], 'screenshot.png', { type: 'image/png' }));
           const box = document.querySelector('[data-switchboard-widget]').shadowRoot.querySelector('textarea');
           box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));"#,
        serde_json::json!([b64]),
    )
    .await;
}

/// True once the screenshot's thumbnail has loaded (in the widget's shadow root, or the page).
const THUMBNAIL_LOADED: &str = "const h = document.querySelector('[data-switchboard-widget]'); \
     const root = h ? h.shadowRoot : document; \
     const i = root.querySelector('img.thumb[alt=\"screenshot.png\"]'); \
     return !!i && i.complete && i.naturalWidth === 8 && i.closest('a').href.startsWith('blob:');";

/// Opens the portal page at `path` and the widget's panel from its launcher; the widget's host.
async fn open_widget(user: &Browser<'_>, portal: &Portal, path: &str) -> El {
    user.goto(&format!("{}{path}", portal.base)).await;
    let host = user.find_css("[data-switchboard-widget]").await;
    let launcher = user.find_in(Some(&host), "button", "Chat with IT").await;
    user.click(&launcher).await;
    host
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_portal_user_chats_through_the_widget_across_page_loads() {
    let driver = Driver::start();
    let portal = Portal::start();
    let app = engine(&portal, true).await;
    let (status, allow) = preflight(&app, &portal.base).await;
    assert_eq!(status, 200);
    assert_eq!(allow.as_deref(), Some(portal.base.as_str()));

    let user = driver.browser(1280).await;
    let analyst = driver.browser(1280).await;
    let host = open_widget(&user, &portal, "/home").await;
    let start = user.find_in(Some(&host), "button", "Start chat").await;
    // Focus moved into the panel when it opened.
    assert_eq!(user.focused_in(&host).await, "Start chat");
    user.click(&start).await;
    user.wait_shadow_text(&host, "You are number 1 in the queue")
        .await;

    analyst_goes_available(&analyst, &app).await;
    // Bob's coming online gives an estimate (he has room: at once), in /chat's words.
    user.wait_shadow_text(
        &host,
        "You are number 1 in the queue. Estimated wait: Less than a minute",
    )
    .await;
    let window = analyst_accepts(&analyst).await;
    user.wait_shadow_text(&host, "Bob Tran accepted your chat")
        .await;
    send(&analyst, Some(&window), "Hello Emma, the desk here").await;
    user.wait_shadow_text(&host, "Hello Emma, the desk here")
        .await;
    send(&user, Some(&host), "My laptop will not boot").await;
    analyst.wait_text(&window, "My laptop will not boot").await;
    // A pasted screenshot goes up to the engine from the portal's origin and reaches both.
    paste_screenshot(&user).await;
    analyst.wait_true(THUMBNAIL_LOADED).await;
    user.wait_true(THUMBNAIL_LOADED).await;

    // The portal moves to another page: the panel and the conversation come back, once each.
    let link = user.find("link", "Go to help").await;
    user.click(&link).await;
    user.wait_path("/help").await;
    let host = user.find_css("[data-switchboard-widget]").await;
    let text = user
        .wait_shadow_text(&host, "My laptop will not boot")
        .await;
    assert_eq!(
        text.matches("Hello Emma, the desk here").count(),
        1,
        "{text}"
    );
    user.wait_true(THUMBNAIL_LOADED).await;
    send(&analyst, Some(&window), "Hold the power button").await;
    let text = user.wait_shadow_text(&host, "Hold the power button").await;
    assert_eq!(text.matches("My laptop will not boot").count(), 1, "{text}");
    send(&user, Some(&host), "That worked").await;
    let text = analyst.wait_text(&window, "That worked").await;
    assert_eq!(text.matches("My laptop will not boot").count(), 1, "{text}");

    // Escape hides the panel and focus goes back to the launcher.
    let message = user.find_in(Some(&host), "textbox", "Message").await;
    user.type_into(&message, "\u{E00C}").await;
    assert_eq!(user.focused_in(&host).await, "Chat with IT");
    assert_eq!(user.count(Some(&host), "textbox", "Message").await, 0);

    // The analyst ends the chat: the panel says so and asks "How did we do?".
    let launcher = user.find_in(Some(&host), "button", "Chat with IT").await;
    user.click(&launcher).await;
    assert_eq!(user.focused_in(&host).await, "Message");
    let close = analyst.find_in(Some(&window), "button", "Close Chat").await;
    analyst.click(&close).await;
    user.wait_shadow_text(&host, "Chat ended by Bob Tran").await;
    let five = user.find_in(Some(&host), "button", "Rate 5 of 5").await;
    user.click(&five).await;
    user.wait_shadow_text(&host, "you rated this chat 5 of 5")
        .await;

    let chat_id = {
        let (_, body) = app.get("/api/v1/chats?filter=answered", &app.admin()).await;
        body["chats"][0]["chat_id"].as_str().unwrap().to_string()
    };
    let bodies: Vec<String> = app
        .messages(&chat_id)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        [
            "Hello Emma, the desk here",
            "My laptop will not boot",
            "",
            "Hold the power button",
            "That worked"
        ]
    );
    user.quit().await;
    analyst.quit().await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_portal_whose_origin_is_not_allowed_gets_no_chat() {
    let driver = Driver::start();
    let portal = Portal::start();
    let app = engine(&portal, false).await;
    let (status, allow) = preflight(&app, &portal.base).await;
    assert!(status >= 400, "preflight answered {status}");
    assert_eq!(allow, None);

    let user = driver.browser(1280).await;
    let host = open_widget(&user, &portal, "/home").await;
    user.wait_shadow_text(&host, "Chat is not available on this site")
        .await;
    assert_eq!(user.count(Some(&host), "button", "Start chat").await, 0);
    let (_, chats) = app.get("/api/v1/chats?filter=waiting", &app.admin()).await;
    assert_eq!(chats["chats"].as_array().unwrap().len(), 0);
    user.quit().await;
}
