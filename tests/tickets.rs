//! The host's tickets (contract §10.2) end to end: `start_chat {call_ref}` files the chat under the
//! user's call with that `external_ref` (made when absent; another user's ref answers like a
//! missing call; `call_id` with `call_ref` is `bad_request`), and admins and the `service` role
//! open, edit and look up calls by ref over HTTP (a taken ref is 409, bad input 400 and nothing
//! changed, other roles 403). Every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use common::ws::WsClient;
use entities::{calls, chats};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use switchboard::domain::Role;

fn service(app: &TestApp) -> String {
    app.token("crm-bridge", Role::Service)
}

async fn user(app: &TestApp, id: &str) -> WsClient {
    app.ws(&app.token(id, Role::User)).await
}

async fn setup(app: &TestApp) {
    for queue in ["service-desk", "hardware"] {
        app.provision(queue, "manual", &[("alice", "analyst")], 3)
            .await;
    }
}

fn start(queue: &str, call_ref: &str) -> Value {
    json!({"type": "start_chat", "queue_id": queue, "subject": "VPN down", "call_ref": call_ref})
}

async fn stored_call(app: &TestApp, id: &str) -> calls::Model {
    calls::Entity::find_by_id(id.to_string())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn chats_of(app: &TestApp, user_id: &str) -> u64 {
    chats::Entity::find()
        .filter(chats::Column::UserId.eq(user_id))
        .count(&app.db)
        .await
        .unwrap()
}

async fn start_chat_with_a_new_ref_makes_the_call_and_reuses_it(app: TestApp) {
    setup(&app).await;
    let mut emma = user(&app, "emma").await;
    let first = emma.ok(start("service-desk", "INC0012345")).await;
    let call_id = first["call_id"].as_str().unwrap().to_string();
    let call = stored_call(&app, &call_id).await;
    assert_eq!(call.external_ref.as_deref(), Some("INC0012345"));
    assert_eq!(call.user_id, "emma");
    let second = emma.ok(start("hardware", "INC0012345")).await;
    assert_eq!(second["call_id"], call_id.as_str(), "the same call");
    assert_ne!(second["chat_id"], first["chat_id"]);
    let (status, view) = app
        .get(
            &format!("/api/v1/calls/{call_id}"),
            &app.token("emma", Role::User),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["external_ref"], "INC0012345");
    assert_eq!(view["external_url"], Value::Null);
    // The chat's own view carries the call with its ref.
    let chat_id = first["chat_id"].as_str().unwrap();
    let (_, detail) = app
        .get(&format!("/api/v1/chats/{chat_id}"), &app.admin())
        .await;
    assert_eq!(detail["call"]["external_ref"], "INC0012345");
    assert_eq!(
        calls::Entity::find()
            .filter(calls::Column::ExternalRef.eq("INC0012345"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

async fn another_users_ref_answers_not_found_and_stores_nothing(app: TestApp) {
    setup(&app).await;
    let mut emma = user(&app, "emma").await;
    emma.ok(start("service-desk", "INC1")).await;
    let mut fred = user(&app, "fred").await;
    let err = fred.fails(start("service-desk", "INC1"), "not_found").await;
    assert!(err["message"].as_str().unwrap().contains("INC1"), "{err}");
    assert_eq!(chats_of(&app, "fred").await, 0, "no chat stored for fred");
    let (status, _) = app
        .get(
            "/api/v1/calls?external_ref=INC1",
            &app.token("fred", Role::User),
        )
        .await;
    assert_eq!(status, 403, "users may not look refs up");
    // fred may still start a chat in that queue without the ref.
    fred.ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
}

async fn two_users_racing_for_one_new_ref_get_one_call(app: TestApp) {
    setup(&app).await;
    let mut emma = user(&app, "emma").await;
    let mut fred = user(&app, "fred").await;
    let (a, b) = futures_util::future::join(
        emma.cmd(start("service-desk", "RACE-1")),
        fred.cmd(start("service-desk", "RACE-1")),
    )
    .await;
    let kinds = [a["type"].as_str().unwrap(), b["type"].as_str().unwrap()];
    assert!(
        kinds.contains(&"ok") && kinds.contains(&"error"),
        "one ok, one refused: {a} {b}"
    );
    let refused = if a["type"] == "error" { &a } else { &b };
    assert_eq!(refused["code"], "not_found");
    let holders = calls::Entity::find()
        .filter(calls::Column::ExternalRef.eq("RACE-1"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(holders, 1);
}

async fn bad_call_refs_are_refused(app: TestApp) {
    setup(&app).await;
    let mut emma = user(&app, "emma").await;
    let own = emma
        .ok(json!({"type": "start_chat", "queue_id": "hardware"}))
        .await;
    let both = json!({"type": "start_chat", "queue_id": "service-desk",
        "call_id": own["call_id"], "call_ref": "INC9"});
    let err = emma.fails(both, "bad_request").await;
    assert!(
        err["message"].as_str().unwrap().contains("call_ref"),
        "{err}"
    );
    for bad in [json!("x".repeat(65)), json!(""), json!(" INC9"), json!(42)] {
        let frame = json!({"type": "start_chat", "queue_id": "service-desk", "call_ref": bad});
        emma.fails(frame, "bad_request").await;
    }
    assert_eq!(chats_of(&app, "emma").await, 1, "nothing stored");
    let refs = calls::Entity::find()
        .filter(calls::Column::ExternalRef.is_not_null())
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(refs, 0);
}

async fn service_opens_edits_and_finds_calls(app: TestApp) {
    setup(&app).await;
    let token = service(&app);
    let body = json!({"user_id": "gina", "summary": "Laptop will not boot",
        "external_ref": "JSM-42", "external_url": "https://jira.example.com/browse/JSM-42"});
    let (status, created, _) = app
        .call("POST", "/api/v1/calls", Some(&token), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{created}");
    let call_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["user"]["id"], "gina");
    assert_eq!(created["summary"], "Laptop will not boot");
    assert_eq!(created["external_ref"], "JSM-42");
    assert_eq!(
        created["external_url"],
        "https://jira.example.com/browse/JSM-42"
    );
    assert_eq!(created["history"], json!([]));
    // The same ref again: 409, nothing new.
    let (status, problem, _) = app
        .call("POST", "/api/v1/calls", Some(&app.admin()), Some(body))
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "conflict");
    // Look-up by ref.
    let (status, found) = app.get("/api/v1/calls?external_ref=JSM-42", &token).await;
    assert_eq!(status, 200);
    assert_eq!(found["calls"].as_array().unwrap().len(), 1);
    assert_eq!(found["calls"][0]["id"], call_id.as_str());
    let (_, none) = app.get("/api/v1/calls?external_ref=JSM-43", &token).await;
    assert_eq!(none, json!({"calls": []}));
    // gina's chat with that ref lands on the host's call.
    let mut gina = user(&app, "gina").await;
    let started = gina.ok(start("service-desk", "JSM-42")).await;
    assert_eq!(started["call_id"], call_id.as_str());
    // Edit: a new URL and summary; the ref moves to JSM-44.
    let (status, patched) = app
        .patch(
            &format!("/api/v1/calls/{call_id}"),
            &token,
            json!({"summary": "Laptop boots, no Wi-Fi", "external_ref": "JSM-44",
                "external_url": "http://jira.local:8080/browse/JSM-44"}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["external_ref"], "JSM-44");
    assert_eq!(patched["summary"], "Laptop boots, no Wi-Fi");
    let stored = stored_call(&app, &call_id).await;
    assert_eq!(stored.external_ref.as_deref(), Some("JSM-44"));
    assert_eq!(
        stored.external_url.as_deref(),
        Some("http://jira.local:8080/browse/JSM-44")
    );
    // A ref another call holds: 409, nothing changed.
    let (status, other, _) = app
        .call(
            "POST",
            "/api/v1/calls",
            Some(&token),
            Some(json!({"user_id": "hank", "summary": "Printer", "external_ref": "JSM-50"})),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let (status, problem) = app
        .patch(
            &format!("/api/v1/calls/{call_id}"),
            &token,
            json!({"external_ref": "JSM-50", "summary": "changed?"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let stored = stored_call(&app, &call_id).await;
    assert_eq!(stored.external_ref.as_deref(), Some("JSM-44"));
    assert_eq!(stored.summary, "Laptop boots, no Wi-Fi");
    // Its own ref again is no conflict; null clears the URL.
    let (status, patched) = app
        .patch(
            &format!("/api/v1/calls/{call_id}"),
            &token,
            json!({"external_ref": "JSM-44", "external_url": null}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["external_url"], Value::Null);
    let (status, _) = app
        .patch("/api/v1/calls/CALL-NOPE", &token, json!({"summary": "x"}))
        .await;
    assert_eq!(status, 404);
}

async fn bad_call_bodies_are_400_and_change_nothing(app: TestApp) {
    let token = service(&app);
    let cases = [
        json!({"user_id": "gina"}),
        json!({"user_id": ".bad", "summary": "x"}),
        json!({"user_id": "gina", "summary": "   "}),
        json!({"user_id": "gina", "summary": "x", "external_ref": "y".repeat(65)}),
        json!({"user_id": "gina", "summary": "x", "external_url": "/relative"}),
        json!({"user_id": "gina", "summary": "x", "external_url": "ftp://host/file"}),
        json!({"user_id": "gina", "summary": "x", "external_url": "javascript:alert(1)"}),
        json!({"user_id": "gina", "summary": "x", "colour": "red"}),
    ];
    for body in cases {
        let (status, problem, _) = app
            .call("POST", "/api/v1/calls", Some(&token), Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "bad_request");
    }
    assert_eq!(calls::Entity::find().count(&app.db).await.unwrap(), 0);
    let (status, _) = app.get("/api/v1/calls", &token).await;
    assert_eq!(status, 400, "external_ref is required");
    let (status, _) = app
        .get(
            &format!("/api/v1/calls?external_ref={}", "z".repeat(65)),
            &token,
        )
        .await;
    assert_eq!(status, 400);
    let (_, made, _) = app
        .call(
            "POST",
            "/api/v1/calls",
            Some(&token),
            Some(json!({"user_id": "gina", "summary": "x", "external_ref": "R1"})),
        )
        .await;
    let id = made["id"].as_str().unwrap();
    for body in [
        json!({"external_url": "mailto:a@b.c"}),
        json!({"external_ref": ""}),
        json!({"summary": ""}),
        json!({"user_id": "hank"}),
    ] {
        let (status, problem) = app
            .patch(&format!("/api/v1/calls/{id}"), &token, body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {problem}");
    }
    let stored = stored_call(&app, id).await;
    assert_eq!(
        (stored.user_id.as_str(), stored.external_ref.as_deref()),
        ("gina", Some("R1"))
    );
}

async fn only_admins_and_service_write_or_look_up_calls(app: TestApp) {
    app.provision("service-desk", "manual", &[("alice", "manager")], 3)
        .await;
    let body = json!({"user_id": "gina", "summary": "x", "external_ref": "R2"});
    for token in [
        app.token("gina", Role::User),
        app.token("alice", Role::Manager),
    ] {
        let (status, _, _) = app
            .call("POST", "/api/v1/calls", Some(&token), Some(body.clone()))
            .await;
        assert_eq!(status, 403);
        let (status, _) = app.get("/api/v1/calls?external_ref=R2", &token).await;
        assert_eq!(status, 403);
    }
    let (status, made, _) = app
        .call("POST", "/api/v1/calls", Some(&app.admin()), Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let (status, _) = app
        .patch(
            &format!("/api/v1/calls/{id}"),
            &app.token("gina", Role::User),
            json!({"summary": "mine"}),
        )
        .await;
    assert_eq!(status, 403, "even the call's own user");
    let (status, _, _) = app.call("POST", "/api/v1/calls", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(stored_call(&app, id).await.summary, "x");
}

on_both_databases!(
    start_chat_with_a_new_ref_makes_the_call_and_reuses_it,
    another_users_ref_answers_not_found_and_stores_nothing,
    two_users_racing_for_one_new_ref_get_one_call,
    bad_call_refs_are_refused,
    service_opens_edits_and_finds_calls,
    bad_call_bodies_are_400_and_change_nothing,
    only_admins_and_service_write_or_look_up_calls,
);
