//! Cluster mode's foundation (contract §11) with real processes, real PostgreSQL and real NATS:
//! three nodes elect exactly one leader, which alone routes (every node is ready and names it;
//! standbys forward HTTP to it, see tests/cluster_http.rs, and relay WebSockets to it, see
//! tests/cluster_sessions.rs);
//! `kill -9` of the leader hands the lease to another node under the next epoch within 5 s, and it
//! routes the chats that were waiting; a leader paused (SIGSTOP) past its lease has its writes
//! refused and steps down when it resumes; the database refuses a stale epoch's transaction by
//! itself; SQLite with `cluster.nats_url` refuses to start. Each test has its own database and
//! cluster name. Tests needing NATS or PostgreSQL are ignored when built with
//! `SWITCHBOARD_TEST_NATS=0` or `SWITCHBOARD_TEST_PG=0` (never on CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::cluster::{
    SETTLE, cluster, get, index, leader, live, on_the_leader, unique_name, until_leading,
    wait_for_lease, wait_for_status,
};
use common::{Db, TestApp, TestDb};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use serde_json::json;
use switchboard::domain::Role;
use switchboard::store::lease::{self, Fence};

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn three_nodes_elect_exactly_one_leader_and_every_node_is_ready_naming_it() {
    let (name, nodes, app) = cluster(3).await;
    let (at, epoch) = leader(&app, &name, &nodes).await;
    let holder = format!("node-{at}");
    let admin = app.admin();
    for node in &nodes {
        let start = Instant::now();
        let view = loop {
            let (status, view) = get(&node.base, "/api/v1/cluster", &admin).await;
            assert_eq!(status, 200, "{view}");
            if view["nodes"].as_array().unwrap().len() == 3 {
                break view;
            }
            assert!(start.elapsed() < SETTLE, "not every node heard: {view}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(view["leader"], holder);
        assert_eq!(view["epoch"], epoch);
        let listed = view["nodes"].as_array().unwrap();
        let leaders: Vec<_> = listed.iter().filter(|n| n["leader"] == true).collect();
        assert_eq!(leaders.len(), 1, "{view}");
        assert_eq!(leaders[0]["id"], holder);
        for (i, n) in listed.iter().enumerate() {
            assert_eq!(n["id"], format!("node-{i}"));
            assert_eq!(
                n["address"].as_str().unwrap(),
                nodes[i].base.trim_start_matches("http://")
            );
            common::assert_rfc3339_ms(&n["last_seen"]);
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        // Every node is ready: the leader routes, a standby forwards to it.
        let ready = wait_for_status(&node.base, "/readyz", "", 200, SETTLE).await;
        let role = if i == at { "leader" } else { "standby" };
        assert_eq!(ready["status"], "ok", "{ready}");
        assert_eq!(ready["checks"]["cluster"], role, "{ready}");
        assert_eq!(ready["checks"]["leader"], holder, "{ready}");
        // A standby relays `/ws` to the leader: tests/cluster_sessions.rs.
    }
    // Renewals keep it: past a whole lease, the same node leads under the same epoch.
    tokio::time::sleep(Duration::from_millis(app_lease_ms() + 500)).await;
    let row = common::cluster::lease(&app.db, &name).await.unwrap();
    assert_eq!((row.holder.as_str(), row.epoch), (holder.as_str(), epoch));
    assert!(live(&row));
}

/// `cluster.lease_ms` as the nodes run it (the default).
fn app_lease_ms() -> u64 {
    common::test_settings("postgres://unused", &[])
        .cluster
        .lease_ms
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn kill_9_of_the_leader_hands_routing_to_another_node_within_5_s() {
    let (name, mut nodes, mut app) = cluster(3).await;
    let (at, epoch) = leader(&app, &name, &nodes).await;
    app.repoint(&nodes[at].base);
    app.provision("service-desk", "auto", &[("alice", "analyst")], 2)
        .await;
    let mut emma = app.ws(&app.token("emma", Role::User)).await;
    let waiting = emma
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let waiting_id = waiting["chat_id"].as_str().unwrap().to_string();

    nodes[at].kill_9();
    let killed = Instant::now();
    let row = wait_for_lease(&app.db, &name, SETTLE, |r| r.epoch > epoch && live(r)).await;
    let failover = killed.elapsed();
    eprintln!("failover: {failover:?} to {}", row.holder);
    assert!(failover < Duration::from_secs(5), "took {failover:?}");
    assert_eq!(row.epoch, epoch + 1, "one takeover, one epoch");
    let next = index(&row.holder);
    assert_ne!(next, at);

    // The new leader rebuilt the queue from PostgreSQL: the chat that waited goes to alice.
    until_leading(&nodes[next].base).await;
    app.repoint(&nodes[next].base);
    let mut alice = app.available("alice").await;
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], waiting_id);
    // And it routes new chats.
    let mut omar = app.ws(&app.token("omar", Role::User)).await;
    let started = omar
        .ok(json!({"type": "start_chat", "queue_id": "service-desk"}))
        .await;
    let assigned = alice.expect("chat_assigned").await;
    assert_eq!(assigned["chat"]["chat_id"], started["chat_id"]);
    use entities::chats;
    let active = chats::Entity::find()
        .filter(chats::Column::AnalystId.eq("alice"))
        .filter(chats::Column::State.eq("active"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(active.len(), 2, "{active:?}");
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_leader_paused_past_its_lease_has_its_writes_refused_and_steps_down() {
    let (name, mut nodes, mut app) = cluster(2).await;
    let (at, epoch, _alice, mut emma) = on_the_leader(&mut app, &name, &nodes).await;

    nodes[at].pause();
    // Sent while it is frozen: it reads the start once it resumes, as a stale leader.
    emma.send_text(
        &json!({"type": "start_chat", "queue_id": "service-desk", "ref": "late"}).to_string(),
    )
    .await;
    let row = wait_for_lease(&app.db, &name, SETTLE, |r| r.epoch > epoch && live(r)).await;
    assert_eq!(row.epoch, epoch + 1);
    assert_ne!(index(&row.holder), at);
    nodes[at].resume();

    let status = nodes[at].exited().await;
    assert!(
        !status.success(),
        "a node that lost its lease exits with an error"
    );
    assert!(nodes[at].logged("lost the cluster lease"));
    // Whatever it answered, the start was not stored, and nobody was assigned by it.
    while let Some(frame) = emma.next_within(Duration::from_millis(500)).await {
        assert!(
            !(frame["ref"] == "late" && frame["type"] == "ok"),
            "the stale leader acknowledged a start: {frame}"
        );
    }
    use entities::chats;
    let stored = chats::Entity::find()
        .filter(chats::Column::UserId.eq("emma"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(stored.is_empty(), "the stale leader stored {stored:?}");
    let after = common::cluster::lease(&app.db, &name).await.unwrap();
    assert_eq!((after.holder, after.epoch), (row.holder, row.epoch));
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_takeover_during_the_leaders_transaction_makes_the_database_refuse_it() {
    let (name, mut nodes, mut app) = cluster(1).await;
    let (at, epoch, _alice, mut emma) = on_the_leader(&mut app, &name, &nodes).await;
    // Right after a renewal, so the leader still believes in its lease for a while.
    let renewed = common::cluster::lease(&app.db, &name).await.unwrap();
    wait_for_lease(&app.db, &name, SETTLE, |r| {
        r.expires_at > renewed.expires_at
    })
    .await;
    // Another party holds the lease row: the leader's next transaction waits at its fence.
    use sea_orm::TransactionTrait;
    let takeover = app.db.begin().await.unwrap();
    takeover
        .execute_unprepared(&format!(
            "SELECT * FROM cluster_lease WHERE name = '{name}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let start = json!({"type": "start_chat", "queue_id": "service-desk"});
    let (reply, ()) = tokio::join!(emma.try_cmd(start), async {
        until_a_write_waits_at_its_fence(&app).await;
        // It takes the lease under the next epoch while the leader's transaction waits.
        takeover
            .execute_unprepared(&format!(
                "UPDATE cluster_lease SET holder = 'intruder', epoch = epoch + 1, \
                 expires_at = now() + interval '1 hour' WHERE name = '{name}'"
            ))
            .await
            .unwrap();
        takeover.commit().await.unwrap();
    });
    let reply = reply.expect("the leader answers the start");
    assert_eq!(
        (&reply["type"], &reply["code"]),
        (&json!("error"), &json!("unavailable")),
        "{reply}"
    );
    use entities::chats;
    let stored = chats::Entity::find().all(&app.db).await.unwrap();
    assert!(stored.is_empty(), "stored under a stale epoch: {stored:?}");
    let status = nodes[at].exited().await;
    assert!(!status.success());
    let after = common::cluster::lease(&app.db, &name).await.unwrap();
    assert_eq!(
        (after.holder.as_str(), after.epoch),
        ("intruder", epoch + 1)
    );
}

/// Waits until a transaction of a node waits at its fence (the lease row, `FOR SHARE`).
async fn until_a_write_waits_at_its_fence(app: &TestApp) {
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE datname = current_database() AND wait_event_type = 'Lock' \
                   AND query LIKE '%FOR SHARE%'";
    let stmt = sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, waiting);
    let began = Instant::now();
    loop {
        let row = app.db.query_one_raw(stmt.clone()).await.unwrap().unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            return;
        }
        assert!(
            began.elapsed() < SETTLE,
            "the leader's write never reached its fence"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
#[cfg_attr(
    any(switchboard_no_pg, switchboard_no_nats),
    ignore = "needs PostgreSQL and NATS: built with SWITCHBOARD_TEST_PG=0 or SWITCHBOARD_TEST_NATS=0"
)]
async fn a_leader_paused_inside_a_transaction_does_not_hold_back_the_takeover() {
    let (name, mut nodes, mut app) = cluster(2).await;
    let (at, epoch, _alice, mut emma) = on_the_leader(&mut app, &name, &nodes).await;
    // Hold the leader's next transaction at its fence, freeze the leader, then let the
    // transaction through: it now sits idle, holding the lease row `FOR SHARE`.
    use sea_orm::TransactionTrait;
    let holder = app.db.begin().await.unwrap();
    holder
        .execute_unprepared(&format!(
            "SELECT * FROM cluster_lease WHERE name = '{name}' FOR UPDATE"
        ))
        .await
        .unwrap();
    emma.send_text(
        &json!({"type": "start_chat", "queue_id": "service-desk", "ref": "late"}).to_string(),
    )
    .await;
    until_a_write_waits_at_its_fence(&app).await;
    nodes[at].pause();
    holder.rollback().await.unwrap();
    // The server ends the frozen leader's idle transaction, and the standby takes over.
    let row = wait_for_lease(&app.db, &name, SETTLE, |r| r.epoch > epoch && live(r)).await;
    assert_eq!(row.epoch, epoch + 1);
    assert_ne!(index(&row.holder), at);
    nodes[at].resume();
    let status = nodes[at].exited().await;
    assert!(!status.success());
    while let Some(frame) = emma.next_within(Duration::from_millis(500)).await {
        assert!(
            !(frame["ref"] == "late" && frame["type"] == "ok"),
            "the stale leader acknowledged a start: {frame}"
        );
    }
    use entities::chats;
    let stored = chats::Entity::find().all(&app.db).await.unwrap();
    assert!(stored.is_empty(), "the stale leader stored {stored:?}");
}

#[actix_web::test]
#[cfg_attr(
    switchboard_no_pg,
    ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0"
)]
async fn the_database_refuses_a_transaction_under_a_stale_epoch() {
    let test_db = TestDb::create(Db::Postgres).await.unwrap();
    let db = Database::connect(&test_db.url).await.unwrap();
    switchboard::store::migrate(&db).await.unwrap();
    let name = unique_name();
    assert_eq!(
        lease::acquire(&db, &name, "a", 3000).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        lease::acquire(&db, &name, "b", 3000).await.unwrap(),
        None,
        "a holds it"
    );
    assert!(lease::renew(&db, &name, "a", 1, 3000).await.unwrap());
    // `a` believes it may decide for a minute: only the database can stop it.
    let a = Fence::new(name.clone());
    a.hold(1, Instant::now() + Duration::from_secs(60));
    let check = async |fence: &Fence| {
        use sea_orm::TransactionTrait;
        let txn = db.begin().await.unwrap();
        let result = lease::check(&txn, fence).await;
        txn.rollback().await.unwrap();
        result
    };
    assert!(check(&a).await.is_ok());
    db.execute_unprepared(&format!(
        "UPDATE cluster_lease SET expires_at = now() - interval '1 second' WHERE name = '{name}'"
    ))
    .await
    .unwrap();
    assert!(check(&a).await.is_err(), "a lapsed lease fences its holder");
    assert_eq!(
        lease::acquire(&db, &name, "b", 3000).await.unwrap(),
        Some(2)
    );
    let refused = check(&a).await.unwrap_err();
    assert_eq!(refused.code.as_str(), "unavailable");
    assert!(!lease::renew(&db, &name, "a", 1, 3000).await.unwrap());
    let b = Fence::new(name.clone());
    b.hold(2, Instant::now() + Duration::from_secs(60));
    assert!(check(&b).await.is_ok());
    // A fence that holds nothing (a standby) is refused before the database is asked.
    assert!(check(&Fence::new(name.clone())).await.is_err());
}

#[test]
fn sqlite_with_a_nats_url_refuses_to_start_with_one_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("SWITCHBOARD_ENV", "test")
        .env("SWITCHBOARD_CONFIG_DIR", common::config_dir())
        .env("SWITCHBOARD__DATABASE__URL", "sqlite://unused.db?mode=rwc")
        .env("SWITCHBOARD__SERVER__BIND", "127.0.0.1:0")
        .env("SWITCHBOARD__CLUSTER__NATS_URL", common::cluster::NATS_URL)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cluster.nats_url"), "{stderr}");
    assert!(stderr.contains("needs PostgreSQL"), "{stderr}");
    assert!(!std::path::Path::new("unused.db").exists());
}

#[actix_web::test]
async fn a_single_node_answers_that_cluster_mode_is_off() {
    let app = common::spawn_app(Db::Sqlite).await.unwrap();
    let (status, body) = app.get("/api/v1/cluster", &app.admin()).await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("not_found")),
        "{body}"
    );
    let (status, _) = app
        .get("/api/v1/cluster", &app.token("alice", Role::Analyst))
        .await;
    assert_eq!(status, 403);
    let (status, ready) = get(&app.base, "/readyz", "").await;
    assert_eq!(
        (status, &ready["checks"]["cluster"]),
        (200, &json!(null)),
        "{ready}"
    );
}
