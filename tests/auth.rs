//! Authentication against the real server: HS256 tokens accepted; bad signature, expiry, missing
//! `exp`, `alg: none` and unknown roles refused; `exp` beyond `auth.max_token_ttl_secs` and `nbf`
//! beyond `auth.leeway_secs` refused; the bearer scheme in any case; JSON bodies only with the
//! `application/json` media type; unknown analysts forbidden; tickets and the dev token route;
//! `switchboard token` output verifies, and a `--ttl` past the maximum is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Db, TestApp, spawn_app_with};
use serde_json::{Value, json};
use switchboard::auth::JwtKeys;
use switchboard::domain::Role;

/// A token with hand-made header and claims, signed with `secret`.
fn forge(header: &Value, claims: &Value, secret: &str) -> String {
    use hmac::{Hmac, Mac};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

async fn me_status(app: &TestApp, token: &str) -> (u16, Value) {
    app.get("/api/v1/me", token).await
}

async fn valid_token_is_accepted(app: TestApp) {
    let (status, body) = me_status(&app, &app.token("emma", Role::User)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": "emma", "name": "Emma Test", "role": "user"})
    );
}

async fn refused_tokens_get_401_problem_json(app: TestApp) {
    let secret = app.settings.auth.jwt_secret.clone();
    let future = chrono::Utc::now().timestamp() + 600;
    let past = chrono::Utc::now().timestamp() - 1;
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let claims = |exp: Value| json!({"sub": "emma", "role": "user", "name": "Emma", "exp": exp});
    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(json!(future)).to_string())
    );
    let cases = [
        (
            "bad signature",
            forge(&hs256, &claims(json!(future)), "not-the-secret"),
        ),
        ("expired", forge(&hs256, &claims(json!(past)), &secret)),
        (
            "missing exp",
            forge(
                &hs256,
                &json!({"sub": "emma", "role": "user", "name": "Emma"}),
                &secret,
            ),
        ),
        ("alg none", none_token),
        (
            "alg HS512",
            forge(&json!({"alg": "HS512"}), &claims(json!(future)), &secret),
        ),
        ("garbage", "not.a.jwt".to_string()),
    ];
    for (what, token) in cases {
        let (status, body, content_type) = app.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(content_type, "application/problem+json", "{what}");
        assert_eq!(body["code"], "unauthorized", "{what}");
        assert_eq!(body["status"], 401, "{what}");
    }
    let (status, body, _) = app.call("GET", "/api/v1/me", None, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    // A genuine token that names no known role, or a sub outside the id syntax: 403 (§10.3).
    for claims in [
        json!({"sub": "emma", "role": "superuser", "name": "Emma", "exp": future}),
        json!({"sub": "emma smith", "role": "user", "name": "Emma", "exp": future}),
    ] {
        let token = forge(&hs256, &claims, &secret);
        let (status, body, _) = app.call("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("forbidden")),
            "{claims}"
        );
    }
}

/// A token for emma with the given time claims, signed with the server's secret.
fn timed_token(app: &TestApp, exp: i64, nbf: Option<i64>) -> String {
    let mut claims = json!({"sub": "emma", "role": "user", "name": "Emma", "exp": exp});
    if let Some(nbf) = nbf {
        claims["nbf"] = json!(nbf);
    }
    forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        &app.settings.auth.jwt_secret,
    )
}

async fn assert_refused(app: &TestApp, what: &str, token: &str) {
    let (status, body, content_type) = app.call("GET", "/api/v1/me", Some(token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{what}: {body}"
    );
    assert_eq!(content_type, "application/problem+json", "{what}");
}

async fn token_lifetime_and_nbf_rules_hold(app: TestApp) {
    assert_eq!(app.settings.auth.max_token_ttl_secs, 86_400);
    assert_eq!(app.settings.auth.leeway_secs, 30);
    let now = chrono::Utc::now().timestamp();
    let day = 86_400;
    assert_refused(
        &app,
        "exp beyond max ttl",
        &timed_token(&app, now + day + 120, None),
    )
    .await;
    assert_refused(
        &app,
        "a year-long token",
        &timed_token(&app, now + 365 * day, None),
    )
    .await;
    let (status, body) = me_status(&app, &timed_token(&app, now + day - 60, None)).await;
    assert_eq!(status, 200, "just under max ttl: {body}");

    assert_refused(
        &app,
        "nbf beyond leeway",
        &timed_token(&app, now + 600, Some(now + 120)),
    )
    .await;
    let (status, body) = me_status(&app, &timed_token(&app, now + 600, Some(now + 10))).await;
    assert_eq!(status, 200, "nbf within leeway: {body}");
    let (status, body) = me_status(&app, &timed_token(&app, now + 600, Some(now - 60))).await;
    assert_eq!(status, 200, "nbf in the past: {body}");
}

/// `GET /api/v1/me` with a hand-written `Authorization` header.
async fn me_with_authorization(app: &TestApp, authorization: &str) -> u16 {
    awc::Client::default()
        .get(format!("{}/api/v1/me", app.base))
        .insert_header(("Authorization", authorization))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn the_bearer_scheme_is_case_insensitive(app: TestApp) {
    let token = app.token("emma", Role::User);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let status = me_with_authorization(&app, &format!("{scheme} {token}")).await;
        assert_eq!(status, 200, "{scheme}");
    }
    for refused in [
        format!("Basic {token}"),
        format!("Bearer{token}"),
        format!("Bearers {token}"),
        "bearer ".to_string(),
        token.clone(),
    ] {
        let status = me_with_authorization(&app, &refused).await;
        assert_eq!(status, 401, "{refused:?}");
    }
    let connected = awc::Client::new()
        .ws(format!("{}/ws", app.ws_base))
        .header("Authorization", format!("bearer {token}"))
        .connect()
        .await;
    match connected {
        Ok((res, _)) => assert_eq!(res.status().as_u16(), 101),
        Err(e) => panic!("lowercase bearer on /ws: {e}"),
    }
}

/// `PUT /api/v1/queues/{id}` as admin with a valid body and the given `Content-Type`.
async fn put_queue_as(app: &TestApp, id: &str, content_type: Option<&str>) -> (u16, Value, String) {
    let mut req = awc::Client::default()
        .put(format!("{}/api/v1/queues/{id}", app.base))
        .bearer_auth(app.admin());
    if let Some(content_type) = content_type {
        req = req.insert_header(("Content-Type", content_type));
    }
    let mut res = req
        .send_body(json!({"name": "Service Desk", "routing": "auto"}).to_string())
        .await
        .unwrap();
    let problem_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (res.status().as_u16(), body, problem_type)
}

async fn only_the_json_media_type_is_accepted_as_json(app: TestApp) {
    for refused in [
        Some("application/jsonfoo"),
        Some("application/json-patch+json"),
        Some("application/json+foo"),
        Some("application/vnd.api+json"),
        Some("application/json; charset=latin1"),
        Some("text/json"),
        Some("text/plain"),
        Some("application"),
        None,
    ] {
        let (status, body, content_type) = put_queue_as(&app, "refused", refused).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{refused:?}: {body}"
        );
        assert_eq!(content_type, "application/problem+json", "{refused:?}");
        assert_eq!(
            body["detail"], "content-type must be application/json",
            "{refused:?}"
        );
    }
    let (status, body) = app.get("/api/v1/queues/refused", &app.admin()).await;
    assert_eq!(status, 404, "nothing was created: {body}");
    for (i, accepted) in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body, _) = put_queue_as(&app, &format!("accepted-{i}"), Some(accepted)).await;
        assert_eq!(status, 201, "{accepted}: {body}");
    }
}

async fn analyst_missing_from_directory_is_forbidden(app: TestApp) {
    let (status, body) = me_status(&app, &app.token("ghost", Role::Analyst)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    app.provision("service-desk", "auto", &[("alice", "analyst")], 3)
        .await;
    let (status, body) = me_status(&app, &app.token("alice", Role::Analyst)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "offline");
    assert_eq!(body["capacity"], 3);
    assert_eq!(
        body["queues"],
        json!([{"queue_id": "service-desk", "role": "analyst"}])
    );
}

async fn ws_ticket_is_issued_for_thirty_seconds(app: TestApp) {
    let (status, body, _) = app
        .call(
            "POST",
            "/api/v1/ws-tickets",
            Some(&app.token("emma", Role::User)),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 30);
    assert!(body["ticket"].as_str().unwrap().len() >= 32);
    let (status, _, _) = app.call("POST", "/api/v1/ws-tickets", None, None).await;
    assert_eq!(status, 401);
}

async fn dev_token_route_is_absent_unless_enabled(app: TestApp) {
    let (status, _, _) = app
        .call(
            "POST",
            "/dev/token",
            None,
            Some(json!({"sub": "emma", "role": "user", "name": "Emma"})),
        )
        .await;
    assert_eq!(status, 404);
}

on_both_databases!(
    valid_token_is_accepted,
    refused_tokens_get_401_problem_json,
    token_lifetime_and_nbf_rules_hold,
    the_bearer_scheme_is_case_insensitive,
    only_the_json_media_type_is_accepted_as_json,
    analyst_missing_from_directory_is_forbidden,
    ws_ticket_is_issued_for_thirty_seconds,
    dev_token_route_is_absent_unless_enabled,
);

#[actix_web::test]
async fn dev_token_mints_a_working_token_when_enabled() {
    let app = spawn_app_with(Db::Sqlite, &[("AUTH__DEV_LOGIN", "true")])
        .await
        .unwrap();
    let (status, body, _) = app
        .call(
            "POST",
            "/dev/token",
            None,
            Some(json!({"sub": "emma", "role": "user", "name": "Emma Wilson"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, me) = app.get("/api/v1/me", body["token"].as_str().unwrap()).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("Emma Wilson")));
    let (status, body, _) = app
        .call(
            "POST",
            "/dev/token",
            None,
            Some(json!({"sub": "bad id!", "role": "user", "name": "X"})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
}

#[actix_web::test]
async fn configured_token_limits_reach_the_server() {
    let app = spawn_app_with(
        Db::Sqlite,
        &[
            ("AUTH__MAX_TOKEN_TTL_SECS", "600"),
            ("AUTH__LEEWAY_SECS", "0"),
        ],
    )
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    assert_refused(&app, "exp past 600 s", &timed_token(&app, now + 900, None)).await;
    assert_refused(
        &app,
        "nbf ahead with no leeway",
        &timed_token(&app, now + 300, Some(now + 20)),
    )
    .await;
    let (status, body) = me_status(&app, &timed_token(&app, now + 300, Some(now - 1))).await;
    assert_eq!(status, 200, "{body}");
}

#[test]
fn token_subcommand_refuses_a_ttl_past_the_maximum() {
    let run = |ttl: &str, max: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([
                "token", "--sub", "alice", "--role", "analyst", "--name", "Alice",
            ])
            .args(["--ttl", ttl])
            .env("SWITCHBOARD_ENV", "test")
            .env("SWITCHBOARD_CONFIG_DIR", common::config_dir())
            .env("SWITCHBOARD__AUTH__MAX_TOKEN_TTL_SECS", max)
            .output()
            .unwrap()
    };
    for (ttl, max) in [("2d", "86400"), ("86401", "86400"), ("8h", "3600")] {
        let out = run(ttl, max);
        assert!(!out.status.success(), "--ttl {ttl} with max {max}");
        assert!(out.stdout.is_empty(), "no token printed");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("auth.max_token_ttl_secs"), "{stderr}");
    }
    let out = run("1d", "86400");
    assert!(
        out.status.success(),
        "exactly the maximum: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn token_subcommand_prints_a_token_the_server_accepts() {
    let secret = "cli-test-secret-at-least-32-bytes-long";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "token",
            "--sub",
            "alice",
            "--role",
            "analyst",
            "--name",
            "Alice Smith",
            "--ttl",
            "30m",
        ])
        .env("SWITCHBOARD_ENV", "test")
        .env("SWITCHBOARD_CONFIG_DIR", common::config_dir())
        .env("SWITCHBOARD__AUTH__JWT_SECRET", secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let now = chrono::Utc::now().timestamp();
    let principal = JwtKeys::new(secret).verify(token.trim(), now).unwrap();
    assert_eq!(principal.name, "Alice Smith");
    assert_eq!(principal.role, Role::Analyst);
    assert!(
        JwtKeys::new(secret)
            .verify(token.trim(), now + 1801)
            .is_err(),
        "ttl respected"
    );
}
