//! Identity from the host's identity provider (contract §10.3) against the real server: the test
//! generates an RSA and an EC P-256 key, serves their JWKS from a local actix-web server on port 0,
//! and signs RS256 and ES256 tokens with them. Accepted: both, with the role taken from a nested
//! array claim and the name from another claim; HS256 with the configured `iss`/`aud`. Refused:
//! an unknown `kid`, a wrong `iss` or `aud`, an expired token, an HS256 token signed with the
//! public key as its secret, a token whose `alg` does not match its key, no known role or a bad
//! `sub` (403). A key rotated on the endpoint is picked up, refetches are rate limited, and
//! `/readyz` is 503 until the first fetch succeeds. `auth.jwks_file` works the same. Every server
//! test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Db, TestApp, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use switchboard::auth::{Claims, JwtKeys};
use switchboard::domain::Role;

const ISSUER: &str = "http://idp.test/realms/desk";
const AUDIENCE: &str = "switchboard";

/// A signing key of the test's identity provider: its private half and its public JWK.
struct IdpKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
    /// The public key's bytes, for the "public key as HMAC secret" attack.
    public_bytes: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_key(kid: &str) -> IdpKey {
    use rsa::Generate;
    use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::traits::PublicKeyParts;
    let private = rsa::PrivateKey::generate();
    let public = private.to_public_key();
    IdpKey {
        kid: kid.into(),
        alg: Algorithm::RS256,
        encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64(&public.n_bytes()), "e": b64(&public.e_bytes())}),
        public_bytes: public.to_pkcs1_der().unwrap().as_bytes().to_vec(),
    }
}

fn ec_key(kid: &str) -> IdpKey {
    use p256::pkcs8::EncodePrivateKey;
    let signing = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()).unwrap();
    let point = signing.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    IdpKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(signing.to_pkcs8_der().unwrap().as_bytes()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])}),
        public_bytes: bytes.to_vec(),
    }
}

/// Keys made once for the whole file (RSA generation is slow in debug builds).
static RSA_1: LazyLock<IdpKey> = LazyLock::new(|| rsa_key("rsa-1"));
static RSA_2: LazyLock<IdpKey> = LazyLock::new(|| rsa_key("rsa-2"));
static EC_1: LazyLock<IdpKey> = LazyLock::new(|| ec_key("ec-1"));
/// Not published: signs tokens that claim `ec-1`'s kid.
static EC_ROGUE: LazyLock<IdpKey> = LazyLock::new(|| ec_key("ec-1"));

fn jwks(keys: &[&IdpKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// The identity provider's JWKS endpoint: answers what the test sets, counts its requests.
#[derive(Clone)]
struct Idp {
    url: String,
    answer: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(status: u16, body: Value) -> Idp {
        let answer = Arc::new(Mutex::new((status, body.to_string())));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (a, h) = (a.clone(), h.clone());
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    let (a, h) = (a.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = a.lock().unwrap().clone();
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                            .content_type("application/json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        Idp {
            url: format!("http://{addr}/jwks"),
            answer,
            hits,
        }
    }

    fn serve(&self, status: u16, body: Value) {
        *self.answer.lock().unwrap() = (status, body.to_string());
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The engine, configured for the identity provider: role from `realm_access.roles`, name from
/// `preferred_username`, issuer and audience checked, refetches at most once a second. The test's
/// own HS256 tokens (`app.token`) carry the issuer and audience, as `switchboard token`'s do.
async fn engine(kind: Db, idp: &Idp) -> Option<TestApp> {
    let mut app = spawn_app_with(
        kind,
        &[
            ("AUTH__JWKS_URL", &idp.url),
            ("AUTH__JWKS_MIN_REFETCH_SECS", "1"),
            ("AUTH__ISSUER", ISSUER),
            ("AUTH__AUDIENCE", AUDIENCE),
            ("AUTH__ROLE_CLAIM", "realm_access.roles"),
            ("AUTH__NAME_CLAIM", "preferred_username"),
        ],
    )
    .await?;
    app.keys = JwtKeys::from_settings(&app.settings.auth);
    Some(app)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims as the identity provider issues them.
fn idp_claims(sub: &str, roles: Value) -> Value {
    json!({"sub": sub, "iss": ISSUER, "aud": ["account", AUDIENCE], "exp": now() + 600,
        "realm_access": {"roles": roles}, "preferred_username": format!("{sub} from the IdP")})
}

fn sign(key: &IdpKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn signed(key: &IdpKey, claims: &Value) -> String {
    sign(key, Some(&key.kid), claims)
}

/// An HS256 token signed with `secret` (any bytes).
fn hs256(kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

async fn me(app: &TestApp, token: &str) -> (u16, Value) {
    app.get("/api/v1/me", token).await
}

async fn wait_ready(app: &TestApp) -> Value {
    for _ in 0..100 {
        let (status, body, _) = app.call("GET", "/readyz", None, None).await;
        if status == 200 {
            return body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never ready");
}

async fn rs256_es256_and_configured_hs256_tokens_are_accepted(kind: Db) {
    let idp = Idp::start(200, jwks(&[&RSA_1, &EC_1])).await;
    let Some(app) = engine(kind, &idp).await else {
        return;
    };
    let ready = wait_ready(&app).await;
    assert_eq!(ready["checks"]["identity"], "ok");
    let (status, body) = me(
        &app,
        &signed(
            &RSA_1,
            &idp_claims("emma", json!(["offline_access", "user"])),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"id": "emma", "name": "emma from the IdP", "role": "user"})
    );
    let (status, body) = me(&app, &signed(&EC_1, &idp_claims("ops", json!(["admin"])))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "admin");
    // A user's socket, signed by the identity provider.
    app.provision("service-desk", "manual", &[], 3).await;
    let mut emma = app
        .ws(&signed(&RSA_1, &idp_claims("emma", json!(["user"]))))
        .await;
    assert_eq!(emma.hello["user"]["name"], "emma from the IdP");
    emma.ok(json!({"type": "start_chat", "queue_id": "service-desk", "call_ref": "INC7"}))
        .await;
    // The service role from the array reaches the calls routes, and only them.
    let bridge = signed(&EC_1, &idp_claims("crm-bridge", json!(["service"])));
    let (status, found) = app.get("/api/v1/calls?external_ref=INC7", &bridge).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["calls"][0]["user"]["id"], "emma");
    assert_eq!(app.ws_with(&bridge, None).await.err(), Some(403));
    // HS256 still works with the configured secret, and carries iss/aud (as `switchboard token`
    // signs them); without them it is refused.
    let claims = Claims {
        sub: "gina".into(),
        role: Role::User,
        name: "Gina".into(),
        exp: now() + 600,
    };
    assert_eq!(me(&app, &app.keys.sign(&claims).unwrap()).await.0, 200);
    let plain = JwtKeys::new(&app.settings.auth.jwt_secret);
    assert_eq!(me(&app, &plain.sign(&claims).unwrap()).await.0, 401);
}

async fn forged_and_mismatched_tokens_are_refused(kind: Db) {
    let idp = Idp::start(200, jwks(&[&RSA_1, &EC_1])).await;
    let Some(app) = engine(kind, &idp).await else {
        return;
    };
    wait_ready(&app).await;
    let good = idp_claims("emma", json!(["user"]));
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let secret = app.settings.auth.jwt_secret.as_bytes().to_vec();
    let rsa_n = RSA_1.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let cases = [
        ("unknown kid", sign(&RSA_1, Some("rsa-9"), &good)),
        (
            "wrong issuer",
            signed(&RSA_1, &with("iss", json!("http://evil.test"))),
        ),
        ("no issuer", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("iss");
            signed(&RSA_1, &c)
        }),
        (
            "wrong audience",
            signed(&EC_1, &with("aud", json!("other-app"))),
        ),
        ("expired", signed(&EC_1, &with("exp", json!(now() - 1)))),
        ("signed by a key not in the set", signed(&EC_ROGUE, &good)),
        ("rs256 naming the ec key", sign(&RSA_1, Some("ec-1"), &good)),
        (
            "es256 naming the rsa key",
            sign(&EC_1, Some("rsa-1"), &good),
        ),
        (
            "hs256 with the rsa public key as secret",
            hs256(Some("rsa-1"), &good, &RSA_1.public_bytes),
        ),
        (
            "hs256 with the ec public key as secret",
            hs256(Some("ec-1"), &good, &EC_1.public_bytes),
        ),
        (
            "hs256 with the jwk modulus as secret",
            hs256(Some("rsa-1"), &good, &rsa_n),
        ),
        ("hs256 with the secret but no audience", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("aud");
            hs256(None, &c, &secret)
        }),
    ];
    for (what, token) in cases {
        let (status, body) = me(&app, &token).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["code"], "unauthorized", "{what}");
    }
    // Genuine tokens naming nobody Switchboard serves: 403.
    for (what, claims) in [
        (
            "no known role",
            idp_claims("emma", json!(["offline_access", "uma_authorization"])),
        ),
        ("role claim missing", with("realm_access", json!({}))),
        (
            "sub outside the id syntax",
            idp_claims("emma smith", json!(["user"])),
        ),
    ] {
        let (status, body) = me(&app, &signed(&RSA_1, &claims)).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert_eq!(body["code"], "forbidden", "{what}");
    }
}

async fn a_key_rotated_on_the_endpoint_is_picked_up(kind: Db) {
    let idp = Idp::start(200, jwks(&[&RSA_1])).await;
    let Some(app) = engine(kind, &idp).await else {
        return;
    };
    wait_ready(&app).await;
    let claims = idp_claims("emma", json!(["user"]));
    assert_eq!(me(&app, &signed(&RSA_1, &claims)).await.0, 200);
    // The provider rotates: rsa-2 replaces rsa-1.
    idp.serve(200, jwks(&[&RSA_2]));
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    let before = idp.hits();
    let (status, body) = me(&app, &signed(&RSA_2, &claims)).await;
    assert_eq!(status, 200, "the new kid makes the engine refetch: {body}");
    assert_eq!(idp.hits(), before + 1);
    // The retired key no longer verifies, and unknown kids reach the provider at most once per
    // auth.jwks_min_refetch_secs (1 s here; the busy test machine may stretch the loop past it).
    let started = std::time::Instant::now();
    assert_eq!(me(&app, &signed(&RSA_1, &claims)).await.0, 401);
    for _ in 0..5 {
        assert_eq!(me(&app, &sign(&RSA_2, Some("nope"), &claims)).await.0, 401);
    }
    let extra = idp.hits() - (before + 1);
    let allowed = started.elapsed().as_secs() as usize + 1;
    assert!(
        extra <= allowed,
        "{extra} refetches for 6 unknown kids in {:?}",
        started.elapsed()
    );
}

async fn readyz_is_503_until_the_first_fetch_succeeds(kind: Db) {
    let idp = Idp::start(500, json!({"error": "starting"})).await;
    let Some(app) = engine(kind, &idp).await else {
        return;
    };
    let (status, body, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["identity"], "not_loaded");
    let token = signed(&EC_1, &idp_claims("emma", json!(["user"])));
    assert_eq!(me(&app, &token).await.0, 401, "no keys yet");
    // The provider comes up: the engine's retry (every auth.jwks_min_refetch_secs) loads the keys.
    idp.serve(200, jwks(&[&EC_1]));
    let ready = wait_ready(&app).await;
    assert_eq!(ready["checks"]["identity"], "ok");
    assert_eq!(me(&app, &token).await.0, 200);
}

async fn a_jwks_file_serves_as_the_key_set(kind: Db) {
    let dir = std::env::temp_dir().join(format!("switchboard-jwks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, jwks(&[&EC_1]).to_string()).unwrap();
    let path = file.to_string_lossy().to_string();
    let Some(app) = spawn_app_with(kind, &[("AUTH__JWKS_FILE", &path)]).await else {
        return;
    };
    let (status, body, _) = app.call("GET", "/readyz", None, None).await;
    assert_eq!(status, 200, "read at start: {body}");
    let mut claims = json!({"sub": "emma", "role": "user", "name": "Emma", "exp": now() + 600});
    assert_eq!(me(&app, &signed(&EC_1, &claims)).await.0, 200);
    claims["role"] = json!(["manager-ish", "user"]);
    assert_eq!(
        me(&app, &signed(&EC_1, &claims)).await.0,
        200,
        "an array role claim"
    );
    assert_eq!(me(&app, &signed(&RSA_1, &claims)).await.0, 401);
    std::fs::remove_dir_all(&dir).unwrap();
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[actix_web::test] async fn $name() { super::$name(super::Db::Sqlite).await } )+ }
        mod postgres { $( #[actix_web::test] async fn $name() { super::$name(super::Db::Postgres).await } )+ }
    };
}

on_both!(
    rs256_es256_and_configured_hs256_tokens_are_accepted,
    forged_and_mismatched_tokens_are_refused,
    a_key_rotated_on_the_endpoint_is_picked_up,
    readyz_is_503_until_the_first_fetch_succeeds,
    a_jwks_file_serves_as_the_key_set,
);

#[test]
fn a_bad_jwks_file_or_two_key_sources_stop_start_up() {
    let missing = std::env::temp_dir().join("switchboard-no-such-jwks.json");
    let settings = common::test_settings(
        "sqlite::memory:",
        &[("AUTH__JWKS_FILE", missing.to_str().unwrap())],
    );
    let err = switchboard::auth::Jwks::from_settings(&settings.auth).unwrap_err();
    assert!(err.contains("auth.jwks_file"), "{err}");
    let both = switchboard::settings::Settings::load_from(&switchboard::settings::SettingsSource {
        config_dir: common::config_dir(),
        profile: "test".into(),
        env: [
            ("SWITCHBOARD__AUTH__JWKS_URL", "http://127.0.0.1:1/jwks"),
            ("SWITCHBOARD__AUTH__JWKS_FILE", "/tmp/jwks.json"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    });
    assert!(both.is_err());
}
