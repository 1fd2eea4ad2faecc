//! Not a check: renders the README's screenshots from a demo scene in headless Chromium
//! (`cargo test --test screenshots -- --ignored` writes docs/screenshots/*.png).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Driver;
use common::scenes::{
    analyst_accepts, analyst_goes_available, demo_app, send, sign_in, user_starts_chat,
};
use switchboard::domain::Role;

#[actix_web::test]
#[ignore = "writes the README screenshots"]
async fn screenshots_for_the_readme() {
    let driver = Driver::start();
    let app = demo_app().await;
    let user = driver.browser(400).await;
    let other = driver.browser(400).await;
    let analyst = driver.browser(1280).await;
    let manager = driver.browser(1280).await;

    user_starts_chat(&user, &app).await;
    analyst_goes_available(&analyst, &app).await;
    let window = analyst_accepts(&analyst).await;
    send(
        &analyst,
        Some(&window),
        "Hello Emma, this is Bob. How can I help?",
    )
    .await;
    user.wait_page_text("How can I help?").await;
    send(
        &user,
        None,
        "I am locked out of my laptop after the password change.",
    )
    .await;
    analyst.wait_text(&window, "locked out").await;
    send(
        &analyst,
        Some(&window),
        "I have reset it: try the temporary password I just emailed you.",
    )
    .await;
    user.wait_page_text("temporary password").await;
    let message = user.find("textbox", "Message").await;
    user.type_into(&message, "Trying it").await;
    analyst.wait_text(&window, "is typing").await;

    let token = app.token("liam", Role::User);
    other
        .goto(&format!("{}/chat?queue=access#token={token}", app.base))
        .await;
    let start = other.find("button", "Start chat").await;
    other.click(&start).await;
    other.wait_page_text("You are number 1 in the queue").await;
    analyst.wait_page_text("Liam Test").await;

    sign_in(&manager, &app, "Carol Jones", "/console/manager").await;
    let screen = manager.find("region", "Chat Manager").await;
    manager.wait_text(&screen, "Emma Wilson").await;

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    analyst.screenshot(&dir.join("console.png")).await;
    manager.screenshot(&dir.join("manager.png")).await;
    user.screenshot(&dir.join("chat-phone.png")).await;

    for b in [user, other, analyst, manager] {
        b.quit().await;
    }
}
