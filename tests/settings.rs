//! Settings layering (compiled defaults < default.toml < {profile}.toml < environment) and the
//! production profile's refusals, through the same loader the binary uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use switchboard::settings::{Settings, SettingsError, SettingsSource};

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
    assert!(
        !s.auth.jwt_secret.is_empty(),
        "development falls back to a dev secret"
    );
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
    let s = load(&dir, "staging", &[]).unwrap();
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
fn production_refuses_a_missing_secret() {
    let dir = dir_with(&[]);
    let err = load(&dir, "production", &[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "configuration: auth.jwt_secret: required in production (set SWITCHBOARD__AUTH__JWT_SECRET)"
    );
}

#[test]
fn production_refuses_dev_login() {
    let dir = dir_with(&[]);
    let err = load(
        &dir,
        "production",
        &[
            (
                "SWITCHBOARD__AUTH__JWT_SECRET",
                "a-real-secret-from-the-vault",
            ),
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
        &[("SWITCHBOARD__AUTH__JWT_SECRET", "a-real-secret")],
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
        &[("SWITCHBOARD__AUTH__JWT_SECRET", "x")],
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
