//! HTTP on any node of a cluster (contract §11), with real processes, PostgreSQL and NATS: a
//! standby forwards every request to the leader and returns its answer (a queue made through
//! one standby is read through another; a ticket made through a standby is the leader's; an
//! upload and a download stream through standbys, the leader's 413 included; the event stream
//! stays open through a standby), a standby that hears no leader, or cannot reach the one it
//! hears, answers 503 `unavailable` with `Retry-After`, and `/readyz` says which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::cluster::{
    SETTLE, cluster, get, leader, on_the_leader, start_node, unique_name, wait_for_status,
};
use common::files::png;
use common::process::ServerProcess;
use common::{Db, TestApp, TestDb};
use serde_json::{Value, json};
use sha2::Digest;
use switchboard::cluster::presence::Heartbeat;
use switchboard::domain::Role;

/// The standbys' indexes, given the leader's, once each is ready (it hears the leader), as a
/// load balancer checking `/readyz` would wait for.
async fn standbys(nodes: &[ServerProcess], at: usize) -> Vec<usize> {
    let others: Vec<usize> = (0..nodes.len()).filter(|i| *i != at).collect();
    for &i in &others {
        let ready = wait_for_status(&nodes[i].base, "/readyz", "", 200, SETTLE).await;
        assert_eq!(ready["checks"]["cluster"], "standby", "{ready}");
        assert_eq!(ready["checks"]["leader"], format!("node-{at}"), "{ready}");
    }
    others
}

/// `GET base + path`: status, `Retry-After`, JSON body.
async fn get_with_headers(
    base: &str,
    path: &str,
    token: &str,
    extra: &[(&str, &str)],
) -> (u16, String, Value) {
    let mut req = awc::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token);
    for (k, v) in extra {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send().await.unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        retry,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_queue_made_through_one_standby_is_read_through_another_and_tickets_are_the_leaders() {
    let (name, nodes, mut app) = cluster(3).await;
    let (at, _) = leader(&app, &name, &nodes).await;
    let [b, c] = standbys(&nodes, at).await[..] else {
        unreachable!()
    };
    let admin = app.admin();
    app.repoint(&nodes[b].base);
    let (status, made) = app
        .put(
            "/api/v1/queues/printers",
            &admin,
            json!({"name": "Printers", "routing": "auto"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    app.repoint(&nodes[c].base);
    let (status, read) = app.get("/api/v1/queues/printers", &admin).await;
    assert_eq!((status, &read["name"]), (200, &json!("Printers")), "{read}");
    // The leader's router has it: its own listing shows it as the standby's does.
    let (status, on_leader) = get(&nodes[at].base, "/api/v1/queues", &admin).await;
    assert_eq!(status, 200);
    let (_, on_standby) = get(&nodes[c].base, "/api/v1/queues", &admin).await;
    assert_eq!(on_leader, on_standby);
    assert!(on_leader.to_string().contains("printers"), "{on_leader}");
    // The leader's refusals come back as they are.
    let (status, missing, content_type) = app
        .call("GET", "/api/v1/queues/nope", Some(&admin), None)
        .await;
    assert_eq!((status, &missing["code"]), (404, &json!("not_found")));
    assert_eq!(content_type, "application/problem+json");
    let (status, refused) = app.get("/api/v1/queues", "not-a-token").await;
    assert_eq!(status, 401, "{refused}");

    // A ticket made through a standby is the leader's: the leader redeems it, once.
    let emma = app.token("emma", Role::User);
    let (status, ticket, _) = app
        .call("POST", "/api/v1/ws-tickets", Some(&emma), None)
        .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket = ticket["ticket"].as_str().unwrap().to_string();
    app.repoint(&nodes[at].base);
    let ws = app.ws_ticket(&ticket).await;
    assert!(
        ws.is_ok(),
        "the leader refused a ticket made through a standby"
    );
    assert!(app.ws_ticket(&ticket).await.is_err(), "redeemed twice");
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn uploads_downloads_and_the_event_stream_pass_through_standbys() {
    let (name, nodes, mut app) = cluster(3).await;
    let (at, _, mut alice, mut emma) = on_the_leader(&mut app, &name, &nodes).await;
    let [b, c] = standbys(&nodes, at).await[..] else {
        unreachable!()
    };
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    let emma_token = app.token("emma", Role::User);

    // A manager's event stream, opened through a standby, stays open and carries what the
    // leader announces afterwards.
    app.provision("service-desk", "auto", &[("carol", "manager")], 2)
        .await;
    app.repoint(&nodes[c].base);
    let mut events = app
        .sse(Some(&app.token("carol", Role::Manager)), "", None)
        .await
        .unwrap();
    events
        .expect("queue_stats", |d| d["id"] == "service-desk")
        .await;

    app.repoint(&nodes[b].base);
    let shot = png(5 << 20);
    let (status, up) = app
        .upload(&emma_token, &chat, "image/png", "shot.png", shot.clone())
        .await;
    assert_eq!(status, 201, "{up}");
    assert_eq!(up["size"], shot.len());
    assert_eq!(up["sha256"], format!("{:x}", sha2::Sha256::digest(&shot)));
    let log = png(300 << 10);
    let (status, chunked) = app
        .upload_chunked(&emma_token, &chat, "image/png", log.clone())
        .await;
    assert_eq!(status, 201, "{chunked}");
    // The leader's limit holds through a standby: 413, nothing stored.
    let rows = app.attachment_rows().await.len();
    let (status, too_big) = app
        .upload(&emma_token, &chat, "image/png", "big.png", png(10 << 20))
        .await;
    assert_eq!(
        (status, &too_big["code"]),
        (413, &json!("payload_too_large"))
    );
    assert_eq!(app.attachment_rows().await.len(), rows);

    app.repoint(&nodes[c].base);
    let id = up["attachment_id"].as_str().unwrap();
    let got = app
        .download(&format!("/api/v1/attachments/{id}"), Some(&emma_token))
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body == shot, "the download differs from the upload");
    assert_eq!(got.header("content-type"), "image/png");
    assert_eq!(got.header("x-content-type-options"), "nosniff");
    let id = chunked["attachment_id"].as_str().unwrap();
    let got = app
        .download(&format!("/api/v1/attachments/{id}"), Some(&emma_token))
        .await;
    assert!(got.body == log, "the chunked upload differs");

    // Alice leaves: the leader announces it on the stream the standby holds open.
    alice
        .ok(json!({"type": "set_status", "status": "away"}))
        .await;
    let status = events
        .expect("analyst_status", |d| d["analyst_id"] == "alice")
        .await;
    assert_eq!(status.data["status"], "away");
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_standby_without_a_reachable_leader_answers_503_and_is_not_ready() {
    // The lease is held elsewhere for an hour: the node stays a standby and hears no leader.
    let db = TestDb::create(Db::Postgres).await.unwrap();
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    switchboard::store::migrate(&conn).await.unwrap();
    let name = unique_name();
    let held = switchboard::store::lease::acquire(&conn, &name, "elsewhere", 3_600_000).await;
    assert_eq!(held.unwrap(), Some(1));
    let node = start_node(&db.url, &name, "node-0");
    let app = TestApp::attach(db, Db::Postgres, &node.base).await;
    let admin = app.admin();

    let (status, ready) = get(&node.base, "/readyz", "").await;
    assert_eq!(
        (status, &ready["status"]),
        (503, &json!("degraded")),
        "{ready}"
    );
    assert_eq!(ready["checks"]["cluster"], "no_leader", "{ready}");
    assert_eq!(ready["checks"]["leader"], Value::Null, "{ready}");
    let (status, retry, refused) =
        get_with_headers(&node.base, "/api/v1/queues", &admin, &[]).await;
    assert_eq!(
        (status, &refused["code"]),
        (503, &json!("unavailable")),
        "{refused}"
    );
    assert_eq!(retry, "1");
    assert!(
        refused["detail"].as_str().unwrap().contains("no leader"),
        "{refused}"
    );
    // What a node answers itself it still answers.
    let (status, view) = get(&node.base, "/api/v1/cluster", &admin).await;
    assert_eq!(
        (status, &view["leader"]),
        (200, &json!("elsewhere")),
        "{view}"
    );

    // A leader heard whose address answers nothing (a port just freed): 503 naming it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = dead.local_addr().unwrap().to_string();
    drop(dead);
    let nats = async_nats::connect(common::cluster::NATS_URL)
        .await
        .unwrap();
    let beat = serde_json::to_vec(&Heartbeat {
        id: "ghost".into(),
        address: address.clone(),
        connections: 0,
        leader: true,
    })
    .unwrap();
    let subject = format!("{name}.presence");
    let beating = actix_web::rt::spawn(async move {
        loop {
            nats.publish(subject.clone(), beat.clone().into())
                .await
                .unwrap();
            nats.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let ready = wait_for_status(&node.base, "/readyz", "", 200, SETTLE).await;
    assert_eq!(
        (&ready["checks"]["cluster"], &ready["checks"]["leader"]),
        (&json!("standby"), &json!("ghost")),
        "{ready}"
    );
    let (status, retry, refused) =
        get_with_headers(&node.base, "/api/v1/queues", &admin, &[]).await;
    assert_eq!(
        (status, &refused["code"]),
        (503, &json!("unavailable")),
        "{refused}"
    );
    assert_eq!(retry, "1");
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains(&address), "{detail}");
    // A request another node already forwarded is never forwarded again.
    let (status, _, refused) = get_with_headers(
        &node.base,
        "/api/v1/queues",
        &admin,
        &[("x-switchboard-forwarded-by", "node-9")],
    )
    .await;
    assert_eq!(status, 503, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("node-9 forwarded"),
        "{refused}"
    );
    beating.abort();
}
