//! A client that stops reading cannot grow the server's memory or keep its connection (security
//! finding 1 and 5): every path that queues frames for a socket (events, answers, `resume`
//! replays) respects one bound in frames and bytes, a resume replays in pages as the client reads,
//! a second resume of the same chat on one connection is refused while the first runs, a flood to
//! a non-reading socket resets its connection at once, and a stalled socket with nothing more to
//! send is closed within the heartbeat's timeout. Memory is read from this process's own
//! `/proc/self/status` (the server runs in the test process), so these tests run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::ws::WsClient;
use common::{Db, TestApp, spawn_app_with};
use rand::{Rng, SeedableRng};
use serde_json::json;
use switchboard::domain::Role;

/// One test at a time: they measure the memory of the whole process.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How much the process may grow while non-reading clients are being sent to: the outbound
/// bound is 1 MiB a session (a replay at most half), so this leaves room for the allocator's own
/// slack, never for a replay of the chat (8 MB a resume, 160 MB for the twenty below).
const RSS_GROWTH_LIMIT_KB: u64 = 48 * 1024;

/// This process's resident memory, in KiB.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends `count` messages of `len` characters into `chat_id`, pipelined a hundred at a time.
async fn fill(ws: &mut WsClient, chat_id: &str, count: usize, len: usize) {
    let body = "m".repeat(len);
    for start in (0..count).step_by(100) {
        let end = (start + 100).min(count);
        for i in start..end {
            let send = json!({"type": "send", "ref": format!("fill-{i}"), "chat_id": chat_id, "body": body});
            ws.send_text(&send.to_string()).await;
        }
        for i in start..end {
            let reference = format!("fill-{i}");
            let reply = ws.expect_where(|f| f["ref"] == json!(reference)).await;
            assert_eq!(reply["type"], "ok", "{reply}");
        }
    }
}

/// Waits until `/metrics` counts `n` user connections; false when `within` passes first.
async fn user_connections_reach(app: &TestApp, n: f64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let open = app
            .metric("switchboard_connections", &[("role", "user")])
            .await;
        if open == n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Alice, available in an auto-routed queue of her own.
async fn alice_available_in_an_auto_queue(app: &TestApp) -> WsClient {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    app.available("alice").await
}

/// A waiting chat of Emma's with 1,000 messages of 8,000 characters.
async fn long_waiting_chat(app: &TestApp) -> (WsClient, String) {
    app.provision("service-desk", "manual", &[("alice", "analyst")], 3)
        .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    fill(&mut emma, &chat_id, 1000, 8000).await;
    (emma, chat_id)
}

async fn repeated_resumes_to_non_reading_sockets_stay_bounded_and_close(app: TestApp) {
    let _serial = SERIAL.lock().await;
    let (_emma, chat_id) = long_waiting_chat(&app).await;
    let token = app.token("emma", Role::User);
    let dropped_before = app
        .metric("switchboard_slow_sessions_dropped_total", &[])
        .await;
    let before = rss_kb();
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut socket = app.non_reader(&token, 4096).await;
        let resume = json!({"type": "resume", "chat_id": chat_id, "after_seq": 1});
        for _ in 0..10 {
            assert!(socket.send(&resume).await);
        }
        stalled.push(socket);
    }
    let sent = Instant::now();
    // Both stalled sockets count while they are open.
    let open = app
        .metric("switchboard_connections", &[("role", "user")])
        .await;
    assert_eq!(open, 3.0, "Emma's reading session and the two stalled ones");
    // Nothing but the replays is sent to them, and those wait for room, so their bound never
    // fills: what closes them is the watchdog seeing their sessions frozen for
    // ws.client_timeout_secs (3 s here; it looks every ws.heartbeat_secs, 1 s).
    let mut peak = before;
    let mut closed = false;
    while sent.elapsed() < Duration::from_secs(12) {
        peak = peak.max(rss_kb());
        let open = app
            .metric("switchboard_connections", &[("role", "user")])
            .await;
        if open == 1.0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grown = peak.saturating_sub(before);
    assert!(
        grown < RSS_GROWTH_LIMIT_KB,
        "the server grew {grown} KiB for two non-reading sockets (limit {RSS_GROWTH_LIMIT_KB} KiB)"
    );
    assert!(closed, "the stalled sockets outlived the heartbeat timeout");
    let dropped = app
        .metric("switchboard_slow_sessions_dropped_total", &[])
        .await;
    // Dropped by the watchdog beside each frozen session (its replay waited for room and never
    // overflowed the bound), not by the kernel's slower timeout.
    assert_eq!(dropped, dropped_before + 2.0);
    for socket in stalled {
        assert!(socket.closed_within(Duration::from_secs(2)).await);
    }
}

async fn a_resume_replays_in_order_once_and_a_second_one_meanwhile_is_refused(app: TestApp) {
    let _serial = SERIAL.lock().await;
    let (mut emma, chat_id) = long_waiting_chat(&app).await;
    let mut tab = app.ws(&app.token("emma", Role::User)).await;
    let resume = |reference: &str| {
        json!({"type": "resume", "ref": reference, "chat_id": chat_id, "after_seq": 1}).to_string()
    };
    tab.send_text(&resume("first")).await;
    tab.send_text(&resume("second")).await;
    // A message sent while the replay runs reaches the replaying tab once, after the replay.
    let live = emma
        .ok(json!({"type": "send", "chat_id": chat_id, "body": "sent during the replay"}))
        .await;
    assert_eq!(live["seq"], 1001);
    let second = tab.expect_where(|f| f["ref"] == "second").await;
    assert_eq!(second["type"], "error", "{second}");
    assert_eq!(second["code"], "conflict", "{second}");
    let first = tab.expect_where(|f| f["ref"] == "first").await;
    assert_eq!(first["type"], "ok", "{first}");
    let replayed_to = first["last_seq"].as_i64().unwrap();
    assert!(replayed_to >= 1000, "{first}");
    let mut seqs: Vec<i64> = tab
        .inbox
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["seq"].as_i64().unwrap())
        .collect();
    if replayed_to == 1000 {
        // The live message came after the replay had caught up: it follows the ok.
        let after = tab.expect("message").await;
        seqs.push(after["seq"].as_i64().unwrap());
    }
    let expected: Vec<i64> = (2..=1001).collect();
    assert_eq!(seqs, expected, "every seq after 1 once, in order");
}

async fn a_flood_to_a_non_reading_socket_resets_it_at_once(app: TestApp) {
    let _serial = SERIAL.lock().await;
    let mut alice = alice_available_in_an_auto_queue(&app).await;
    let mut emma = app.non_reader(&app.token("emma", Role::User), 4096).await;
    let start = json!({"type": "start_chat", "queue_id": "service-desk"});
    assert!(emma.send(&start).await);
    let assigned = alice.expect("chat_assigned").await;
    let chat_id = assigned["chat"]["chat_id"].as_str().unwrap().to_string();
    let dropped_before = app
        .metric("switchboard_slow_sessions_dropped_total", &[])
        .await;
    let body = "x".repeat(8000);
    let started = Instant::now();
    let mut gone = false;
    for _ in 0..3000 {
        let reply = alice
            .cmd(json!({"type": "send", "chat_id": chat_id, "body": body}))
            .await;
        assert_eq!(reply["type"], "ok", "{reply}");
        if alice
            .inbox
            .iter()
            .any(|f| f["type"] == "peer_status" && f["connected"] == false)
        {
            gone = true;
            break;
        }
    }
    assert!(gone, "the non-reading session was never dropped");
    // The heartbeat timeout is 30 s here: only the reset explains a connection gone this fast.
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(user_connections_reach(&app, 0.0, Duration::from_secs(2)).await);
    let dropped = app
        .metric("switchboard_slow_sessions_dropped_total", &[])
        .await;
    assert_eq!(dropped, dropped_before + 1.0);
    assert!(emma.closed_within(Duration::from_secs(2)).await);
}

/// The queued bytes the bound allows for `sessions` sessions: each may hold its bound, or one
/// lone frame larger than it.
fn allowed_bytes(sessions: f64, bound: f64) -> f64 {
    sessions * (bound + 64.0 * 1024.0)
}

async fn random_mixes_to_a_non_reading_client_stay_within_the_bound(app: TestApp) {
    let _serial = SERIAL.lock().await;
    let bound: f64 = app.settings.limits.max_outbound_bytes as f64;
    let mut alice = alice_available_in_an_auto_queue(&app).await;
    let token = app.token("emma", Role::User);
    let mut emma = app.ws(&token).await;
    let ok = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat_id = ok["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    // More history than a chat keeps in memory, so resumes read pages back from the database;
    // replayed whole, each resume would queue up to 8 MB.
    fill(&mut alice, &chat_id, 1000, 8000).await;
    let before = rss_kb();
    let mut peak_rss = before;
    let mut peak_queued: f64 = 0.0;
    let mut last_seq: i64 = 1000;
    for seed in [7_u64, 11, 23] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut stalled = app.non_reader(&token, 4096).await;
        for _ in 0..60 {
            match rng.random_range(0..3) {
                0 => {
                    // A burst of resumes, as the attack sent them.
                    for _ in 0..rng.random_range(5..=10) {
                        let after = rng.random_range(0..=last_seq);
                        let resume =
                            json!({"type": "resume", "chat_id": chat_id, "after_seq": after});
                        if !stalled.send(&resume).await {
                            // A flood reset it: stall another one.
                            stalled = app.non_reader(&token, 4096).await;
                            stalled.send(&resume).await;
                        }
                    }
                }
                1 => {
                    let count = rng.random_range(1..40);
                    let len = rng.random_range(1..8000);
                    fill(&mut alice, &chat_id, count, len).await;
                    last_seq += count as i64;
                }
                _ => {
                    for _ in 0..rng.random_range(1..20) {
                        alice
                            .ok(json!({"type": "typing", "chat_id": chat_id}))
                            .await;
                    }
                }
            }
            let queued = app.metric("switchboard_outbound_queued_bytes", &[]).await;
            peak_queued = peak_queued.max(queued);
            peak_rss = peak_rss.max(rss_kb());
            // Emma's reading tab keeps up, so only the stalled socket may hold frames.
            emma.inbox.clear();
            while emma.next_within(Duration::from_millis(1)).await.is_some() {}
        }
        drop(stalled);
    }
    assert!(
        peak_queued <= allowed_bytes(3.0, bound),
        "{peak_queued} bytes queued, more than the bound allows"
    );
    let grown = peak_rss.saturating_sub(before);
    assert!(
        grown < RSS_GROWTH_LIMIT_KB,
        "the server grew {grown} KiB (limit {RSS_GROWTH_LIMIT_KB} KiB)"
    );
}

const FAST_HEARTBEAT: [(&str, &str); 2] = [
    ("WS__HEARTBEAT_SECS", "1"),
    ("WS__CLIENT_TIMEOUT_SECS", "3"),
];

#[actix_web::test]
async fn sqlite_repeated_resumes_to_non_reading_sockets_stay_bounded_and_close() {
    let app = spawn_app_with(Db::Sqlite, &FAST_HEARTBEAT).await.unwrap();
    repeated_resumes_to_non_reading_sockets_stay_bounded_and_close(app).await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_pg,
    ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL"
)]
async fn postgres_repeated_resumes_to_non_reading_sockets_stay_bounded_and_close() {
    if let Some(app) = spawn_app_with(Db::Postgres, &FAST_HEARTBEAT).await {
        repeated_resumes_to_non_reading_sockets_stay_bounded_and_close(app).await;
    }
}

#[actix_web::test]
async fn sqlite_a_resume_replays_in_order_once_and_a_second_one_meanwhile_is_refused() {
    let app = spawn_app_with(Db::Sqlite, &[]).await.unwrap();
    a_resume_replays_in_order_once_and_a_second_one_meanwhile_is_refused(app).await;
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_pg,
    ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL"
)]
async fn postgres_a_resume_replays_in_order_once_and_a_second_one_meanwhile_is_refused() {
    if let Some(app) = spawn_app_with(Db::Postgres, &[]).await {
        a_resume_replays_in_order_once_and_a_second_one_meanwhile_is_refused(app).await;
    }
}

#[actix_web::test]
async fn sqlite_a_flood_to_a_non_reading_socket_resets_it_at_once() {
    let overrides = [("LIMITS__MAX_OUTBOUND_FRAMES", "32")];
    let app = spawn_app_with(Db::Sqlite, &overrides).await.unwrap();
    a_flood_to_a_non_reading_socket_resets_it_at_once(app).await;
}

#[actix_web::test]
async fn sqlite_random_mixes_to_a_non_reading_client_stay_within_the_bound() {
    let app = spawn_app_with(Db::Sqlite, &[]).await.unwrap();
    random_mixes_to_a_non_reading_client_stay_within_the_bound(app).await;
}
