//! Unit tests of `auth::jwt`: HS256 signing and verification, the time claims, `iss`/`aud`, and
//! HS256 refused without a secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "unit-test-secret-0123456789abcdef";

fn claims(exp: i64) -> Claims {
    Claims {
        sub: "alice".into(),
        role: Role::Analyst,
        name: "Alice Smith".into(),
        exp,
    }
}

/// A token with a hand-made header and payload, HMAC-SHA256 signed with `secret`.
fn forge(header: &Value, payload: &Value, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

#[test]
fn a_signed_token_verifies() {
    let keys = JwtKeys::new(SECRET);
    let p = keys
        .verify(&keys.sign(&claims(2_000)).unwrap(), 1_000)
        .unwrap();
    assert_eq!((p.id.as_str(), p.role), ("alice", Role::Analyst));
}

#[test]
fn wrong_key_expiry_and_alg_none_are_refused() {
    let keys = JwtKeys::new(SECRET);
    let token = keys.sign(&claims(2_000)).unwrap();
    assert_eq!(
        JwtKeys::new("another-secret-0123456789abcdefgh").verify(&token, 1_000),
        Err(TokenError::Signature)
    );
    assert_eq!(keys.verify(&token, 2_000), Err(TokenError::Expired));
    assert_eq!(keys.verify(&token, 1_999).map(|p| p.id), Ok("alice".into()));
    let payload = token.split('.').nth(1).unwrap();
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#)
    );
    assert_eq!(keys.verify(&none, 1_000), Err(TokenError::Algorithm));
    let hs512 = forge(&json!({"alg": "HS512"}), &json!(claims(2_000)), SECRET);
    assert_eq!(keys.verify(&hs512, 1_000), Err(TokenError::Algorithm));
    assert_eq!(keys.verify("a.b", 1_000), Err(TokenError::Malformed));
    assert_eq!(keys.verify("", 1_000), Err(TokenError::Malformed));
}

#[test]
fn a_missing_exp_or_unknown_role_is_refused() {
    let keys = JwtKeys::new(SECRET);
    let no_exp = forge(
        &hs256(),
        &json!({"sub": "alice", "role": "analyst", "name": "Alice"}),
        SECRET,
    );
    assert!(matches!(
        keys.verify(&no_exp, 1_000),
        Err(TokenError::Claims(_))
    ));
    let odd_role = forge(
        &hs256(),
        &json!({"sub": "alice", "role": "root", "name": "Alice", "exp": 2_000}),
        SECRET,
    );
    assert!(matches!(
        keys.verify(&odd_role, 1_000),
        Err(TokenError::Forbidden(_))
    ));
}

#[test]
fn exp_may_be_at_most_max_ttl_ahead() {
    let keys = JwtKeys::new(SECRET).with_limits(600, 30);
    let at_limit = keys.sign(&claims(1_600)).unwrap();
    assert!(keys.verify(&at_limit, 1_000).is_ok());
    let beyond = keys.sign(&claims(1_601)).unwrap();
    assert_eq!(keys.verify(&beyond, 1_000), Err(TokenError::TooLong));
    assert!(keys.verify(&beyond, 1_001).is_ok(), "no leeway on exp");
    let default = JwtKeys::new(SECRET);
    let day = default.sign(&claims(1_000 + 86_400)).unwrap();
    assert!(default.verify(&day, 1_000).is_ok());
    let longer = default.sign(&claims(1_000 + 86_401)).unwrap();
    assert_eq!(default.verify(&longer, 1_000), Err(TokenError::TooLong));
}

#[test]
fn nbf_is_honoured_with_leeway() {
    let keys = JwtKeys::new(SECRET).with_limits(86_400, 30);
    let with_nbf = |nbf: i64| {
        forge(
            &hs256(),
            &json!({"sub": "alice", "role": "analyst", "name": "Alice", "exp": 5_000, "nbf": nbf}),
            SECRET,
        )
    };
    assert!(keys.verify(&with_nbf(900), 1_000).is_ok(), "past nbf");
    assert!(
        keys.verify(&with_nbf(1_030), 1_000).is_ok(),
        "within leeway"
    );
    assert_eq!(
        keys.verify(&with_nbf(1_031), 1_000),
        Err(TokenError::NotYetValid)
    );
    let strict = JwtKeys::new(SECRET).with_limits(86_400, 0);
    assert_eq!(
        strict.verify(&with_nbf(1_001), 1_000),
        Err(TokenError::NotYetValid)
    );
}

#[test]
fn an_empty_secret_signs_and_accepts_nothing() {
    let keys = JwtKeys::new("");
    assert_eq!(keys.sign(&claims(2_000)), Err(TokenError::NoKey));
    let token = JwtKeys::new(SECRET).sign(&claims(2_000)).unwrap();
    assert_eq!(keys.verify(&token, 1_000), Err(TokenError::NoKey));
}

#[test]
fn without_a_secret_hs256_is_refused_even_when_the_idp_keys_are_set() {
    let dir = std::env::temp_dir().join(format!("sb-jwks-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    let ec = json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    std::fs::write(&file, json!({"keys": [ec]}).to_string()).unwrap();
    let mut auth = settings();
    auth.jwt_secret = String::new();
    auth.jwks_file = file.to_string_lossy().into();
    let jwks = super::super::Jwks::from_settings(&auth).unwrap().unwrap();
    assert!(jwks.is_loaded());
    let keys = JwtKeys::from_settings(&auth).with_jwks(jwks);
    let hs = forge(
        &json!({"alg": "HS256", "kid": "ec-1"}),
        &json!(claims(2_000)),
        "",
    );
    assert_eq!(keys.verify(&hs, 1_000), Err(TokenError::Algorithm));
    assert_eq!(keys.sign(&claims(2_000)), Err(TokenError::NoKey));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn settings() -> AuthSettings {
    AuthSettings {
        jwt_secret: SECRET.into(),
        dev_login: false,
        ticket_ttl_secs: 30,
        max_token_ttl_secs: 86_400,
        leeway_secs: 30,
        jwks_url: String::new(),
        jwks_ca_file: String::new(),
        jwks_file: String::new(),
        jwks_refresh_secs: 3600,
        jwks_min_refetch_secs: 60,
        jwks_timeout_secs: 10,
        issuer: String::new(),
        audience: String::new(),
        role_claim: "role".into(),
        name_claim: "name".into(),
    }
}

#[test]
fn configured_issuer_and_audience_are_signed_and_required() {
    let mut auth = settings();
    auth.issuer = "https://desk.example".into();
    auth.audience = "switchboard".into();
    let keys = JwtKeys::from_settings(&auth);
    let now = chrono::Utc::now().timestamp();
    let token = keys.sign(&claims(now + 60)).unwrap();
    assert!(keys.verify(&token, now).is_ok());
    let plain = JwtKeys::new(SECRET).sign(&claims(now + 60)).unwrap();
    assert!(matches!(
        keys.verify(&plain, now),
        Err(TokenError::Claims(_))
    ));
}
