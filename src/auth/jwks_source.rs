//! The identity provider's keys, live (contract §10.3): where they come from (`auth.jwks_url`,
//! fetched with awc, or `auth.jwks_file`), the set in use, and when to fetch again: at start, every
//! `auth.jwks_refresh_secs`, after a failed fetch, and when a token names an unknown `kid`, never
//! more often than `auth.jwks_min_refetch_secs`. Until a fetch has succeeded `is_loaded` is false,
//! and `/readyz` says so. A failed refetch keeps the keys in use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::jwks::KeySet;
use crate::settings::AuthSettings;

/// Largest JWKS document accepted, in bytes.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Source {
    Url(String),
    File(PathBuf),
}

/// The key set in use and the fetch schedule.
#[derive(Debug)]
pub struct Jwks {
    source: Source,
    /// The keys in use (empty until the first successful fetch).
    current: RwLock<Arc<KeySet>>,
    /// Whether a fetch has succeeded.
    loaded: AtomicBool,
    /// When the last fetch started; held while fetching, so concurrent unknown `kid`s fetch once.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    /// `auth.jwks_min_refetch_secs`.
    min_refetch: Duration,
    /// `auth.jwks_refresh_secs`.
    refresh: Duration,
    /// `auth.jwks_timeout_secs`.
    timeout: Duration,
    /// For an `https://` URL: whom to trust (`auth::jwks_tls`).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Jwks {
    /// The configured source, if any. A file is read now: a missing or bad file is an error, so
    /// start-up stops with the reason. A URL is fetched by `first_fetch` and `spawn_refresher`.
    pub fn from_settings(auth: &AuthSettings) -> Result<Option<Arc<Jwks>>, String> {
        let source = match (auth.jwks_url.as_str(), auth.jwks_file.as_str()) {
            ("", "") => return Ok(None),
            (url, "") => Source::Url(url.to_string()),
            (_, file) => Source::File(PathBuf::from(file)),
        };
        let tls = match &source {
            Source::Url(url) if url.starts_with("https://") => {
                Some(super::jwks_tls::client_config(&auth.jwks_ca_file)?)
            }
            _ => None,
        };
        let jwks = Arc::new(Jwks {
            tls,
            source: source.clone(),
            current: RwLock::new(Arc::new(KeySet::default())),
            loaded: AtomicBool::new(false),
            last_fetch: tokio::sync::Mutex::new(None),
            min_refetch: Duration::from_secs(auth.jwks_min_refetch_secs),
            refresh: Duration::from_secs(auth.jwks_refresh_secs),
            timeout: Duration::from_secs(auth.jwks_timeout_secs),
        });
        if let Source::File(path) = &source {
            let set = read_file(path).map_err(|e| format!("auth.jwks_file: {e}"))?;
            jwks.install(set);
        }
        Ok(Some(jwks))
    }

    /// Whether a fetch has succeeded (`/readyz`).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The keys in use.
    pub fn keys(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install(&self, set: KeySet) {
        match self.current.write() {
            Ok(mut keys) => *keys = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        self.loaded.store(true, Ordering::Release);
    }

    /// Fetches now, whatever the schedule; whether it succeeded.
    pub async fn refresh(&self) -> bool {
        let mut last = self.last_fetch.lock().await;
        self.fetch_locked(&mut last).await
    }

    /// A token named `kid`, which the set in use lacks: fetch again unless a fetch started less
    /// than `auth.jwks_min_refetch_secs` ago. Whether the set now holds `kid`.
    pub async fn refresh_for_kid(&self, kid: &str) -> bool {
        let mut last = self.last_fetch.lock().await;
        if self.keys().has_kid(kid) {
            // Fetched by another request while this one waited.
            return true;
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return false;
        }
        self.fetch_locked(&mut last).await && self.keys().has_kid(kid)
    }

    async fn fetch_locked(&self, last: &mut Option<Instant>) -> bool {
        *last = Some(Instant::now());
        let fetched = match &self.source {
            Source::Url(url) => fetch_url(url, self.timeout, self.tls.clone()).await,
            Source::File(path) => read_file(path),
        };
        match fetched {
            Ok(set) => {
                tracing::info!(keys = set.len(), "identity provider keys loaded");
                self.install(set);
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, "identity provider keys could not be fetched");
                false
            }
        }
    }

    /// Fetches every `auth.jwks_refresh_secs` (after a failure: every
    /// `auth.jwks_min_refetch_secs`) for as long as the process runs. Call once, on the actix
    /// system (awc needs its runtime).
    pub fn spawn_refresher(self: Arc<Self>) {
        actix_web::rt::spawn(async move {
            loop {
                let ok = self.refresh().await;
                let wait = if ok { self.refresh } else { self.min_refetch };
                tokio::time::sleep(wait).await;
            }
        });
    }
}

async fn fetch_url(
    url: &str,
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<KeySet, String> {
    let client = match tls {
        Some(tls) => awc::Client::builder()
            .connector(awc::Connector::new().rustls_0_23(tls))
            .timeout(timeout)
            .finish(),
        None => awc::Client::builder().timeout(timeout).finish(),
    };
    let mut response = client
        .get(url)
        .insert_header(("accept", "application/json"))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let body = response
        .body()
        .limit(MAX_JWKS_BYTES)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    KeySet::parse(&body)
}

fn read_file(path: &PathBuf) -> Result<KeySet, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    KeySet::parse(&bytes)
}
