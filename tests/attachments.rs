//! Attachments end to end (contract §12), on SQLite and PostgreSQL: a file uploaded into a chat
//! travels in a `message` and in `resume`, downloads byte-identical with headers that let nothing
//! run, and is listed in the transcript and the call history; oversize and disguised files are
//! refused with nothing stored; nobody outside the chat can read or send one; unsent files go
//! when the chat ends; and a file acked before `kill -9` is there after the restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::files::{SVG_WITH_SCRIPT, exe, png};
use common::process::ServerProcess;
use common::ws::WsClient;
use common::{Db, TestApp, TestDb};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard::domain::Role;

/// The limit the refusal tests run with: small, so one byte over is cheap to send.
const LIMIT: usize = 200_000;

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `alice` (available, in `service-desk`) and user `uma` in an answered chat: (alice, uma, chat).
async fn answered_chat(app: &TestApp, user: &str) -> (WsClient, WsClient, String) {
    let mut alice = app.available("alice").await;
    let mut uma = app.ws(&app.token(user, Role::User)).await;
    let ok = uma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = ok["chat_id"].as_str().unwrap().to_string();
    alice
        .expect_where(|f| f["type"] == "chat_assigned" && f["chat"]["chat_id"] == chat.as_str())
        .await;
    (alice, uma, chat)
}

async fn a_png_travels_in_message_and_resume_and_downloads_byte_identical(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let (mut alice, mut uma, chat) = answered_chat(&app, "uma").await;
    let uma_token = app.token("uma", Role::User);
    let alice_token = app.token("alice", Role::Analyst);
    let shot = png(100_000);

    let (status, up) = app
        .upload(
            &uma_token,
            &chat,
            "image/png",
            "C:\\Users\\uma\\..\\shot\u{7}.png",
            shot.clone(),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(
        up["name"], "shot.png",
        "path and control characters stripped"
    );
    assert_eq!(up["content_type"], "image/png");
    assert_eq!(up["size"], shot.len());
    assert_eq!(up["sha256"], sha256_hex(&shot));
    let id = up["attachment_id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/attachments/{id}");

    // Until it is sent, it is the uploader's alone.
    assert_eq!(app.download(&url, Some(&alice_token)).await.status, 404);
    assert_eq!(app.download(&url, Some(&uma_token)).await.body, shot);

    // Sent with an empty body; a repeat answers the original seq.
    let send = json!({"type": "send", "chat_id": chat, "body": "", "client_msg_id": "m1", "attachments": [id]});
    let ok = uma.ok(send.clone()).await;
    assert_eq!(uma.ok(send).await["seq"], ok["seq"], "idempotent resend");
    let message = alice.expect("message").await;
    assert_eq!(message["seq"], ok["seq"]);
    assert_eq!(
        message["attachments"],
        json!([{"id": id, "name": "shot.png", "content_type": "image/png", "size": shot.len(), "url": url}])
    );
    // Once sent, it cannot be sent again.
    uma.fails(
        json!({"type": "send", "chat_id": chat, "body": "again", "client_msg_id": "m2", "attachments": [id]}),
        "not_found",
    )
    .await;
    // A message with neither text nor files is still refused.
    uma.fails(
        json!({"type": "send", "chat_id": chat, "body": "", "client_msg_id": "m3"}),
        "bad_request",
    )
    .await;

    // resume carries it too.
    alice
        .ok(json!({"type": "resume", "chat_id": chat, "after_seq": 0}))
        .await;
    let replayed = alice.expect("message").await;
    assert_eq!(replayed["attachments"][0]["id"], id.as_str());

    // The analyst downloads it byte for byte, shown inline (an image), with nothing to run.
    let got = app.download(&url, Some(&alice_token)).await;
    assert_eq!(got.status, 200);
    assert!(got.body == shot, "byte-identical download");
    assert_eq!(got.header("content-type"), "image/png");
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    assert!(got.header("content-disposition").starts_with("inline"));
    assert!(got.header("content-disposition").contains("shot.png"));
    let csp = got.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );

    // A page's link uses a single-use ticket instead of a header.
    let (_, ticket, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&alice_token), None)
        .await;
    let with_ticket = format!("{url}?ticket={}", ticket["ticket"].as_str().unwrap());
    assert!(app.download(&with_ticket, None).await.body == shot);
    assert_eq!(app.download(&with_ticket, None).await.status, 401, "spent");
    assert_eq!(app.download(&url, None).await.status, 401);

    // A log file from the analyst: a download, never shown inline.
    let log = b"2026-12-01 ERROR printer offline\n".to_vec();
    let (status, up) = app
        .upload(
            &alice_token,
            &chat,
            "text/plain; charset=utf-8",
            "printer.log",
            log.clone(),
        )
        .await;
    assert_eq!(status, 201, "{up}");
    let log_id = up["attachment_id"].as_str().unwrap().to_string();
    alice
        .ok(json!({"type": "send", "chat_id": chat, "body": "the log", "attachments": [log_id]}))
        .await;
    let message = uma.expect("message").await;
    assert_eq!(message["attachments"][0]["name"], "printer.log");
    let got = app
        .download(&format!("/api/v1/attachments/{log_id}"), Some(&uma_token))
        .await;
    assert!(got.body == log);
    assert_eq!(got.header("content-type"), "text/plain; charset=utf-8");
    assert!(got.header("content-disposition").starts_with("attachment"));

    // The HTTP transcript lists both; the call history's text names and links them.
    let (status, detail) = app
        .get(&format!("/api/v1/chats/{chat}"), &alice_token)
        .await;
    assert_eq!(status, 200, "{detail}");
    let listed: Vec<&Value> = detail["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    uma.ok(json!({"type": "close_chat", "chat_id": chat})).await;
    let call_id = detail["chat"]["call_id"].as_str().unwrap();
    let contents = history_contents(&app, call_id).await;
    assert!(
        contents.contains("shot.png") && contents.contains(&url),
        "{contents}"
    );
    assert!(contents.contains("printer.log"), "{contents}");
    let rows = app.attachment_rows().await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.message_seq.is_some()));
    assert!(
        app.stored_bytes(&rows[0].id).await == shot,
        "the bytes are in the database"
    );
}

async fn history_contents(app: &TestApp, call_id: &str) -> String {
    for _ in 0..50 {
        let (_, call) = app
            .get(&format!("/api/v1/calls/{call_id}"), &app.admin())
            .await;
        if let Some(text) = call["history"][0]["contents"].as_str() {
            return text.to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no history on call {call_id}");
}

async fn oversize_and_disguised_files_are_refused_and_nothing_is_stored(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let (_alice, mut uma, chat) = answered_chat(&app, "uma").await;
    let token = app.token("uma", Role::User);
    let header_len = png(0).len();

    // Exactly the limit is fine; one byte over is 413, declared or streamed.
    let (status, body) = app
        .upload(
            &token,
            &chat,
            "image/png",
            "max.png",
            png(LIMIT - header_len),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let over = png(LIMIT + 1 - header_len);
    let (status, body) = app
        .upload(&token, &chat, "image/png", "big.png", over.clone())
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (status, body) = app.upload_chunked(&token, &chat, "image/png", over).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );

    // Types from the bytes, never from the label.
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("text/html", png(1000), "a PNG declared as HTML"),
        ("image/svg+xml", SVG_WITH_SCRIPT.to_vec(), "an SVG"),
        (
            "text/plain",
            SVG_WITH_SCRIPT.to_vec(),
            "an SVG declared as text",
        ),
        (
            "image/png",
            SVG_WITH_SCRIPT.to_vec(),
            "an SVG declared as PNG",
        ),
        ("image/png", exe(), "an EXE renamed .png"),
        ("application/x-msdownload", exe(), "an EXE"),
    ];
    for (content_type, data, what) in cases {
        let (status, body) = app.upload(&token, &chat, content_type, "x.png", data).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (415, Some("unsupported_media_type")),
            "{what}: {body}"
        );
    }
    let (status, body) = app
        .upload(&token, &chat, "image/png", "empty.png", Vec::new())
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        app.attachment_rows().await.len(),
        1,
        "only the file at the limit"
    );

    let metrics = app.call("GET", "/metrics", None, None).await.1;
    let samples = common::prom::parse(metrics.as_str().unwrap()).unwrap();
    let refused = |reason| {
        common::prom::value(
            &samples,
            "switchboard_attachments_refused_total",
            &[("reason", reason)],
        )
    };
    assert!(refused("too_large") >= 2.0);
    assert!(refused("type_not_allowed") >= 3.0);
    assert!(refused("content_mismatch") >= 3.0);
    assert!(common::prom::value(&samples, "switchboard_attachments_stored_total", &[]) >= 1.0);
    assert!(
        common::prom::value(&samples, "switchboard_attachment_bytes_stored_total", &[])
            >= LIMIT as f64
    );

    // The unsent file goes when the chat ends; an ended chat takes no upload.
    uma.ok(json!({"type": "close_chat", "chat_id": chat})).await;
    for _ in 0..50 {
        if app.attachment_rows().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        app.attachment_rows().await.is_empty(),
        "unsent files deleted at the end"
    );
    let (status, body) = app
        .upload(&token, &chat, "image/png", "late.png", png(10))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(app.attachment_rows().await.is_empty());
}

async fn nobody_outside_the_chat_reads_or_sends_its_files(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    app.provision("hr", "auto", &[("bob", "analyst")], 3).await;
    let (mut alice, mut uma, chat_a) = answered_chat(&app, "uma").await;
    let mut vic = app.ws(&app.token("vic", Role::User)).await;
    let chat_b = vic
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await["chat_id"]
        .as_str()
        .unwrap()
        .to_string();
    alice
        .expect_where(|f| f["type"] == "chat_assigned" && f["chat"]["chat_id"] == chat_b.as_str())
        .await;
    let uma_token = app.token("uma", Role::User);
    let alice_token = app.token("alice", Role::Analyst);

    let (_, up) = app
        .upload(&uma_token, &chat_a, "image/png", "a.png", png(500))
        .await;
    let id = up["attachment_id"].as_str().unwrap().to_string();
    // Nobody but the uploader may send it: not the chat's analyst, not in another chat.
    alice
        .fails(
            json!({"type": "send", "chat_id": chat_a, "body": "mine?", "attachments": [id]}),
            "not_found",
        )
        .await;
    uma.fails(
        json!({"type": "send", "chat_id": chat_b, "body": "there", "attachments": [id]}),
        "not_found",
    )
    .await;
    // The analyst of both chats uploads to one and tries to send it in the other.
    let (_, up) = app
        .upload(&alice_token, &chat_a, "image/png", "b.png", png(500))
        .await;
    let alices = up["attachment_id"].as_str().unwrap().to_string();
    alice
        .fails(
            json!({"type": "send", "chat_id": chat_b, "body": "wrong chat", "attachments": [alices]}),
            "not_found",
        )
        .await;
    alice
        .ok(json!({"type": "send", "chat_id": chat_a, "body": "right chat", "attachments": [alices]}))
        .await;
    uma.ok(json!({"type": "send", "chat_id": chat_a, "body": "here", "attachments": [id]}))
        .await;

    // Strangers, an analyst of another queue and the user of another chat: 404, like no file.
    for who in [
        app.token("sam", Role::User),
        app.token("bob", Role::Analyst),
        app.token("vic", Role::User),
    ] {
        for file in [&id, &alices] {
            let got = app
                .download(&format!("/api/v1/attachments/{file}"), Some(&who))
                .await;
            assert_eq!(got.status, 404);
        }
        let (status, _) = app
            .upload(&who, &chat_a, "image/png", "c.png", png(10))
            .await;
        assert_eq!(status, 404, "upload into someone else's chat");
    }
    let missing = app
        .download(
            "/api/v1/attachments/0190b5c8-7b1e-7000-8000-000000000000",
            Some(&uma_token),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        app.download(&format!("/api/v1/attachments/{id}"), Some(&app.admin()))
            .await
            .status,
        200
    );
    assert_eq!(
        app.attachment_rows().await.len(),
        2,
        "no stranger's upload stored"
    );
}

on_both_databases!(
    with [("LIMITS__MAX_ATTACHMENT_BYTES", "200000")];
    a_png_travels_in_message_and_resume_and_downloads_byte_identical,
    oversize_and_disguised_files_are_refused_and_nothing_is_stored,
    nobody_outside_the_chat_reads_or_sends_its_files,
);

/// kill -9 after the upload's 201 and the send's ok: after the restart the file downloads
/// byte-identical, `resume` lists it, and a file uploaded but not yet sent can still be sent.
async fn an_acked_attachment_survives_kill_9(kind: Db) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let url = db.url.clone();
    let mut server = ServerProcess::start(&url, &[]);
    let mut app = TestApp::attach(db, kind, &server.base).await;
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let (_alice, mut uma, chat) = answered_chat(&app, "uma").await;
    let token = app.token("uma", Role::User);
    let shot = png(300_000);
    let (status, up) = app
        .upload(&token, &chat, "image/png", "shot.png", shot.clone())
        .await;
    assert_eq!(status, 201, "{up}");
    let sent = up["attachment_id"].as_str().unwrap().to_string();
    uma.ok(json!({"type": "send", "chat_id": chat, "body": "see", "attachments": [sent]}))
        .await;
    let (status, up) = app
        .upload(&token, &chat, "image/png", "later.png", png(1000))
        .await;
    assert_eq!(status, 201, "{up}");
    let unsent = up["attachment_id"].as_str().unwrap().to_string();
    server.kill_9();

    let restarted = ServerProcess::start(&url, &[]);
    app.repoint(&restarted.base);
    let alice_token = app.token("alice", Role::Analyst);
    let got = app
        .download(&format!("/api/v1/attachments/{sent}"), Some(&alice_token))
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body == shot, "byte-identical after kill -9");
    let mut uma = app.ws(&token).await;
    uma.ok(json!({"type": "resume", "chat_id": chat, "after_seq": 0}))
        .await;
    let message = uma.expect("message").await;
    assert_eq!(message["attachments"][0]["id"], sent.as_str());
    uma.ok(json!({"type": "send", "chat_id": chat, "body": "", "attachments": [unsent]}))
        .await;
}

/// The restart test takes a `Db` (it runs the binary as a child process).
mod restart {
    use super::*;

    for_each_database!(an_acked_attachment_survives_kill_9);
}
