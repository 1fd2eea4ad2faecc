//! Typed settings, layered: defaults compiled into the binary, then `config/default.toml`, then
//! `config/{SWITCHBOARD_ENV}.toml`, then `SWITCHBOARD__SECTION__KEY` environment variables.
//! This is the only code that reads the environment; everything else receives a `Settings`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

mod cluster;
pub use cluster::{ClusterSettings, hostname};

/// Compiled-in defaults: the binary runs with no files at all.
const DEFAULTS: &str = r#"
[server]
bind = "127.0.0.1:8080"
allowed_origins = []
cors_max_age_secs = 600
shutdown_timeout_secs = 10
workers = 0

[database]
url = "sqlite://switchboard.db?mode=rwc"
max_connections = 8
sqlite_cache_mb = 64
sqlite_synchronous = "normal"
sqlite_busy_timeout_ms = 5000
sqlite_checkpoint_ms = 1000
sqlite_wal_limit_mb = 64

[auth]
jwt_secret = ""
dev_login = false
ticket_ttl_secs = 30
max_token_ttl_secs = 86400
leeway_secs = 30
jwks_url = ""
jwks_ca_file = ""
jwks_file = ""
jwks_refresh_secs = 3600
jwks_min_refetch_secs = 60
jwks_timeout_secs = 10
issuer = ""
audience = ""
role_claim = "role"
name_claim = "name"

[seed]
demo = false

[routing]
reconnect_grace_secs = 60
offer_timeout_secs = 20
priority_aging_secs = 0
overflow_retry_secs = 5

[ws]
heartbeat_secs = 10
client_timeout_secs = 30

[limits]
max_body_chars = 8000
max_frame_bytes = 65536
msgs_per_sec = 10
msgs_burst = 20
max_connections_per_principal = 5
max_outbound_frames = 1024
max_outbound_bytes = 1048576
max_attachment_bytes = 10485760
max_concurrent_uploads = 8
attachment_types = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "application/zip"]

[store]
batch_max_rows = 500
max_waiting_rows = 50000

[webhooks]
retry_base_secs = 5
max_age_secs = 86400
timeout_secs = 10
poll_secs = 60
max_in_flight = 16
scan_rows = 500
retention_hours = 168
retention_sweep_secs = 600

[log]
format = "pretty"
filter = "info"

[cluster]
nats_url = ""
node_id = ""
name = "switchboard"
address = ""
lease_ms = 3000
renew_ms = 1000
heartbeat_ms = 1000
node_timeout_ms = 5000
tunnel_open_ms = 5000
forward_connect_ms = 1000
forward_timeout_ms = 30000
"#;

/// Compiled-in defaults that differ in the development profile (the default profile).
const DEVELOPMENT_DEFAULTS: &str = r#"
[auth]
dev_login = true

[seed]
demo = true
"#;

/// The secret used in the `development` and `test` profiles when none is configured: fine for a
/// laptop, refused in every other profile.
pub const DEV_JWT_SECRET: &str = "switchboard-development-secret-do-not-use-in-production";

/// The profile whose refusals protect a real deployment.
pub const PRODUCTION: &str = "production";

/// The profiles that may run on the built-in secret and with `auth.dev_login`; every other
/// profile gets the production checks.
pub const LENIENT_PROFILES: [&str; 2] = ["development", "test"];

/// Shortest `auth.jwt_secret` accepted, in bytes (HS256 keys should be at least the hash size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which profile was loaded (`SWITCHBOARD_ENV`, default `development`); not a config key.
    #[serde(skip, default = "default_profile")]
    pub profile: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub seed: SeedSettings,
    pub routing: RoutingSettings,
    pub ws: WsSettings,
    pub limits: LimitsSettings,
    pub store: StoreSettings,
    pub webhooks: WebhookSettings,
    pub log: LogSettings,
    /// Cluster mode (contract §11); off unless `cluster.nats_url` is set.
    pub cluster: ClusterSettings,
}

/// Webhook delivery (contract §10.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// The wait before the first retry of a failed delivery; each later wait doubles.
    pub retry_base_secs: u64,
    /// How long a delivery is retried, from when its event happened; then it has failed.
    pub max_age_secs: u64,
    /// How long one attempt may take (connect, send, answer).
    pub timeout_secs: u64,
    /// How often the worker scans the outbox when nothing woke it (a fallback).
    pub poll_secs: u64,
    /// Most deliveries in flight at once, over all endpoints.
    pub max_in_flight: usize,
    /// Most pending deliveries of one endpoint read per scan.
    pub scan_rows: u64,
    /// Deliveries that ended (`delivered` or `failed`) longer ago than this are deleted, and the
    /// events left without deliveries with them; pending ones are never deleted.
    pub retention_hours: u64,
    /// How often the deletion of old deliveries runs (through the store writer, in batches).
    pub retention_sweep_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Most message rows the store writer commits in one transaction.
    pub batch_max_rows: usize,
    /// Most rows waiting for a commit before new messages are refused (`unavailable`).
    pub max_waiting_rows: usize,
}

fn default_profile() -> String {
    "development".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// Origins a browser handshake may come from; empty means the server's own origins.
    pub allowed_origins: Vec<String>,
    /// How long a browser may cache the answer to a CORS preflight (`Access-Control-Max-Age`),
    /// at most a day.
    pub cors_max_age_secs: u64,
    /// How long a graceful stop waits for work in flight.
    pub shutdown_timeout_secs: u64,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` (embedded default) or `postgres://user@host/db` (production).
    pub url: String,
    /// Connection pool size.
    pub max_connections: u32,
    /// SQLite page cache per connection, in MiB (index-heavy inserts need it).
    pub sqlite_cache_mb: u32,
    /// `normal`: commits survive a process crash; `full`: they survive power loss too.
    pub sqlite_synchronous: SqliteSync,
    /// How long an SQLite write waits for a lock held elsewhere before it fails.
    pub sqlite_busy_timeout_ms: u64,
    /// How often the background checkpointer copies the WAL into the database file. No commit
    /// runs a checkpoint itself (`wal_autocheckpoint = 0`): an automatic one would run, with its
    /// fsync, on the committing connection and hold every acknowledgement of that batch.
    pub sqlite_checkpoint_ms: u64,
    /// The WAL file is truncated back to this size after a checkpoint (`journal_size_limit`).
    pub sqlite_wal_limit_mb: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteSync {
    Normal,
    Full,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 secret the host service desk signs tokens with. Never logged.
    pub jwt_secret: String,
    /// Serve `POST /dev/token` so the demo pages can sign in without a host desk.
    pub dev_login: bool,
    /// How long a WebSocket ticket stays redeemable.
    pub ticket_ttl_secs: u64,
    /// Longest token lifetime accepted: a token whose `exp` is further ahead than this is refused.
    pub max_token_ttl_secs: u64,
    /// Clock-skew allowance for `nbf`: a token is refused when `nbf` is later than now plus this.
    /// `exp` gets no leeway.
    pub leeway_secs: u64,
    /// The host identity provider's JWKS endpoint, for RS256 and ES256 tokens; empty: none.
    /// `https://` (plain `http://` only in the development and test profiles). Fetched at start
    /// and cached; `/readyz` is 503 until the first fetch succeeds.
    pub jwks_url: String,
    /// PEM file of the CA certificates an `https://` `jwks_url` is checked against (then only
    /// these); empty: the system's root certificates.
    pub jwks_ca_file: String,
    /// A JWKS file instead of a URL; empty: none. Read at start (a bad file stops start-up).
    pub jwks_file: String,
    /// How often the key set is fetched (or read) again.
    pub jwks_refresh_secs: u64,
    /// Least time between two fetches: a token with an unknown `kid` triggers a refetch at most
    /// this often, and a failed fetch is retried after it.
    pub jwks_min_refetch_secs: u64,
    /// How long one fetch of `jwks_url` may take.
    pub jwks_timeout_secs: u64,
    /// Required `iss` of every token (HS256 included); empty: not checked.
    pub issuer: String,
    /// Required `aud` (one of them, when an array) of every token; empty: not checked.
    pub audience: String,
    /// Dotted path to the claim holding the role: a string or an array (the first known role
    /// wins), e.g. `realm_access.roles`.
    pub role_claim: String,
    /// Dotted path to the claim holding the display name.
    pub name_claim: String,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &"<redacted>")
            .field("dev_login", &self.dev_login)
            .field("ticket_ttl_secs", &self.ticket_ttl_secs)
            .field("max_token_ttl_secs", &self.max_token_ttl_secs)
            .field("leeway_secs", &self.leeway_secs)
            .field("jwks_url", &self.jwks_url)
            .field("jwks_ca_file", &self.jwks_ca_file)
            .field("jwks_file", &self.jwks_file)
            .field("jwks_refresh_secs", &self.jwks_refresh_secs)
            .field("jwks_min_refetch_secs", &self.jwks_min_refetch_secs)
            .field("jwks_timeout_secs", &self.jwks_timeout_secs)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("role_claim", &self.role_claim)
            .field("name_claim", &self.name_claim)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSettings {
    /// Create the demo queues and analysts at start-up (idempotent).
    pub demo: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    /// How long a dropped analyst keeps their chats, and a dropped user their chat.
    pub reconnect_grace_secs: u64,
    /// Default time an analyst has to answer an offer (a queue may override it).
    pub offer_timeout_secs: u64,
    /// When > 0, chats are ordered across queues by `created_at − priority × this` (§8.2);
    /// 0 keeps strict priority. At most a day.
    pub priority_aging_secs: u64,
    /// How long a chat whose overflow target is disabled, closed or full waits before the
    /// overflow is tried again (§8.2).
    pub overflow_retry_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsSettings {
    /// Interval between server pings.
    pub heartbeat_secs: u64,
    /// A connection silent this long is closed.
    pub client_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    pub max_body_chars: usize,
    pub max_frame_bytes: usize,
    pub msgs_per_sec: u32,
    pub msgs_burst: u32,
    pub max_connections_per_principal: usize,
    /// Frames queued for one session before it is dropped as too slow (its client stopped reading).
    pub max_outbound_frames: usize,
    /// Bytes queued for one session before it is dropped as too slow; replays (`resume`) use at
    /// most half and wait for the client to read.
    pub max_outbound_bytes: usize,
    /// Largest file accepted by `POST /chats/{id}/attachments`, in bytes; a longer body is cut off
    /// with 413 as soon as it passes this.
    pub max_attachment_bytes: usize,
    /// Uploads this node reads at once; one more is refused at once with 503 `unavailable` and
    /// `Retry-After` (each holds at most two chunks of `store::attachments::CHUNK_BYTES` in
    /// memory, so uploads together hold at most this × 512 KiB).
    pub max_concurrent_uploads: usize,
    /// Media types an attachment may have (each one `attachments::types` can confirm from the
    /// bytes; SVG and HTML never).
    pub attachment_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log pipelines.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `switchboard=debug,info`.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A setting that cannot be used; its message is the one line start-up prints before it stops.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Where settings come from; tests build one by hand instead of touching the process environment.
#[derive(Debug, Clone)]
pub struct SettingsSource {
    /// Folder holding `default.toml` and `{profile}.toml`.
    pub config_dir: PathBuf,
    /// The profile name (`SWITCHBOARD_ENV`).
    pub profile: String,
    /// The environment variables to overlay (only `SWITCHBOARD__*` ones are read).
    pub env: HashMap<String, String>,
}

impl SettingsSource {
    /// The real process: `./config` (or `SWITCHBOARD_CONFIG_DIR`), `SWITCHBOARD_ENV`, `std::env`.
    pub fn from_process() -> Self {
        let env: HashMap<String, String> = std::env::vars().collect();
        SettingsSource {
            config_dir: env
                .get("SWITCHBOARD_CONFIG_DIR")
                .map_or_else(|| PathBuf::from("config"), PathBuf::from),
            profile: env
                .get("SWITCHBOARD_ENV")
                .cloned()
                .unwrap_or_else(default_profile),
            env,
        }
    }
}

impl Settings {
    /// Loads and validates settings from the real process environment.
    pub fn load() -> Result<Settings, SettingsError> {
        Self::load_from(&SettingsSource::from_process())
    }

    /// Loads and validates settings from the given source.
    pub fn load_from(source: &SettingsSource) -> Result<Settings, SettingsError> {
        check_profile(source)?;
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if source.profile == "development" {
            builder = builder.add_source(File::from_str(DEVELOPMENT_DEFAULTS, FileFormat::Toml));
        }
        let file = |name: &str| -> File<_, _> {
            File::from(Path::new(&source.config_dir).join(name)).required(false)
        };
        let built = builder
            .add_source(file("default.toml"))
            .add_source(file(&format!("{}.toml", source.profile)))
            .add_source(
                Environment::with_prefix("SWITCHBOARD")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.allowed_origins")
                    .try_parsing(true)
                    .source(Some(source.env.clone().into_iter().collect())),
            )
            .build()?;
        let mut settings: Settings = built.try_deserialize()?;
        settings.profile = source.profile.clone();
        settings.validate()?;
        Ok(settings)
    }

    /// Whether this is the production profile.
    pub fn is_production(&self) -> bool {
        self.profile == PRODUCTION
    }

    /// Whether this profile gets the production checks: every profile but `development` and `test`.
    pub fn is_strict(&self) -> bool {
        !LENIENT_PROFILES.contains(&self.profile.as_str())
    }

    fn validate(&mut self) -> Result<(), SettingsError> {
        let invalid = |key, reason: &str| SettingsError::Invalid {
            key,
            reason: reason.to_string(),
        };
        self.validate_auth()?;
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.routing.priority_aging_secs > 86_400 {
            return Err(invalid(
                "routing.priority_aging_secs",
                "must be at most 86400 (a day)",
            ));
        }
        let positive: [(&'static str, u64); 23] = [
            (
                "routing.overflow_retry_secs",
                self.routing.overflow_retry_secs,
            ),
            ("webhooks.retry_base_secs", self.webhooks.retry_base_secs),
            ("webhooks.max_age_secs", self.webhooks.max_age_secs),
            ("webhooks.timeout_secs", self.webhooks.timeout_secs),
            ("webhooks.poll_secs", self.webhooks.poll_secs),
            ("webhooks.max_in_flight", self.webhooks.max_in_flight as u64),
            ("webhooks.scan_rows", self.webhooks.scan_rows),
            ("webhooks.retention_hours", self.webhooks.retention_hours),
            (
                "webhooks.retention_sweep_secs",
                self.webhooks.retention_sweep_secs,
            ),
            (
                "limits.max_attachment_bytes",
                self.limits.max_attachment_bytes as u64,
            ),
            (
                "limits.max_concurrent_uploads",
                self.limits.max_concurrent_uploads as u64,
            ),
            (
                "limits.max_outbound_frames",
                self.limits.max_outbound_frames as u64,
            ),
            (
                "limits.max_outbound_bytes",
                self.limits.max_outbound_bytes as u64,
            ),
            ("store.batch_max_rows", self.store.batch_max_rows as u64),
            ("store.max_waiting_rows", self.store.max_waiting_rows as u64),
            ("auth.ticket_ttl_secs", self.auth.ticket_ttl_secs),
            ("ws.heartbeat_secs", self.ws.heartbeat_secs),
            ("ws.client_timeout_secs", self.ws.client_timeout_secs),
            ("limits.max_body_chars", self.limits.max_body_chars as u64),
            ("limits.max_frame_bytes", self.limits.max_frame_bytes as u64),
            ("limits.msgs_per_sec", u64::from(self.limits.msgs_per_sec)),
            (
                "limits.max_connections_per_principal",
                self.limits.max_connections_per_principal as u64,
            ),
            (
                "database.max_connections",
                u64::from(self.database.max_connections),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(invalid(key, "must be greater than 0"));
        }
        if self.database.sqlite_checkpoint_ms == 0 {
            return Err(invalid(
                "database.sqlite_checkpoint_ms",
                "must be greater than 0",
            ));
        }
        if self.limits.msgs_burst < self.limits.msgs_per_sec {
            return Err(invalid(
                "limits.msgs_burst",
                "must be at least limits.msgs_per_sec",
            ));
        }
        if self.webhooks.max_age_secs < self.webhooks.retry_base_secs {
            return Err(invalid(
                "webhooks.max_age_secs",
                "must be at least webhooks.retry_base_secs",
            ));
        }
        self.validate_attachment_types()?;
        self.cluster.validate(&self.database.url)?;
        if self.ws.client_timeout_secs <= self.ws.heartbeat_secs {
            return Err(invalid(
                "ws.client_timeout_secs",
                "must be longer than ws.heartbeat_secs",
            ));
        }
        if self.server.cors_max_age_secs > 86_400 {
            return Err(invalid(
                "server.cors_max_age_secs",
                "must be at most 86400 (browsers cap it lower anyway)",
            ));
        }
        for origin in &self.server.allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://"))
                || origin.ends_with('/')
            {
                return Err(invalid(
                    "server.allowed_origins",
                    "each origin is scheme://host[:port] with no trailing slash",
                ));
            }
        }
        Ok(())
    }

    /// Every listed attachment type must be one the checker can confirm from a file's bytes;
    /// SVG and HTML are never allowed. Stored lower-cased.
    fn validate_attachment_types(&mut self) -> Result<(), SettingsError> {
        use crate::attachments::types::{CHECKABLE, NEVER};
        for kind in &mut self.limits.attachment_types {
            *kind = kind.trim().to_ascii_lowercase();
            if NEVER.contains(&kind.as_str()) || !CHECKABLE.contains(&kind.as_str()) {
                return Err(SettingsError::Invalid {
                    key: "limits.attachment_types",
                    reason: format!(
                        "{kind} cannot be allowed: choose from {}",
                        CHECKABLE.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The secret and dev login rules: strict profiles need a real secret of their own and no dev
    /// login; any explicit secret must be long enough and not blank. Never puts the secret in a
    /// message.
    fn validate_auth(&mut self) -> Result<(), SettingsError> {
        let strict = self.is_strict();
        let invalid = |key, reason: String| SettingsError::Invalid { key, reason };
        self.validate_identity_provider()?;
        let has_jwks = !self.auth.jwks_url.is_empty() || !self.auth.jwks_file.is_empty();
        let secret = &self.auth.jwt_secret;
        if secret.is_empty() && strict && has_jwks {
            // Keys from the identity provider only: HS256 is refused.
        } else if secret.is_empty() {
            if strict {
                return Err(invalid(
                    "auth.jwt_secret",
                    format!(
                        "required in {} unless auth.jwks_url or auth.jwks_file is set (set SWITCHBOARD__AUTH__JWT_SECRET)",
                        self.profile
                    ),
                ));
            }
            self.auth.jwt_secret = DEV_JWT_SECRET.to_string();
        } else if secret.trim().is_empty() {
            return Err(invalid(
                "auth.jwt_secret",
                "must not be only whitespace".into(),
            ));
        } else if strict && secret == DEV_JWT_SECRET {
            return Err(invalid(
                "auth.jwt_secret",
                format!(
                    "is the published development secret, refused in {}: set a secret of your own",
                    self.profile
                ),
            ));
        } else if secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(invalid(
                "auth.jwt_secret",
                format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
            ));
        }
        if self.auth.max_token_ttl_secs == 0 {
            return Err(invalid(
                "auth.max_token_ttl_secs",
                "must be greater than 0".into(),
            ));
        }
        if self.auth.leeway_secs > MAX_LEEWAY_SECS {
            return Err(invalid(
                "auth.leeway_secs",
                format!(
                    "must be at most {MAX_LEEWAY_SECS}: it allows for clock skew, it is not a validity window"
                ),
            ));
        }
        if strict && self.auth.dev_login {
            return Err(invalid(
                "auth.dev_login",
                format!(
                    "must be false in {}: it lets anyone mint tokens",
                    self.profile
                ),
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// The identity provider keys (contract §10.3): one source at most, an `http://` URL, positive
    /// intervals, claim paths that name something.
    fn validate_identity_provider(&self) -> Result<(), SettingsError> {
        let auth = &self.auth;
        let invalid = |key, reason: &str| SettingsError::Invalid {
            key,
            reason: reason.to_string(),
        };
        if !auth.jwks_url.is_empty() && !auth.jwks_file.is_empty() {
            return Err(invalid(
                "auth.jwks_file",
                "set auth.jwks_url or auth.jwks_file, not both",
            ));
        }
        let https = auth.jwks_url.starts_with("https://");
        if auth.jwks_url.starts_with("http://") && self.is_strict() {
            return Err(invalid(
                "auth.jwks_url",
                "must be an https:// URL outside the development and test profiles (keys fetched over plain http can be swapped on the way)",
            ));
        }
        if !auth.jwks_url.is_empty() && !https && !auth.jwks_url.starts_with("http://") {
            return Err(invalid("auth.jwks_url", "must be an https:// URL"));
        }
        if !auth.jwks_ca_file.is_empty() && !https {
            return Err(invalid(
                "auth.jwks_ca_file",
                "only used with an https:// auth.jwks_url",
            ));
        }
        for (key, value) in [
            ("auth.jwks_refresh_secs", auth.jwks_refresh_secs),
            ("auth.jwks_min_refetch_secs", auth.jwks_min_refetch_secs),
            ("auth.jwks_timeout_secs", auth.jwks_timeout_secs),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        for (key, path) in [
            ("auth.role_claim", &auth.role_claim),
            ("auth.name_claim", &auth.name_claim),
        ] {
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(invalid(
                    key,
                    "must be a dotted path such as realm_access.roles",
                ));
            }
        }
        Ok(())
    }
}

/// Largest `auth.leeway_secs` accepted.
const MAX_LEEWAY_SECS: u64 = 3600;

/// Refuses a profile name that is not a plain name, or one that is neither built in nor has its
/// own `{profile}.toml`: a typo such as `prod` stops start-up instead of running unchecked.
fn check_profile(source: &SettingsSource) -> Result<(), SettingsError> {
    let name = source.profile.as_str();
    let invalid = |reason: String| SettingsError::Invalid {
        key: "SWITCHBOARD_ENV",
        reason,
    };
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(invalid(
            "a profile name is letters, digits, '-' and '_' only".into(),
        ));
    }
    let built_in = LENIENT_PROFILES.contains(&name) || name == PRODUCTION;
    if !built_in && !source.config_dir.join(format!("{name}.toml")).is_file() {
        return Err(invalid(format!(
            "unknown profile {name:?}: use development, test or production, or add {}",
            source.config_dir.join(format!("{name}.toml")).display()
        )));
    }
    Ok(())
}
