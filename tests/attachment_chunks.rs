//! Large attachments (contract §12, issue 16), on SQLite and PostgreSQL: an upload is stored as
//! chunks through the store writer and its row last, so a multi-megabyte file (and a text file
//! whose characters straddle the chunk cuts) round-trips byte for byte; an upload cut off by its
//! client, one over the limit and one into a chat that ends meanwhile leave nothing behind,
//! neither row nor chunk; and `limits.max_concurrent_uploads` refuses one upload too many with
//! 503 `unavailable` and `Retry-After` while the others complete.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::TestApp;
use common::files::png;
use common::ws::WsClient;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard::domain::Role;
use switchboard::store::attachments::CHUNK_BYTES;
use tokio::sync::mpsc;

/// `alice` (available, in `service-desk`) and `user` in an answered chat: (alice, user, chat).
async fn answered_chat(app: &TestApp, user: &str) -> (WsClient, WsClient, String) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
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

type Piece = Result<Bytes, std::io::Error>;

/// An upload whose body the test feeds piece by piece (and may cut off): the pieces go in over
/// `feed`; the answer (status, `Retry-After`, JSON) comes from `answer`.
struct Streaming {
    feed: Option<mpsc::UnboundedSender<Piece>>,
    answer: tokio::task::JoinHandle<Option<(u16, String, Value)>>,
}

impl Streaming {
    fn start(app: &TestApp, token: &str, chat: &str, content_type: &str) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Piece>();
        let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let req = awc::Client::default()
            .post(format!("{}/api/v1/chats/{chat}/attachments", app.base))
            .bearer_auth(token)
            .insert_header(("content-type", content_type.to_string()))
            .insert_header(("content-disposition", "attachment; filename=\"big.bin\""))
            .timeout(Duration::from_secs(60));
        let answer = actix_web::rt::spawn(async move {
            let mut res = req.send_stream(body).await.ok()?;
            let retry = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let bytes = res.body().limit(1 << 20).await.ok()?;
            Some((
                res.status().as_u16(),
                retry,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ))
        });
        Streaming {
            feed: Some(tx),
            answer,
        }
    }

    fn send(&self, data: &[u8]) {
        for piece in data.chunks(64 * 1024) {
            let _ = self
                .feed
                .as_ref()
                .unwrap()
                .send(Ok(Bytes::copy_from_slice(piece)));
        }
    }

    /// Ends the body normally and waits for the answer.
    async fn finish(mut self) -> (u16, String, Value) {
        self.feed.take();
        self.answer.await.unwrap().expect("an answer")
    }

    /// Breaks the body off mid-way: the client gives up and drops the connection.
    async fn abort(mut self) {
        let feed = self.feed.take().unwrap();
        let _ = feed.send(Err(std::io::Error::other("the client gave up")));
        let _ = tokio::time::timeout(Duration::from_secs(10), self.answer).await;
    }
}

/// Waits (up to 10 s) until `ok` holds of the database's chunk count.
async fn chunks_become(app: &TestApp, ok: impl Fn(u64) -> bool, what: &str) {
    for _ in 0..200 {
        if ok(app.chunk_count().await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {} chunks stored", app.chunk_count().await);
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn a_large_upload_round_trips_exactly_in_chunks(app: TestApp) {
    let (_alice, mut uma, chat) = answered_chat(&app, "uma").await;
    let token = app.token("uma", Role::User);
    // Not a whole number of chunks, sent in 64 KiB pieces that do not line up with them.
    let big = png(3 * CHUNK_BYTES + 12_345);
    let (status, up) = app
        .upload(&token, &chat, "image/png", "big.png", big.clone())
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["size"], big.len());
    assert_eq!(up["sha256"], sha256_hex(&big).as_str());
    let id = up["attachment_id"].as_str().unwrap().to_string();
    assert_eq!(app.chunk_count().await, 4, "stored as four chunks");
    assert!(
        app.stored_bytes(&id).await == big,
        "the chunks are the file"
    );
    let got = app
        .download(&format!("/api/v1/attachments/{id}"), Some(&token))
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-length"), big.len().to_string());
    assert!(got.body == big, "downloads byte-identical");

    // A text file whose two-byte characters straddle every chunk cut passes the text check
    // and round-trips (the cut falls inside a character: 1 + 2k bytes before it).
    let text = format!("a{}\n", "é".repeat(CHUNK_BYTES)).into_bytes();
    let (status, up) = app
        .upload(&token, &chat, "text/plain", "log.txt", text.clone())
        .await;
    assert_eq!(status, 201, "{up}");
    let log = up["attachment_id"].as_str().unwrap().to_string();
    uma.ok(json!({"type": "send", "chat_id": chat, "body": "", "attachments": [id, log]}))
        .await;
    let alice = app.token("alice", Role::Analyst);
    let got = app
        .download(&format!("/api/v1/attachments/{log}"), Some(&alice))
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body == text, "the text downloads byte-identical");
}

async fn an_aborted_or_refused_upload_leaves_nothing(app: TestApp) {
    let (_alice, mut uma, chat) = answered_chat(&app, "uma").await;
    let token = app.token("uma", Role::User);
    let file = png(4 * CHUNK_BYTES);

    // The client sends two chunks' worth, then drops the connection.
    let upload = Streaming::start(&app, &token, &chat, "image/png");
    upload.send(&file[..2 * CHUNK_BYTES + 100]);
    chunks_become(&app, |n| n >= 1, "chunks written while the body arrives").await;
    upload.abort().await;
    chunks_become(&app, |n| n == 0, "an aborted upload's chunks are deleted").await;
    assert!(app.attachment_rows().await.is_empty(), "no file from it");

    // Past the limit (1 MiB here) mid-stream, without a Content-Length: 413, nothing kept.
    let upload = Streaming::start(&app, &token, &chat, "image/png");
    upload.send(&file[..3 * CHUNK_BYTES]);
    chunks_become(&app, |n| n >= 1, "chunks written before the limit").await;
    upload.send(&file[3 * CHUNK_BYTES..]);
    let (status, _, body) = upload.finish().await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    chunks_become(&app, |n| n == 0, "an oversize upload's chunks are deleted").await;

    // The chat ends while its upload is half-way: 409, and the chunks go with the refusal.
    let upload = Streaming::start(&app, &token, &chat, "image/png");
    upload.send(&file[..2 * CHUNK_BYTES]);
    chunks_become(&app, |n| n >= 1, "chunks written before the end").await;
    uma.ok(json!({"type": "close_chat", "chat_id": chat})).await;
    upload.send(&file[2 * CHUNK_BYTES..3 * CHUNK_BYTES]);
    let (status, _, body) = upload.finish().await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    chunks_become(&app, |n| n == 0, "an ended chat's upload leaves no chunk").await;
    assert!(app.attachment_rows().await.is_empty());
}

async fn one_upload_past_the_cap_is_refused_with_retry_after(app: TestApp) {
    let (_alice, _uma, chat) = answered_chat(&app, "uma").await;
    let token = app.token("uma", Role::User);
    let file = png(2 * CHUNK_BYTES);
    // Two uploads in progress (the cap), each with a chunk stored.
    let first = Streaming::start(&app, &token, &chat, "image/png");
    first.send(&file[..CHUNK_BYTES + 10]);
    let second = Streaming::start(&app, &token, &chat, "image/png");
    second.send(&file[..CHUNK_BYTES + 10]);
    chunks_become(&app, |n| n >= 2, "both uploads under way").await;

    let third = Streaming::start(&app, &token, &chat, "image/png");
    third.send(&file[..1000]);
    let (status, retry, body) = third.finish().await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    assert_eq!(retry, "1", "Retry-After");

    for upload in [first, second] {
        upload.send(&file[CHUNK_BYTES + 10..]);
        let (status, _, body) = upload.finish().await;
        assert_eq!(status, 201, "{body}");
    }
    // Their places are free again.
    let (status, body) = app
        .upload(&token, &chat, "image/png", "after.png", png(1000))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.attachment_rows().await.len(), 3);
}

on_both_databases!(
    with [("LIMITS__MAX_ATTACHMENT_BYTES", "1048576"), ("LIMITS__MAX_CONCURRENT_UPLOADS", "2")];
    a_large_upload_round_trips_exactly_in_chunks,
    an_aborted_or_refused_upload_leaves_nothing,
    one_upload_past_the_cap_is_refused_with_retry_after,
);
