//! An `https://` JWKS (contract §10.3, issue 15), on SQLite and PostgreSQL: the test generates a
//! self-signed certificate (`rcgen`), serves the identity provider's JWKS over TLS with it on port
//! 0, and signs ES256 tokens with a key it publishes there. With the certificate trusted through
//! `auth.jwks_ca_file`, the engine fetches the keys (`/readyz` 200) and accepts the token; without
//! it (the system's roots, which do not include the test's certificate) nothing is fetched, the
//! engine stays unready and the same token is refused: the server's certificate is checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Db, TestApp, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The identity provider: an EC P-256 signing key and its JWK.
struct Idp {
    encoding: EncodingKey,
    jwks: Value,
}

fn idp() -> Idp {
    use p256::pkcs8::EncodePrivateKey;
    let signing = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()).unwrap();
    let point = signing.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    Idp {
        encoding: EncodingKey::from_ec_der(signing.to_pkcs8_der().unwrap().as_bytes()),
        jwks: json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "tls-ec", "use": "sig",
            "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])}]}),
    }
}

/// Serves `jwks` at `https://127.0.0.1:{port}/jwks` with a fresh self-signed certificate for
/// 127.0.0.1 and localhost; answers the URL and the certificate's PEM file.
fn serve_tls(jwks: Value) -> (String, std::path::PathBuf) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let pem = std::env::temp_dir().join(format!("sb-jwks-ca-{}.pem", uuid::Uuid::now_v7()));
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let body = jwks.to_string();
    let server = HttpServer::new(move || {
        let body = body.clone();
        App::new().route(
            "/jwks",
            web::get().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind_rustls_0_23("127.0.0.1:0", config)
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (format!("https://{addr}/jwks"), pem)
}

fn token(idp: &Idp) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("tls-ec".into());
    let claims = json!({"sub": "tess", "role": "user", "name": "Tess over TLS",
        "exp": chrono::Utc::now().timestamp() + 600});
    jsonwebtoken::encode(&header, &claims, &idp.encoding).unwrap()
}

async fn readyz(app: &TestApp) -> u16 {
    app.call("GET", "/readyz", None, None).await.0
}

async fn an_https_jwks_is_fetched_when_its_ca_is_trusted(kind: Db) {
    let idp = idp();
    let (url, pem) = serve_tls(idp.jwks.clone());
    let pem = pem.to_string_lossy().to_string();

    let Some(app) = spawn_app_with(
        kind,
        &[("AUTH__JWKS_URL", &url), ("AUTH__JWKS_CA_FILE", &pem)],
    )
    .await
    else {
        return;
    };
    let mut ready = 0;
    for _ in 0..100 {
        ready = readyz(&app).await;
        if ready == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "the keys were fetched over https");
    let (status, me) = app.get("/api/v1/me", &token(&idp)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], "tess");

    // The same endpoint with only the system's roots: the certificate is not trusted.
    let Some(untrusted) = spawn_app_with(
        kind,
        &[
            ("AUTH__JWKS_URL", &url),
            ("AUTH__JWKS_MIN_REFETCH_SECS", "1"),
        ],
    )
    .await
    else {
        return;
    };
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        readyz(&untrusted).await,
        503,
        "an untrusted certificate: no keys"
    );
    let (status, body) = untrusted.get("/api/v1/me", &token(&idp)).await;
    assert_eq!(status, 401, "{body}");
}

mod tls {
    use super::*;

    for_each_database!(an_https_jwks_is_fetched_when_its_ca_is_trusted);
}
