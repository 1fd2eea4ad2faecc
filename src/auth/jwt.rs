//! HS256 JSON Web Tokens (contract §2): signing for `switchboard token` and `/dev/token`, strict
//! verification for everything else, on the maintained `jsonwebtoken` crate (its pure-Rust
//! backend). Only `alg: HS256` is accepted. `exp` is required and strict (no leeway), and may be no
//! further ahead than `auth.max_token_ttl_secs`; `nbf`, when present, is honoured with
//! `auth.leeway_secs` of clock skew.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Role, is_valid_id};
use crate::settings::AuthSettings;

/// `auth.max_token_ttl_secs`'s compiled-in default, used by keys made with `JwtKeys::new`.
pub const DEFAULT_MAX_TTL_SECS: u64 = 86_400;

/// `auth.leeway_secs`'s compiled-in default, used by keys made with `JwtKeys::new`.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// The claims Switchboard puts in a token it signs.
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

/// The claims Switchboard reads from a token it verifies: `Claims` plus an optional `nbf`.
#[derive(Deserialize)]
struct ReadClaims {
    /// The principal id.
    sub: String,
    /// The principal's role; an unknown role does not parse.
    role: Role,
    /// Display name.
    name: String,
    /// Expiry, seconds since the Unix epoch.
    exp: i64,
    /// Not before, seconds since the Unix epoch.
    #[serde(default)]
    nbf: Option<i64>,
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
    #[error("token algorithm must be HS256")]
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
    #[error("token could not be signed: {0}")]
    Sign(String),
}

/// The HS256 key pair and the verification rules, kept out of `Debug` output.
#[derive(Clone)]
pub struct JwtKeys {
    /// Signing and verifying keys; `None` for an empty secret (every token is then refused).
    keys: Option<Arc<(EncodingKey, DecodingKey)>>,
    /// HS256 only, `exp` required; the time claims are checked here, against the caller's `now`.
    validation: Arc<Validation>,
    /// Longest accepted distance from now to `exp`, in seconds.
    max_ttl_secs: i64,
    /// Clock-skew allowance for `nbf`, in seconds.
    leeway_secs: i64,
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
            .map(Arc::new);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        // The library compares with the wall clock and one leeway for both claims; the contract
        // wants exp strict and nbf with leeway, against an injectable `now`, so `verify` does it.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        // `aud` is not configured (yet): a token carrying one is not refused for it.
        validation.validate_aud = false;
        JwtKeys {
            keys,
            validation: Arc::new(validation),
            max_ttl_secs: 0,
            leeway_secs: 0,
        }
        .with_limits(DEFAULT_MAX_TTL_SECS, DEFAULT_LEEWAY_SECS)
    }

    /// Keys for the configured secret, lifetime and leeway.
    pub fn from_settings(auth: &AuthSettings) -> Self {
        JwtKeys::new(&auth.jwt_secret).with_limits(auth.max_token_ttl_secs, auth.leeway_secs)
    }

    /// The same keys with another longest lifetime and `nbf` leeway, in seconds.
    pub fn with_limits(mut self, max_ttl_secs: u64, leeway_secs: u64) -> Self {
        self.max_ttl_secs = i64::try_from(max_ttl_secs).unwrap_or(i64::MAX);
        self.leeway_secs = i64::try_from(leeway_secs).unwrap_or(i64::MAX);
        self
    }

    /// Signs `claims` as a compact HS256 JWT.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        let (encoding, _) = self.keys.as_deref().ok_or(TokenError::NoKey)?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// Verifies a compact JWT at time `now` (Unix seconds) and returns its principal.
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, TokenError> {
        let (_, decoding) = self.keys.as_deref().ok_or(TokenError::NoKey)?;
        // The header first, so that `alg: none` (not an algorithm the library knows) reads as an
        // algorithm refusal rather than a malformed token.
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::Json(json) if json.is_data() => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Algorithm);
        }
        let claims = jsonwebtoken::decode::<ReadClaims>(token, decoding, &self.validation)
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
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.exp > now.saturating_add(self.max_ttl_secs) {
            return Err(TokenError::TooLong);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway_secs))
        {
            return Err(TokenError::NotYetValid);
        }
        if !is_valid_id(&claims.sub) {
            return Err(TokenError::Claims("sub is not a valid id".into()));
        }
        if claims.name.trim().is_empty() || claims.name.chars().count() > 200 {
            return Err(TokenError::Claims(
                "name must be 1 to 200 characters".into(),
            ));
        }
        Ok(Principal {
            id: claims.sub,
            role: claims.role,
            name: claims.name,
        })
    }
}

#[cfg(test)]
mod tests {
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
            Err(TokenError::Claims(_))
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
}
