//! Browser tests: the web pages in headless Chromium against the real server (SQLite, demo data,
//! dev sign-in), driven through WebDriver and selecting controls by accessible role and name.
//! Each test has its own server, chromedriver and browser profiles. Without Chromium they are
//! reported as ignored locally (build.rs) and fail on CI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::browser::Driver;
use common::scenes::{
    analyst_accepts, analyst_goes_available, demo_app, send, sign_in, user_starts_chat,
};
use switchboard::domain::Role;

async fn answered_chat_id(app: &TestApp) -> String {
    let (status, body) = app.get("/api/v1/chats?filter=answered", &app.admin()).await;
    assert_eq!(status, 200, "{body}");
    body["chats"][0]["chat_id"].as_str().unwrap().to_string()
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_user_and_an_analyst_chat_from_start_to_transcript() {
    let driver = Driver::start();
    let app = demo_app().await;
    let user = driver.browser(400).await;
    let analyst = driver.browser(1280).await;

    user_starts_chat(&user, &app).await;
    analyst_goes_available(&analyst, &app).await;
    let window = analyst_accepts(&analyst).await;
    user.wait_page_text("Bob Tran accepted your chat.").await;

    let details = analyst
        .find_in(Some(&window), "region", "Call details")
        .await;
    let text = analyst.wait_text(&details, "First contact").await;
    assert!(text.contains("Source") && text.contains("Chat"), "{text}");
    assert!(text.contains("SLA target"), "{text}");

    send(&analyst, Some(&window), "Hello Emma, how can I help?").await;
    user.wait_page_text("Hello Emma, how can I help?").await;

    let message = user.find("textbox", "Message").await;
    user.type_into(&message, "I am locked out").await;
    analyst.wait_text(&window, "Emma Wilson is typing").await;
    let send_button = user.find("button", "Send").await;
    user.click(&send_button).await;
    analyst.wait_text(&window, "I am locked out").await;

    let close = analyst.find_in(Some(&window), "button", "Close Chat").await;
    analyst.click(&close).await;
    analyst.wait_text(&window, "Chat ended by you").await;
    user.wait_page_text("Chat ended by Bob Tran").await;

    let queue = analyst.find("region", "Chat Queue").await;
    let answered = analyst.find_in(Some(&queue), "tab", "Answered").await;
    analyst.click(&answered).await;
    analyst.wait_text(&queue, "Emma Wilson").await;

    let chat_id = answered_chat_id(&app).await;
    let (status, detail) = app
        .get(&format!("/api/v1/chats/{chat_id}"), &app.admin())
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail["chat"]["state"], "closed");
    let bodies: Vec<&str> = detail["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["Hello Emma, how can I help?", "I am locked out"]);

    analyst.goto(&format!("{}/chats/{chat_id}", app.base)).await;
    let read_only = analyst.find("region", "Chat with Emma Wilson").await;
    let text = analyst.wait_text(&read_only, "I am locked out").await;
    assert!(text.contains("Hello Emma, how can I help?"), "{text}");
    assert_eq!(
        analyst.count(Some(&read_only), "textbox", "Message").await,
        0
    );

    user.quit().await;
    analyst.quit().await;
}

/// Contract §8.1 and §8.4 on /chat: a queue that lists skills offers them ("Skill needed"), a
/// queue that lists none does not, the chosen skill is what the chat asks, and the waiting user
/// sees the estimated wait in words.
#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_user_asks_for_a_skill_and_sees_the_estimated_wait() {
    let driver = Driver::start();
    let app = demo_app().await;
    let (status, body) = app
        .put(
            "/api/v1/queues/access",
            &app.admin(),
            serde_json::json!({"name": "Access and Passwords", "routing": "manual",
                               "skills": ["french", "german"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Bob is available with room: the estimate for a chat starting now is "at once".
    let mut bob = app.ws(&app.token("bob", Role::Analyst)).await;
    bob.ok(serde_json::json!({"type": "set_status", "status": "available"}))
        .await;

    let user = driver.browser(1280).await;
    sign_in(&user, &app, "Emma Wilson", "/chat").await;
    let queue = user.find("combobox", "Queue").await;
    user.choose(&queue, "Service Desk").await;
    assert_eq!(
        user.count(None, "combobox", "Skill needed").await,
        0,
        "a queue without skills offers none"
    );
    user.choose(&queue, "Access and Passwords").await;
    let skill = user.find("combobox", "Skill needed").await;
    user.choose(&skill, "French").await;
    let start = user.find("button", "Start chat").await;
    user.click(&start).await;
    user.wait_page_text("You are number 1 in the queue. Estimated wait: Less than a minute")
        .await;

    let (_, waiting) = app.get("/api/v1/chats?filter=waiting", &app.admin()).await;
    let chat = &waiting["chats"][0];
    assert_eq!(chat["queue_id"], "access", "{waiting}");
    assert_eq!(
        chat["skills"],
        serde_json::json!([{"name": "french", "level": 1}]),
        "{waiting}"
    );
    user.quit().await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_managers_changes_reach_the_analysts_console() {
    let driver = Driver::start();
    let app = demo_app().await;
    let analyst = driver.browser(1280).await;
    let manager = driver.browser(1280).await;

    sign_in(&analyst, &app, "Bob Tran", "/console").await;
    analyst.wait_page_text("Connected").await;
    let availability = analyst.find("combobox", "Availability").await;
    analyst.wait_selected(&availability, "Offline").await;

    sign_in(&manager, &app, "Carol Jones", "/console/manager").await;
    let screen = manager.find("region", "Chat Manager").await;
    manager
        .find_in(Some(&screen), "columnheader", "Chat User")
        .await;
    let row = manager.row_with(&screen, "Access and Passwords").await;
    let enabled = manager.find_in(Some(&row), "checkbox", "Enabled").await;
    assert!(manager.is_checked(&enabled).await);
    manager.click(&enabled).await;

    analyst
        .wait_page_text("Queue Access and Passwords is now offline (changed by Carol Jones)")
        .await;
    let (_, queue) = app.get("/api/v1/queues/access", &app.admin()).await;
    assert_eq!(queue["enabled"], false);
    assert!(!manager.is_checked(&enabled).await);

    let status = manager
        .find_in(Some(&screen), "combobox", "Status for Bob Tran")
        .await;
    manager.choose(&status, "Online - Busy").await;
    analyst.wait_selected(&availability, "Online - Busy").await;
    analyst
        .wait_page_text("Your availability is now Online - Busy (changed by Carol Jones)")
        .await;
    let (_, bob) = app
        .get("/api/v1/analysts/bob", &app.token("carol", Role::Manager))
        .await;
    assert_eq!(bob["status"], "busy");

    analyst.quit().await;
    manager.quit().await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn a_reloaded_console_gets_the_chat_back_whole() {
    let driver = Driver::start();
    let app = demo_app().await;
    let user = driver.browser(400).await;
    let analyst = driver.browser(1280).await;

    user_starts_chat(&user, &app).await;
    analyst_goes_available(&analyst, &app).await;
    let window = analyst_accepts(&analyst).await;
    let lines = [
        "first from Bob",
        "first from Emma",
        "second from Bob",
        "second from Emma",
    ];
    for (i, line) in lines.iter().enumerate() {
        if i % 2 == 0 {
            send(&analyst, Some(&window), line).await;
            user.wait_page_text(line).await;
        } else {
            // The user sends with the Enter key.
            let message = user.find("textbox", "Message").await;
            user.type_into(&message, &format!("{line}\u{E007}")).await;
            analyst.wait_text(&window, line).await;
        }
    }

    analyst.refresh().await;
    let window = analyst.find("region", "Chat with Emma Wilson").await;
    let text = analyst.wait_text(&window, lines[3]).await;
    for line in lines {
        assert_eq!(text.matches(line).count(), 1, "{line} once in:\n{text}");
    }

    send(&user, None, "after the reload").await;
    let text = analyst.wait_text(&window, "after the reload").await;
    assert_eq!(text.matches("after the reload").count(), 1, "{text}");
    send(&analyst, Some(&window), "still here").await;
    user.wait_page_text("still here").await;
    for line in lines {
        assert_eq!(text.matches(line).count(), 1, "{line} once in:\n{text}");
    }

    // The connection drops without a reload: the console reconnects with a fresh ticket and
    // resumes, so what the user sent meanwhile arrives once.
    analyst
        .script(
            "window.switchboardSocket.ws.close();",
            serde_json::json!([]),
        )
        .await;
    send(&user, None, "while you were away").await;
    analyst.wait_page_text("Connected").await;
    let text = analyst.wait_text(&window, "while you were away").await;
    for line in lines
        .iter()
        .chain(&["after the reload", "still here", "while you were away"])
    {
        assert_eq!(text.matches(line).count(), 1, "{line} once in:\n{text}");
    }

    user.quit().await;
    analyst.quit().await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_browser,
    ignore = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
)]
async fn offered_and_auto_routed_chats_reach_the_console() {
    let driver = Driver::start();
    let app = demo_app().await;
    let user = driver.browser(400).await;
    let alice = driver.browser(1280).await;
    sign_in(&alice, &app, "Alice Smith", "/console").await;
    alice.wait_page_text("Connected").await;
    let availability = alice.find("combobox", "Availability").await;
    alice.choose(&availability, "Online - Available").await;
    alice.wait_page_text("changed by you").await;

    // "Hardware Requests" offers its chats: Alice sees the offer with Accept and Decline.
    sign_in(&user, &app, "Emma Wilson", "/chat").await;
    let queue = user.find("combobox", "Queue").await;
    user.choose(&queue, "Hardware Requests").await;
    let start = user.find("button", "Start chat").await;
    user.click(&start).await;
    alice.wait_page_text("offered to you").await;
    let chat_queue = alice.find("region", "Chat Queue").await;
    alice.find_in(Some(&chat_queue), "button", "Decline").await;
    let accept = alice.find_in(Some(&chat_queue), "button", "Accept").await;
    alice.click(&accept).await;
    let window = alice.find("region", "Chat with Emma Wilson").await;
    send(&alice, Some(&window), "hi from Alice").await;
    user.wait_page_text("hi from Alice").await;
    let end = user.find("button", "End chat").await;
    user.click(&end).await;
    alice.wait_text(&window, "Chat ended by Emma Wilson").await;
    let dismiss = alice.find_in(Some(&window), "button", "Dismiss").await;
    alice.click(&dismiss).await;

    // "Service Desk" routes at once: the Chat window opens by itself.
    user.goto(&format!("{}/chat?queue=service-desk", app.base))
        .await;
    let start = user.find("button", "Start chat").await;
    user.click(&start).await;
    alice
        .wait_page_text("New chat with Emma Wilson in Service Desk")
        .await;
    let window = alice.find("region", "Chat with Emma Wilson").await;
    user.wait_page_text("Alice Smith accepted your chat").await;
    send(&user, None, "routed at once").await;
    alice.wait_text(&window, "routed at once").await;

    user.quit().await;
    alice.quit().await;
}
