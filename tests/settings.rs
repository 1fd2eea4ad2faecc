//! Settings layering (compiled defaults < default.toml < {profile}.toml < environment), the
//! profile rules (unknown names refused; every profile but development and test is strict) and the
//! secret rules, through the same loader the binary uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use switchboard::settings::{DEV_JWT_SECRET, Settings, SettingsError, SettingsSource};

/// A secret long enough for every profile.
const GOOD_SECRET: &str = "a-real-secret-from-the-vault-0123456789";

fn dir_with(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("switchboard-settings-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    dir
}

fn load(dir: &Path, profile: &str, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::load_from(&SettingsSource {
        config_dir: dir.to_path_buf(),
        profile: profile.into(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
    })
}

#[test]
fn compiled_defaults_apply_without_any_file() {
    let s = load(&dir_with(&[]), "development", &[]).unwrap();
    assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(s.routing.reconnect_grace_secs, 60);
    assert_eq!(s.routing.offer_timeout_secs, 20);
    assert_eq!(s.ws.heartbeat_secs, 10);
    assert_eq!(s.limits.max_body_chars, 8000);
    assert_eq!(s.limits.max_frame_bytes, 65536);
    assert_eq!(s.limits.max_connections_per_principal, 5);
    assert!(s.auth.dev_login, "dev login is on in development");
    assert!(s.seed.demo, "demo data is on in development");
    assert_eq!(
        s.auth.jwt_secret, DEV_JWT_SECRET,
        "development falls back to the dev secret"
    );
    assert_eq!(s.auth.max_token_ttl_secs, 86400);
    assert_eq!(s.auth.leeway_secs, 30);
    assert_eq!(s.auth.ticket_ttl_secs, 30);
    let test = load(&dir_with(&[]), "test", &[]).unwrap();
    assert_eq!(test.auth.jwt_secret, DEV_JWT_SECRET, "test may use it too");
    assert!(!test.auth.dev_login);
}

#[test]
fn profile_file_overrides_default_file_and_environment_overrides_both() {
    let dir = dir_with(&[
        (
            "default.toml",
            "[routing]\noffer_timeout_secs = 30\nreconnect_grace_secs = 45\n[ws]\nheartbeat_secs = 5\n",
        ),
        ("staging.toml", "[routing]\noffer_timeout_secs = 40\n"),
    ]);
    let s = load(
        &dir,
        "staging",
        &[("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)],
    )
    .unwrap();
    assert_eq!(
        s.routing.offer_timeout_secs, 40,
        "profile file beats default.toml"
    );
    assert_eq!(
        s.routing.reconnect_grace_secs, 45,
        "default.toml beats compiled defaults"
    );
    assert_eq!(s.ws.heartbeat_secs, 5);
    assert!(
        !s.auth.dev_login,
        "dev login is off outside development unless configured"
    );

    let s = load(
        &dir,
        "staging",
        &[
            ("SWITCHBOARD__ROUTING__OFFER_TIMEOUT_SECS", "50"),
            (
                "SWITCHBOARD__SERVER__ALLOWED_ORIGINS",
                "https://desk.example.com,http://localhost:3000",
            ),
            ("SWITCHBOARD_ENV", "ignored-here"),
            ("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET),
        ],
    )
    .unwrap();
    assert_eq!(s.routing.offer_timeout_secs, 50, "environment beats files");
    assert_eq!(
        s.server.allowed_origins,
        vec!["https://desk.example.com", "http://localhost:3000"]
    );
}

#[test]
fn a_bad_value_names_the_key() {
    let dir = dir_with(&[]);
    let err = load(
        &dir,
        "development",
        &[("SWITCHBOARD__ROUTING__OFFER_TIMEOUT_SECS", "soon")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("routing.offer_timeout_secs"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");

    let err = load(
        &dir,
        "development",
        &[("SWITCHBOARD__LIMITS__MSGS_PER_SEC", "0")],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "configuration: limits.msgs_per_sec: must be greater than 0"
    );

    let err = load(
        &dir,
        "development",
        &[("SWITCHBOARD__DATABASE__URL", "mysql://x")],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("database.url"), "{err}");
}

#[test]
fn production_starts_on_the_identity_providers_keys_alone_with_hs256_off() {
    let dir = dir_with(&[]);
    let settings = load(
        &dir,
        "production",
        &[("SWITCHBOARD__AUTH__JWKS_URL", "https://idp.internal/jwks")],
    )
    .unwrap();
    assert_eq!(settings.auth.jwt_secret, "", "no secret: HS256 refused");
    for (key, value, named) in [
        // Keys over plain http could be swapped on the way: https only outside development/test.
        (
            "SWITCHBOARD__AUTH__JWKS_URL",
            "http://idp.example/jwks",
            "auth.jwks_url",
        ),
        // A CA file means nothing without an https URL (here: a JWKS file).
        (
            "SWITCHBOARD__AUTH__JWKS_CA_FILE",
            "/idp-ca.pem",
            "auth.jwks_ca_file",
        ),
        ("SWITCHBOARD__AUTH__JWKS_URL", "idp/jwks", "auth.jwks_url"),
        (
            "SWITCHBOARD__AUTH__JWKS_MIN_REFETCH_SECS",
            "0",
            "auth.jwks_min_refetch_secs",
        ),
        (
            "SWITCHBOARD__AUTH__ROLE_CLAIM",
            "realm_access.",
            "auth.role_claim",
        ),
    ] {
        let source = if key.ends_with("JWKS_URL") {
            ("SWITCHBOARD__AUTH__ISSUER", "")
        } else {
            ("SWITCHBOARD__AUTH__JWKS_FILE", "/x")
        };
        let err = load(&dir, "production", &[source, (key, value)])
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains(named), "{key}={value}: {err}");
    }
}

#[test]
fn production_refuses_a_missing_secret() {
    let dir = dir_with(&[]);
    let err = load(&dir, "production", &[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "configuration: auth.jwt_secret: required in production unless auth.jwks_url or auth.jwks_file is set (set SWITCHBOARD__AUTH__JWT_SECRET)"
    );
}

#[test]
fn production_refuses_dev_login() {
    let dir = dir_with(&[]);
    let err = load(
        &dir,
        "production",
        &[
            ("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET),
            ("SWITCHBOARD__AUTH__DEV_LOGIN", "true"),
        ],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("configuration: auth.dev_login: must be false in production"),
        "{err}"
    );
}

#[test]
fn production_starts_with_a_secret_and_no_dev_login() {
    let dir = dir_with(&[]);
    let s = load(
        &dir,
        "production",
        &[("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)],
    )
    .unwrap();
    assert!(s.is_production());
    assert!(!s.auth.dev_login);
    assert!(!s.seed.demo);
}

#[test]
fn the_shipped_config_files_load_for_every_profile() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    for profile in ["development", "test"] {
        load(&dir, profile, &[]).unwrap();
    }
    let s = load(
        &dir,
        "production",
        &[("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)],
    )
    .unwrap();
    assert_eq!(s.log.format, switchboard::settings::LogFormat::Json);
}

#[test]
fn the_binary_stops_with_one_line_on_a_bad_value() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("migrate")
        .env("SWITCHBOARD_ENV", "production")
        .env("SWITCHBOARD_CONFIG_DIR", dir_with(&[]))
        .env_remove("SWITCHBOARD__AUTH__JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("auth.jwt_secret"), "{stderr}");
}

/// The error `load` gives, asserting it is one line and never shows `secret`.
fn refusal(dir: &Path, profile: &str, secret: Option<&str>, more: &[(&str, &str)]) -> String {
    let mut env: Vec<(&str, &str)> = more.to_vec();
    if let Some(secret) = secret {
        env.push(("SWITCHBOARD__AUTH__JWT_SECRET", secret));
    }
    let err = load(dir, profile, &env).unwrap_err().to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    if let Some(secret) = secret.filter(|s| !s.trim().is_empty()) {
        assert!(!err.contains(secret), "the secret is never shown: {err}");
    }
    err
}

#[test]
fn a_profile_name_without_a_file_is_refused_as_unknown() {
    let dir = dir_with(&[]);
    for profile in ["prod", "Production", "staging", "PRODUCTION", "dev"] {
        // Even with a good secret: an unknown name is a typo, not a deployment.
        for secret in [None, Some(GOOD_SECRET)] {
            let err = refusal(&dir, profile, secret, &[]);
            assert!(
                err.starts_with(&format!(
                    "configuration: SWITCHBOARD_ENV: unknown profile \"{profile}\""
                )),
                "{profile}: {err}"
            );
        }
    }
    let err = refusal(&dir, "../production", None, &[]);
    assert!(err.starts_with("configuration: SWITCHBOARD_ENV: "), "{err}");
}

#[test]
fn a_profile_with_its_own_file_gets_the_production_checks() {
    let dir = dir_with(&[("staging.toml", "[routing]\noffer_timeout_secs = 40\n")]);
    assert_eq!(
        refusal(&dir, "staging", None, &[]),
        "configuration: auth.jwt_secret: required in staging unless auth.jwks_url or auth.jwks_file is set (set SWITCHBOARD__AUTH__JWT_SECRET)"
    );
    assert!(
        refusal(&dir, "staging", Some(DEV_JWT_SECRET), &[])
            .starts_with("configuration: auth.jwt_secret: is the published development secret"),
    );
    let err = refusal(
        &dir,
        "staging",
        Some(GOOD_SECRET),
        &[("SWITCHBOARD__AUTH__DEV_LOGIN", "true")],
    );
    assert!(
        err.starts_with("configuration: auth.dev_login: must be false in staging"),
        "{err}"
    );
    let s = load(
        &dir,
        "staging",
        &[("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)],
    )
    .unwrap();
    assert!(s.is_strict() && !s.is_production());
    assert_eq!(s.routing.offer_timeout_secs, 40);
}

#[test]
fn weak_secrets_are_refused_in_production() {
    let dir = dir_with(&[]);
    for blank in [" ", "   \t  ", &" ".repeat(40)] {
        assert_eq!(
            refusal(&dir, "production", Some(blank), &[]),
            "configuration: auth.jwt_secret: must not be only whitespace"
        );
    }
    let short = "x".repeat(31);
    assert_eq!(
        refusal(&dir, "production", Some(&short), &[]),
        "configuration: auth.jwt_secret: must be at least 32 bytes"
    );
    assert_eq!(
        refusal(&dir, "production", Some(DEV_JWT_SECRET), &[]),
        "configuration: auth.jwt_secret: is the published development secret, refused in production: set a secret of your own"
    );
    let s = load(
        &dir,
        "production",
        &[("SWITCHBOARD__AUTH__JWT_SECRET", &"x".repeat(32))],
    )
    .unwrap();
    assert_eq!(s.auth.jwt_secret.len(), 32, "32 bytes is enough");
}

#[test]
fn an_explicit_secret_must_be_real_in_development_and_test_too() {
    let dir = dir_with(&[]);
    for profile in ["development", "test"] {
        assert_eq!(
            refusal(&dir, profile, Some("  "), &[]),
            "configuration: auth.jwt_secret: must not be only whitespace",
            "{profile}"
        );
        assert_eq!(
            refusal(&dir, profile, Some("s3cret"), &[]),
            "configuration: auth.jwt_secret: must be at least 32 bytes",
            "{profile}"
        );
        load(
            &dir,
            profile,
            &[("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)],
        )
        .unwrap();
    }
}

#[test]
fn token_lifetime_settings_are_checked() {
    let dir = dir_with(&[]);
    assert_eq!(
        refusal(
            &dir,
            "development",
            None,
            &[("SWITCHBOARD__AUTH__MAX_TOKEN_TTL_SECS", "0")]
        ),
        "configuration: auth.max_token_ttl_secs: must be greater than 0"
    );
    let err = refusal(
        &dir,
        "development",
        None,
        &[("SWITCHBOARD__AUTH__LEEWAY_SECS", "3601")],
    );
    assert!(
        err.starts_with("configuration: auth.leeway_secs: must be at most 3600"),
        "{err}"
    );
    let s = load(
        &dir,
        "development",
        &[
            ("SWITCHBOARD__AUTH__MAX_TOKEN_TTL_SECS", "600"),
            ("SWITCHBOARD__AUTH__LEEWAY_SECS", "0"),
        ],
    )
    .unwrap();
    assert_eq!((s.auth.max_token_ttl_secs, s.auth.leeway_secs), (600, 0));
}

#[test]
fn the_binary_stops_with_one_line_on_an_unknown_profile() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("migrate")
        .env("SWITCHBOARD_ENV", "prod")
        .env("SWITCHBOARD_CONFIG_DIR", dir_with(&[]))
        .env("SWITCHBOARD__AUTH__JWT_SECRET", GOOD_SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("unknown profile \"prod\""), "{stderr}");
}
