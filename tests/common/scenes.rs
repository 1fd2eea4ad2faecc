//! Browser test scenes shared by the browser tests and the README screenshots: a demo server,
//! signing in from the start page, and the steps of a chat as a user and an analyst take them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::browser::{Browser, El};
use super::{Db, TestApp, spawn_app_with};

/// A fresh server with the demo queues and people, and `POST /dev/token` on.
pub async fn demo_app() -> TestApp {
    spawn_app_with(
        Db::Sqlite,
        &[("AUTH__DEV_LOGIN", "true"), ("SEED__DEMO", "true")],
    )
    .await
    .unwrap()
}

/// Signs in from the start page as a demo person, landing on their page at `path`.
pub async fn sign_in(b: &Browser<'_>, app: &TestApp, name: &str, path: &str) {
    b.goto(&format!("{}/", app.base)).await;
    let button = b.find("button", &format!("Sign in as {name}")).await;
    b.click(&button).await;
    b.wait_path(path).await;
}

/// Emma starts a chat in the manual queue "Access and Passwords" and sees her place.
pub async fn user_starts_chat(user: &Browser<'_>, app: &TestApp) {
    sign_in(user, app, "Emma Wilson", "/chat").await;
    let queue = user.find("combobox", "Queue").await;
    user.choose(&queue, "Access and Passwords").await;
    let start = user.find("button", "Start chat").await;
    user.click(&start).await;
    user.wait_page_text("You are number 1 in the queue").await;
}

/// Bob opens his console and goes Online - Available.
pub async fn analyst_goes_available(analyst: &Browser<'_>, app: &TestApp) {
    sign_in(analyst, app, "Bob Tran", "/console").await;
    analyst.wait_page_text("Connected").await;
    let availability = analyst.find("combobox", "Availability").await;
    analyst.choose(&availability, "Online - Available").await;
    analyst
        .wait_page_text("Your availability is now Online - Available (changed by you)")
        .await;
}

/// Bob accepts Emma's waiting chat from the Chat Queue; returns the Chat window.
pub async fn analyst_accepts(analyst: &Browser<'_>) -> El {
    let queue = analyst.find("region", "Chat Queue").await;
    analyst.find_in(Some(&queue), "tab", "Waiting").await;
    let accept = analyst.find_in(Some(&queue), "button", "Accept").await;
    analyst.click(&accept).await;
    analyst.find("region", "Chat with Emma Wilson").await
}

pub async fn send(b: &Browser<'_>, window: Option<&El>, text: &str) {
    let message = b.find_in(window, "textbox", "Message").await;
    b.type_into(&message, text).await;
    let send = b.find_in(window, "button", "Send").await;
    b.click(&send).await;
}
