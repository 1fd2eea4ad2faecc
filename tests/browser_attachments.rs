//! Attachments in the pages (contract §12), in headless Chromium against the real server: the
//! user pastes a screenshot into the Message box, the analyst's console shows its thumbnail
//! (loaded, and linking to the full-size image), a disguised file is refused in words, and the
//! transcript page shows the screenshot too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::{Browser, Driver};
use common::files::TINY_PNG;
use common::scenes::{analyst_accepts, analyst_goes_available, demo_app, user_starts_chat};
use serde_json::json;

/// Pastes a file made of `bytes` (base64) named `name` into the page's Message box, as a
/// browser does for a screenshot on the clipboard.
async fn paste_file(b: &Browser<'_>, name: &str, mime: &str, bytes: &[u8]) {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    b.script(
        r#"const [b64, name, mime] = arguments;
           const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
           const dt = new DataTransfer();
           dt.items.add(new File([bytes], name, { type: mime }));
           const box = document.querySelector('textarea');
           box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));"#,
        json!([b64, name, mime]),
    )
    .await;
}

fn thumbnail_loaded(name: &str) -> String {
    format!(
        "const i = document.querySelector('img.thumb[alt=\"{name}\"]'); \
         return !!i && i.complete && i.naturalWidth === 8 && i.closest('a').href.startsWith('blob:');"
    )
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_pasted_screenshot_reaches_the_analysts_console_and_the_transcript() {
    let driver = Driver::start();
    let app = demo_app().await;
    let user = driver.browser(400).await;
    let analyst = driver.browser(1280).await;

    user_starts_chat(&user, &app).await;
    analyst_goes_available(&analyst, &app).await;
    let window = analyst_accepts(&analyst).await;
    user.wait_page_text("Bob Tran accepted your chat.").await;
    user.find("button", "Attach").await;
    analyst.find_in(Some(&window), "button", "Attach").await;

    // A file that is not what it says is refused, in words, and nothing is sent.
    paste_file(
        &user,
        "invoice.png",
        "image/png",
        b"MZ\x90\x00 not an image",
    )
    .await;
    user.wait_page_text("invoice.png cannot be attached").await;

    paste_file(&user, "screenshot.png", "image/png", TINY_PNG).await;
    analyst.wait_true(&thumbnail_loaded("screenshot.png")).await;
    user.wait_true(&thumbnail_loaded("screenshot.png")).await;
    analyst
        .find_in(Some(&window), "link", "Open screenshot.png full size")
        .await;
    assert!(
        !analyst.text(&window).await.contains("invoice.png"),
        "the refused file never reached the analyst"
    );

    let (_, chats) = app.get("/api/v1/chats?filter=answered", &app.admin()).await;
    let chat_id = chats["chats"][0]["chat_id"].as_str().unwrap().to_string();
    analyst.goto(&format!("{}/chats/{chat_id}", app.base)).await;
    analyst.find("region", "Chat with Emma Wilson").await;
    analyst.wait_true(&thumbnail_loaded("screenshot.png")).await;

    user.quit().await;
    analyst.quit().await;
}
