//! Admin provisioning over HTTP (contract §5): queues, analysts and memberships are created and
//! read back (a queue's omitted `offer_timeout_secs` follows `routing.offer_timeout_secs`); users
//! and analysts are refused with problem+json and nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestApp;
use entities::{analysts, queue_members, queues};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;
use switchboard::domain::Role;

async fn admin_creates_queue_analyst_and_membership_and_reads_them_back(app: TestApp) {
    let admin = app.admin();
    let (status, queue) = app
        .put(
            "/api/v1/queues/service-desk",
            &admin,
            json!({"name": "Service Desk", "routing": "offer", "priority": 2}),
        )
        .await;
    assert_eq!(status, 201, "{queue}");
    assert_eq!(queue["id"], "service-desk");
    assert_eq!(queue["enabled"], true);
    assert_eq!(queue["description"], "");
    assert_eq!(queue["sla_answer_secs"], 60);
    assert_eq!(queue["max_wait_secs"], 0);
    assert_eq!(
        queue["offer_timeout_secs"], 7,
        "defaults to routing.offer_timeout_secs (set to 7 for this file, not the shipped 20)"
    );
    assert_eq!(queue["waiting"], 0);

    let (status, replaced) = app
        .put(
            "/api/v1/queues/service-desk",
            &admin,
            json!({"name": "IT Service Desk", "routing": "auto"}),
        )
        .await;
    assert_eq!(status, 200, "replacing answers 200: {replaced}");
    assert_eq!(
        (replaced["name"].as_str(), replaced["routing"].as_str()),
        (Some("IT Service Desk"), Some("auto"))
    );
    assert_eq!(
        replaced["priority"], 0,
        "PUT replaces: omitted fields take their defaults"
    );

    let (status, analyst) = app
        .put(
            "/api/v1/analysts/alice",
            &admin,
            json!({"name": "Alice Smith", "capacity": 4, "role": "manager"}),
        )
        .await;
    assert_eq!(status, 201, "{analyst}");
    assert_eq!(
        analyst,
        json!({"id": "alice", "name": "Alice Smith", "role": "manager", "capacity": 4, "status": "offline", "connected": false, "pending_status": null, "open_chats": 0, "queues": [], "skills": {}})
    );

    let (status, member) = app
        .put(
            "/api/v1/queues/service-desk/members/alice",
            &admin,
            json!({"role": "manager"}),
        )
        .await;
    assert_eq!(status, 201, "{member}");
    let (status, read) = app.get("/api/v1/analysts/alice", &admin).await;
    assert_eq!(status, 200);
    assert_eq!(
        read["queues"],
        json!([{"queue_id": "service-desk", "role": "manager"}])
    );
    let (status, list) = app.get("/api/v1/queues", &admin).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "IT Service Desk");

    // Alice now sees her queue; removing her membership hides it again.
    let alice = app.token("alice", Role::Manager);
    let (status, mine) = app.get("/api/v1/queues/service-desk", &alice).await;
    assert_eq!((status, mine["id"].as_str()), (200, Some("service-desk")));
    let (status, _, _) = app
        .call(
            "DELETE",
            "/api/v1/queues/service-desk/members/alice",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = app.get("/api/v1/queues/service-desk", &alice).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _, _) = app
        .call(
            "DELETE",
            "/api/v1/queues/service-desk/members/alice",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 404, "deleting twice finds nothing");
}

async fn non_admins_are_refused_and_nothing_changes(app: TestApp) {
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let before = (
        queues::Entity::find().all(&app.db).await.unwrap(),
        analysts::Entity::find().all(&app.db).await.unwrap(),
        queue_members::Entity::find().all(&app.db).await.unwrap(),
    );
    let callers = [
        ("user", app.token("emma", Role::User)),
        ("analyst", app.token("alice", Role::Analyst)),
    ];
    let attempts = [
        (
            "PUT",
            "/api/v1/queues/service-desk",
            json!({"name": "Hijacked", "routing": "manual"}),
        ),
        (
            "PUT",
            "/api/v1/queues/new-queue",
            json!({"name": "New", "routing": "auto"}),
        ),
        (
            "PUT",
            "/api/v1/analysts/alice",
            json!({"name": "Mallory", "capacity": 99}),
        ),
        (
            "PUT",
            "/api/v1/analysts/mallory",
            json!({"name": "Mallory"}),
        ),
        (
            "PUT",
            "/api/v1/queues/service-desk/members/alice",
            json!({"role": "manager"}),
        ),
        (
            "DELETE",
            "/api/v1/queues/service-desk/members/alice",
            json!(null),
        ),
    ];
    for (who, token) in &callers {
        for (method, path, body) in &attempts {
            let body = (!body.is_null()).then(|| body.clone());
            let (status, problem, content_type) = app.call(method, path, Some(token), body).await;
            assert_eq!(status, 403, "{who} {method} {path}: {problem}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(problem["code"], "forbidden");
            assert!(
                problem["detail"].is_string()
                    && problem["title"].is_string()
                    && problem["type"].is_string()
            );
        }
    }
    let after = (
        queues::Entity::find().all(&app.db).await.unwrap(),
        analysts::Entity::find().all(&app.db).await.unwrap(),
        queue_members::Entity::find().all(&app.db).await.unwrap(),
    );
    assert_eq!(before, after, "nothing changed");
}

async fn bad_provisioning_input_is_refused_with_the_reason(app: TestApp) {
    let admin = app.admin();
    let cases = [
        (
            "/api/v1/queues/bad%20id",
            json!({"name": "X", "routing": "auto"}),
            "queue id",
        ),
        ("/api/v1/queues/q1", json!({"routing": "auto"}), "name"),
        (
            "/api/v1/queues/q1",
            json!({"name": "X", "routing": "round-robin"}),
            "routing",
        ),
        (
            "/api/v1/queues/q1",
            json!({"name": "X", "routing": "auto", "sla_answer_secs": 0}),
            "sla_answer_secs",
        ),
        (
            "/api/v1/queues/q1",
            json!({"name": "X", "routing": "auto", "colour": "red"}),
            "colour",
        ),
        (
            "/api/v1/analysts/a1",
            json!({"name": "A", "capacity": 0}),
            "capacity",
        ),
        (
            "/api/v1/analysts/a1",
            json!({"name": "A", "role": "admin"}),
            "role",
        ),
        (
            "/api/v1/queues/nope/members/a1",
            json!({"role": "analyst"}),
            "queue nope",
        ),
    ];
    for (path, body, mentions) in cases {
        let (status, problem) = app.put(path, &admin, body).await;
        assert!(status == 400 || status == 404, "{path}: {status} {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(mentions),
            "{path}: {detail:?} should mention {mentions}"
        );
    }
    assert_eq!(queues::Entity::find().count(&app.db).await.unwrap(), 0);
    assert_eq!(analysts::Entity::find().count(&app.db).await.unwrap(), 0);
}

async fn health_and_readiness_answer(app: TestApp) {
    let (status, body, _) = app.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["checks"]["database"], "ok");
}

async fn concurrent_provisioning_all_succeeds(app: TestApp) {
    let admin = app.admin();
    let puts = (0..12).map(|i| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let queue = app
                .put(
                    &format!("/api/v1/queues/q{}", i % 3),
                    &admin,
                    json!({"name": format!("Queue {i}"), "routing": "auto"}),
                )
                .await;
            let analyst = app
                .put(
                    &format!("/api/v1/analysts/a{i}"),
                    &admin,
                    json!({"name": format!("Analyst {i}")}),
                )
                .await;
            let member = app
                .put(
                    &format!("/api/v1/queues/q{}/members/a{i}", i % 3),
                    &admin,
                    json!({"role": "analyst"}),
                )
                .await;
            [queue.0, analyst.0, member.0]
        }
    });
    for statuses in futures_util::future::join_all(puts).await {
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 201),
            "{statuses:?}"
        );
    }
    assert_eq!(queues::Entity::find().count(&app.db).await.unwrap(), 3);
    assert_eq!(
        queue_members::Entity::find().count(&app.db).await.unwrap(),
        12
    );
}

// A server-wide offer timeout unlike the shipped default, so the queue default is seen to follow it.
on_both_databases!(
    with [("ROUTING__OFFER_TIMEOUT_SECS", "7")];
    concurrent_provisioning_all_succeeds,
    admin_creates_queue_analyst_and_membership_and_reads_them_back,
    non_admins_are_refused_and_nothing_changes,
    bad_provisioning_input_is_refused_with_the_reason,
    health_and_readiness_answer,
);
