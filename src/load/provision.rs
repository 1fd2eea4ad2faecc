//! Getting ready to load a server: tokens for every simulated principal (minted with the secret,
//! or fetched from the server's dev sign-in), and the harness's own queue and analysts, provisioned
//! over the admin HTTP API (with `--skills`, the queue's skills and steps and the analysts' skills).

use anyhow::{Context, anyhow};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::args::{LoadArgs, SKILLS};
use crate::auth::{Claims, JwtKeys};
use crate::domain::Role;
use crate::settings::AuthSettings;

/// Tokens last long enough for any run (or as long as `auth.max_token_ttl_secs` allows).
const TOKEN_TTL_SECS: i64 = 24 * 3600;

/// HTTP requests in flight at once while provisioning. One: concurrent admin writes on a SQLite
/// server can fail with "database is locked" (reported upstream of the harness).
const HTTP_CONCURRENCY: usize = 1;

/// Where tokens come from.
pub enum Minter {
    /// Signed here, with the lifetime in seconds.
    Secret(JwtKeys, i64),
    /// `POST /dev/token` on the server under load.
    DevLogin,
}

impl Minter {
    /// Tokens signed with `secret` (or, with neither a secret nor an admin `token` given, the
    /// configured `auth.jwt_secret`), carrying what this machine's claim settings say the server
    /// requires: `auth.issuer`, `auth.audience`, the role and name at `auth.role_claim` and
    /// `auth.name_claim`, a lifetime within `auth.max_token_ttl_secs`.
    pub fn new(secret: Option<&str>, token_given: bool, auth: &AuthSettings) -> Self {
        let keys = |secret: &str| {
            let auth = AuthSettings {
                jwt_secret: secret.to_string(),
                ..auth.clone()
            };
            let ttl = i64::try_from(auth.max_token_ttl_secs).unwrap_or(i64::MAX);
            Minter::Secret(JwtKeys::from_settings(&auth), ttl.min(TOKEN_TTL_SECS))
        };
        match (secret, token_given) {
            (Some(secret), _) => keys(secret),
            (None, true) => Minter::DevLogin,
            (None, false) => keys(&auth.jwt_secret),
        }
    }

    pub async fn token(
        &self,
        http: &awc::Client,
        url: &str,
        sub: &str,
        role: Role,
        name: &str,
    ) -> anyhow::Result<String> {
        match self {
            Minter::Secret(keys, ttl) => Ok(keys.sign(&Claims {
                sub: sub.into(),
                role,
                name: name.into(),
                exp: chrono::Utc::now().timestamp() + ttl,
            })?),
            Minter::DevLogin => {
                let reply = request(
                    http.post(format!("{url}/dev/token")),
                    json!({"sub": sub, "role": role, "name": name}),
                )
                .await
                .context(
                    "POST /dev/token (without --secret, the server must have auth.dev_login on)",
                )?;
                reply["token"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| anyhow!("POST /dev/token answered without a token"))
            }
        }
    }
}

/// Sends a JSON body and returns the JSON answer; any status but 2xx is an error naming it.
async fn request(req: awc::ClientRequest, body: Value) -> anyhow::Result<Value> {
    let mut res = req
        .send_json(&body)
        .await
        .map_err(|e| anyhow!("request failed: {e}"))?;
    let bytes = res
        .body()
        .limit(1 << 20)
        .await
        .map_err(|e| anyhow!("reading the answer failed: {e}"))?;
    if !res.status().is_success() {
        return Err(anyhow!(
            "{} {}",
            res.status(),
            String::from_utf8_lossy(&bytes)
                .chars()
                .take(300)
                .collect::<String>()
        ));
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The name of skill `i` of the `--skills` queue.
pub fn skill(i: usize) -> String {
    format!("skill-{i:02}")
}

/// An analyst's skills for `--skills`: 5 of the list, each at a level 1–5.
fn analyst_skills() -> Value {
    let mut held = serde_json::Map::new();
    while held.len() < 5 {
        let level = rand::random_range(1..=5u8);
        held.insert(skill(rand::random_range(0..SKILLS)), json!(level));
    }
    Value::Object(held)
}

/// What a `--skills` user asks: 1 or 2 skills of the list, each at a level 1–5 (JSON).
pub fn user_skills() -> String {
    let first = rand::random_range(0..SKILLS);
    let mut asks = vec![json!({"name": skill(first), "level": rand::random_range(1..=5u8)})];
    if rand::random::<bool>() {
        let second = (first + rand::random_range(1..SKILLS)) % SKILLS;
        asks.push(json!({"name": skill(second), "level": rand::random_range(1..=5u8)}));
    }
    Value::Array(asks).to_string()
}

/// The harness's analyst ids.
pub fn analyst_id(i: usize) -> String {
    format!("load-a{i}")
}

/// Creates (or replaces) the harness's queue, its analysts and their memberships.
pub async fn provision(
    http: &awc::Client,
    args: &LoadArgs,
    admin_token: &str,
) -> anyhow::Result<()> {
    let url = args.base_url();
    let put = |path: String| {
        http.put(format!("{url}/api/v1{path}"))
            .bearer_auth(admin_token)
    };
    let mut queue =
        json!({"name": "Load test", "routing": args.routing.as_str(), "max_wait_secs": 0});
    if args.skills {
        queue["skills"] = json!((0..SKILLS).map(skill).collect::<Vec<_>>());
        queue["expansion"] = json!([
            {"after_secs": 1, "relax": "level"},
            {"after_secs": 2, "relax": "level"},
            {"after_secs": 3, "relax": "all"},
        ]);
    }
    request(put(format!("/queues/{}", args.queue)), queue)
        .await
        .with_context(|| format!("PUT /api/v1/queues/{}", args.queue))?;
    let capacity = i32::try_from(args.capacity).unwrap_or(i32::MAX);
    let mut results = futures_util::stream::iter(0..args.analysts)
        .map(|i| {
            let id = analyst_id(i);
            let analyst = put(format!("/analysts/{id}"));
            let member = put(format!("/queues/{}/members/{id}", args.queue));
            let mut body =
                json!({"name": format!("Load Analyst {i}"), "capacity": capacity, "role": "analyst"});
            if args.skills {
                body["skills"] = analyst_skills();
            }
            async move {
                request(analyst, body)
                    .await
                    .with_context(|| format!("PUT /api/v1/analysts/{id}"))?;
                request(member, json!({"role": "analyst"}))
                    .await
                    .with_context(|| format!("PUT /api/v1/queues/.../members/{id}"))
            }
        })
        .buffer_unordered(HTTP_CONCURRENCY);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AuthSettings {
        let source = crate::settings::SettingsSource {
            config_dir: std::path::PathBuf::from("/nonexistent"),
            profile: "development".into(),
            env: std::collections::HashMap::new(),
        };
        crate::settings::Settings::load_from(&source)
            .map(|s| s.auth)
            .unwrap_or_else(|e| panic!("default settings: {e}"))
    }

    /// A server requiring `iss` and `aud` (and reading the role elsewhere) accepts what
    /// `--secret` mints when the harness runs with the same claim settings.
    #[actix_web::test]
    async fn minted_tokens_carry_the_required_claims() {
        let server = AuthSettings {
            jwt_secret: "a-load-secret-of-enough-length".into(),
            issuer: "https://idp.example".into(),
            audience: "switchboard".into(),
            role_claim: "realm_access.roles".into(),
            max_token_ttl_secs: 3600,
            ..auth()
        };
        let minter = Minter::new(Some("a-load-secret-of-enough-length"), false, &server);
        let http = awc::Client::default();
        let token = minter
            .token(&http, "http://unused", "load-u1", Role::User, "Load User")
            .await
            .unwrap_or_else(|e| panic!("mint: {e}"));
        let principal = JwtKeys::from_settings(&server)
            .verify(&token, chrono::Utc::now().timestamp())
            .unwrap_or_else(|e| panic!("the server refuses the minted token: {e}"));
        assert_eq!(principal.id, "load-u1");
        assert_eq!(principal.role, Role::User);
    }
}
