//! HS256 JSON Web Tokens (contract §2): signing for `switchboard token` and `/dev/token`, strict
//! verification for everything else. Only `alg: HS256` is accepted; `exp` is required and checked.
//! The verifier is small on purpose: one algorithm, constant-time MAC comparison, no key confusion.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{Role, is_valid_id};

type HmacSha256 = Hmac<Sha256>;

/// The claims Switchboard reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The principal id (queue, analyst or user id syntax).
    pub sub: String,
    pub role: Role,
    /// Display name shown to the other side of a chat.
    pub name: String,
    /// Expiry, seconds since the Unix epoch. Required.
    pub exp: i64,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub id: String,
    pub role: Role,
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
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// The HS256 key, kept out of `Debug` output.
#[derive(Clone)]
pub struct JwtKeys {
    secret: Vec<u8>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    pub fn new(secret: &str) -> Self {
        JwtKeys {
            secret: secret.as_bytes().to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    /// Signs `claims` as a compact HS256 JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// Verifies a compact JWT at time `now` (Unix seconds) and returns its principal.
    pub fn verify(&self, token: &str, now: i64) -> Result<Principal, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::Malformed)
        };
        let header: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| TokenError::Malformed)?;
        if header.alg != "HS256" {
            return Err(TokenError::Algorithm);
        }
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..token.len() - signature.len() - 1]);
        mac.verify_slice(&decode(signature)?)
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = serde_json::from_slice(&decode(payload)?)
            .map_err(|e| TokenError::Claims(e.to_string()))?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
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
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "alice".into(),
            role: Role::Analyst,
            name: "Alice Smith".into(),
            exp,
        }
    }

    #[test]
    fn a_signed_token_verifies() {
        let keys = JwtKeys::new("s3cret");
        let p = keys.verify(&keys.sign(&claims(2_000)), 1_000).unwrap();
        assert_eq!((p.id.as_str(), p.role), ("alice", Role::Analyst));
    }

    #[test]
    fn wrong_key_expiry_and_alg_none_are_refused() {
        let keys = JwtKeys::new("s3cret");
        let token = keys.sign(&claims(2_000));
        assert_eq!(
            JwtKeys::new("other").verify(&token, 1_000),
            Err(TokenError::Signature)
        );
        assert_eq!(keys.verify(&token, 2_000), Err(TokenError::Expired));
        let payload = token.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#)
        );
        assert_eq!(keys.verify(&none, 1_000), Err(TokenError::Algorithm));
        assert_eq!(keys.verify("a.b", 1_000), Err(TokenError::Malformed));
    }
}
