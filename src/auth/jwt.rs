//! JSON Web Tokens (contract §2, §10.3) on the maintained `jsonwebtoken` crate (its pure-Rust
//! backend): HS256 signing for `switchboard token` and `/dev/token` (with `iss`/`aud` when
//! configured), and strict verification of HS256 tokens against `auth.jwt_secret` (only when one
//! is set) and of RS256 and ES256 tokens against the identity provider's keys (`auth::jwks`,
//! each key for its own algorithm only). The claims are then read by `auth::claims`: `exp`
//! required and strict, `nbf` with leeway, `iss`/`aud`, the role and name claims.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::claims::ClaimRules;
use super::jwks_source::Jwks;
use crate::domain::Role;
use crate::settings::AuthSettings;

/// `auth.max_token_ttl_secs`'s compiled-in default, used by keys made with `JwtKeys::new`.
pub const DEFAULT_MAX_TTL_SECS: u64 = 86_400;

/// `auth.leeway_secs`'s compiled-in default, used by keys made with `JwtKeys::new`.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// The claims Switchboard puts in a token it signs (plus `iss` and `aud` when configured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The principal id (queue, analyst or user id syntax).
    pub sub: String,
    /// What the principal may do.
    pub role: Role,
    /// Display name shown to the other side of a chat.
    pub name: String,
    /// Expiry, seconds since the Unix epoch. Required.
    pub exp: i64,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The principal id.
    pub id: String,
    /// The principal's role.
    pub role: Role,
    /// Display name.
    pub name: String,
}

/// Why a token was refused. The message is safe to show; the token itself never appears in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a JWT")]
    Malformed,
    #[error(
        "token algorithm is not accepted here (HS256 with the configured secret, RS256 or ES256 with the identity provider's key of that type)"
    )]
    Algorithm,
    #[error("token signature does not verify")]
    Signature,
    #[error("token claims are invalid: {0}")]
    Claims(String),
    #[error("token has expired")]
    Expired,
    #[error("token lifetime is longer than the server accepts (auth.max_token_ttl_secs)")]
    TooLong,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("no token secret is configured")]
    NoKey,
    #[error("token key {0:?} is not among the identity provider's keys")]
    UnknownKey(String),
    /// A genuine token that names nobody Switchboard serves (no known role, a bad `sub`): 403.
    #[error("token is not accepted: {0}")]
    Forbidden(String),
    #[error("token could not be signed: {0}")]
    Sign(String),
}

/// The HS256 key pair, the identity provider's keys and the claim rules, kept out of `Debug`.
#[derive(Clone)]
pub struct JwtKeys {
    /// Signing and verifying keys; `None` for an empty secret (HS256 is then refused).
    keys: Option<Arc<(EncodingKey, DecodingKey)>>,
    /// The identity provider's keys for RS256 and ES256, when configured.
    jwks: Option<Arc<Jwks>>,
    /// What the claims must satisfy.
    rules: ClaimRules,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    /// Keys for `secret` with the default lifetime and leeway rules.
    pub fn new(secret: &str) -> Self {
        let keys = EncodingKey::from_secret(secret.as_bytes())
            .and_then(|enc| Ok((enc, DecodingKey::from_secret(secret.as_bytes())?)))
            .ok()
            .filter(|_| !secret.is_empty())
            .map(Arc::new);
        JwtKeys {
            keys,
            jwks: None,
            rules: ClaimRules::new(DEFAULT_MAX_TTL_SECS, DEFAULT_LEEWAY_SECS),
        }
    }

    /// Keys for the configured secret and claim rules (the identity provider's keys are added
    /// with `with_jwks`).
    pub fn from_settings(auth: &AuthSettings) -> Self {
        JwtKeys {
            rules: ClaimRules::from_settings(auth),
            ..JwtKeys::new(&auth.jwt_secret)
        }
    }

    /// The same keys with another longest lifetime and `nbf` leeway, in seconds.
    pub fn with_limits(mut self, max_ttl_secs: u64, leeway_secs: u64) -> Self {
        let limits = ClaimRules::new(max_ttl_secs, leeway_secs);
        self.rules.max_ttl_secs = limits.max_ttl_secs;
        self.rules.leeway_secs = limits.leeway_secs;
        self
    }

    /// The same keys, also verifying RS256 and ES256 tokens against `jwks`.
    pub fn with_jwks(mut self, jwks: Arc<Jwks>) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// The identity provider's keys, when configured.
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    /// Signs `claims` as a compact HS256 JWT the same server accepts: with the configured `iss`
    /// and `aud`, and the role and name where `auth.role_claim` and `auth.name_claim` point.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let (encoding, _) = self.keys.as_deref().ok_or(TokenError::NoKey)?;
        let signed = self.rules.claims_for(claims);
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &signed, encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// Verifies a compact JWT at time `now` (Unix seconds) and returns its principal. An RS256 or
    /// ES256 token whose `kid` is not (yet) known is `UnknownKey`: the caller may refetch the
    /// keys and try again.
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, TokenError> {
        // The header first, so that `alg: none` (not an algorithm the library knows) reads as an
        // algorithm refusal rather than a malformed token.
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::Json(json) if json.is_data() => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
        let keys;
        let decoding = match header.alg {
            Algorithm::HS256 => {
                let (_, decoding) = self.keys.as_deref().ok_or(if self.jwks.is_some() {
                    TokenError::Algorithm
                } else {
                    TokenError::NoKey
                })?;
                decoding
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                keys = self.jwks.as_ref().ok_or(TokenError::Algorithm)?.keys();
                keys.key_for(header.kid.as_deref(), header.alg)?
            }
            _ => return Err(TokenError::Algorithm),
        };
        let mut validation = Validation::new(header.alg);
        validation.set_required_spec_claims(&["exp"]);
        // The library compares with the wall clock and one leeway for both claims, and `aud` as
        // one fixed set; the contract wants exp strict, nbf with leeway and aud optional, against
        // an injectable `now`, so `ClaimRules` checks them.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, decoding, &validation)
            .map_err(|e| match e.into_kind() {
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                    TokenError::Malformed
                }
                ErrorKind::Json(json) => TokenError::Claims(json.to_string()),
                ErrorKind::MissingRequiredClaim(claim) => {
                    TokenError::Claims(format!("{claim} is required"))
                }
                ErrorKind::InvalidClaimFormat(claim) => {
                    TokenError::Claims(format!("{claim} is not a number"))
                }
                _ => TokenError::Signature,
            })?
            .claims;
        self.rules.principal(&claims, now)
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
