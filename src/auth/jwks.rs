//! A JSON Web Key Set as the verifier uses it (contract §10.3): parsed from the identity provider's
//! `{"keys": [...]}`, keeping the signing keys Switchboard can verify (RSA for RS256, EC P-256 for
//! ES256) with the one algorithm each is for, and answering which key verifies a token's `kid` and
//! `alg`. A key named for another algorithm than the token's is refused, so a key is only ever
//! used for its own type (no RSA key as an HMAC secret). Keys of other types or for encryption
//! are skipped, not fatal: providers publish those too.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::jwt::TokenError;

/// One verification key.
#[derive(Clone)]
struct Key {
    /// Its `kid`, when the set names it.
    kid: Option<String>,
    /// The one algorithm it verifies.
    alg: Algorithm,
    key: DecodingKey,
}

/// The usable keys of a JWKS.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<_> = self.keys.iter().map(|k| (&k.kid, k.alg)).collect();
        f.debug_struct("KeySet").field("keys", &kids).finish()
    }
}

/// The document: keys are read one by one, so one odd key does not hide the others.
#[derive(Deserialize)]
struct Document {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWKS document; an error when it is not one, or holds no usable key.
    pub fn parse(bytes: &[u8]) -> Result<KeySet, String> {
        let doc: Document =
            serde_json::from_slice(bytes).map_err(|e| format!("not a JWKS document: {e}"))?;
        let keys: Vec<Key> = doc
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| usable(&jwk))
            .collect();
        if keys.is_empty() {
            return Err("the JWKS holds no RSA or EC P-256 signing key".into());
        }
        Ok(KeySet { keys })
    }

    /// Whether a key is named `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key for a token's `kid` and `alg`. Without a `kid`, the set's only key for `alg`.
    pub fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<&DecodingKey, TokenError> {
        let found = match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut of_alg = self.keys.iter().filter(|k| k.alg == alg);
                match (of_alg.next(), of_alg.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        };
        let key = found.ok_or_else(|| TokenError::UnknownKey(kid.unwrap_or("").to_string()))?;
        if key.alg != alg {
            return Err(TokenError::Algorithm);
        }
        Ok(&key.key)
    }
}

/// The key, if it is a signing key of a type and curve Switchboard verifies.
fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    // A key that names its algorithm must name the one its type is verified with here.
    let named = jwk.common.key_algorithm;
    let fits = match named {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    if !fits {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// An EC P-256 public key (the RFC 7515 appendix A.3 example).
    fn ec(kid: &str) -> serde_json::Value {
        json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    }

    #[test]
    fn keys_are_found_by_kid_and_only_for_their_algorithm() {
        let doc = json!({"keys": [ec("ec-1"), {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1, "the oct and encryption keys are skipped");
        assert!(set.key_for(Some("ec-1"), Algorithm::ES256).is_ok());
        assert!(
            set.key_for(None, Algorithm::ES256).is_ok(),
            "the only ES256 key"
        );
        assert_eq!(
            set.key_for(Some("ec-1"), Algorithm::RS256).err(),
            Some(TokenError::Algorithm)
        );
        assert_eq!(
            set.key_for(Some("ec-2"), Algorithm::ES256).err(),
            Some(TokenError::UnknownKey("ec-2".into()))
        );
    }

    #[test]
    fn a_key_naming_another_algorithm_or_a_set_without_keys_is_refused() {
        let mut hs = ec("ec-1");
        hs["alg"] = json!("HS256");
        assert!(KeySet::parse(json!({"keys": [hs]}).to_string().as_bytes()).is_err());
        assert!(KeySet::parse(br#"{"keys": []}"#).is_err());
        assert!(KeySet::parse(b"<html>").is_err());
    }
}
