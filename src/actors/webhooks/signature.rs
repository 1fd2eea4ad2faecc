//! Standard Webhooks signing: secrets are `whsec_` + base64 of at least 24 random bytes, the
//! HMAC key being the decoded bytes; a delivery is signed `v1,<base64 HMAC-SHA256(key,
//! "{webhook-id}.{webhook-timestamp}.{body}")>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest key bytes a secret may hold.
pub const MIN_SECRET_BYTES: usize = 24;
/// Most key bytes a secret may hold.
pub const MAX_SECRET_BYTES: usize = 64;
/// Key bytes of a generated secret.
const GENERATED_BYTES: usize = 32;

/// A fresh secret.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; GENERATED_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret, or why it is not one.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| format!("secret must start with {SECRET_PREFIX}"))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("secret must be {SECRET_PREFIX} followed by base64"))?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err(format!(
            "secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes after {SECRET_PREFIX}"
        ));
    }
    Ok(key)
}

/// The `webhook-signature` header of a delivery.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(err) => {
            tracing::error!(error = %err, "webhook key refused");
            return String::new();
        }
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_valid_and_differ() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(secret_key(&a).map(|k| k.len()), Ok(GENERATED_BYTES));
    }

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(secret_key("whsec_").is_err());
        assert!(secret_key(&format!("whsec_{}", STANDARD.encode([1u8; 23]))).is_err());
        assert!(secret_key(&format!("sk_{}", STANDARD.encode([1u8; 24]))).is_err());
        assert!(secret_key("whsec_not base64!").is_err());
        assert!(secret_key(&format!("whsec_{}", STANDARD.encode([1u8; 24]))).is_ok());
    }

    /// The example of the Standard Webhooks specification.
    #[test]
    fn matches_the_specification_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
