//! Turning a verified token's claims into a `Principal` (contract §2, §10.3): `exp` required and
//! strict, no further ahead than the longest lifetime; `nbf` with leeway; `iss` and `aud` when
//! configured; the role from a dotted claim path (a string, or an array whose first known role
//! wins) and the name from another. A token without a known role, or whose `sub` is outside the
//! id syntax, is `Forbidden`: it is genuine, it just names nobody Switchboard serves.

use serde_json::{Value, json};

use super::jwt::{Claims, Principal, TokenError};
use crate::domain::{Role, is_valid_id};
use crate::settings::AuthSettings;

/// What a token's claims must satisfy, beyond its signature.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Longest accepted distance from now to `exp`, in seconds.
    pub max_ttl_secs: i64,
    /// Clock-skew allowance for `nbf`, in seconds.
    pub leeway_secs: i64,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Required `aud` (or one of them), if any.
    pub audience: Option<String>,
    /// Dotted path to the role claim.
    pub role_claim: Vec<String>,
    /// Dotted path to the name claim.
    pub name_claim: Vec<String>,
}

fn path(dotted: &str) -> Vec<String> {
    dotted.split('.').map(str::to_string).collect()
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

impl ClaimRules {
    /// The rules for tokens Switchboard signs itself with no settings: `role`, `name`, no
    /// `iss`/`aud`.
    pub fn new(max_ttl_secs: u64, leeway_secs: u64) -> Self {
        ClaimRules {
            max_ttl_secs: secs(max_ttl_secs),
            leeway_secs: secs(leeway_secs),
            issuer: None,
            audience: None,
            role_claim: path("role"),
            name_claim: path("name"),
        }
    }

    /// The configured rules.
    pub fn from_settings(auth: &AuthSettings) -> Self {
        ClaimRules {
            issuer: non_empty(&auth.issuer),
            audience: non_empty(&auth.audience),
            role_claim: path(&auth.role_claim),
            name_claim: path(&auth.name_claim),
            ..ClaimRules::new(auth.max_token_ttl_secs, auth.leeway_secs)
        }
    }

    /// The claims of a token Switchboard signs for `claims`, laid out as these rules read them.
    pub fn claims_for(&self, claims: &Claims) -> Value {
        let mut out = json!({"sub": claims.sub, "exp": claims.exp});
        if let Some(issuer) = &self.issuer {
            out["iss"] = json!(issuer);
        }
        if let Some(audience) = &self.audience {
            out["aud"] = json!(audience);
        }
        place(&mut out, &self.role_claim, json!(claims.role));
        place(&mut out, &self.name_claim, json!(claims.name));
        out
    }

    /// The principal the claims name at time `now` (Unix seconds), or why not.
    pub fn principal(&self, claims: &Value, now: i64) -> Result<Principal, TokenError> {
        let exp = claims
            .get("exp")
            .ok_or_else(|| TokenError::Claims("exp is required".into()))?
            .as_i64()
            .ok_or_else(|| TokenError::Claims("exp is not a number".into()))?;
        if exp <= now {
            return Err(TokenError::Expired);
        }
        if exp > now.saturating_add(self.max_ttl_secs) {
            return Err(TokenError::TooLong);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf
                .as_i64()
                .ok_or_else(|| TokenError::Claims("nbf is not a number".into()))?;
            if nbf > now.saturating_add(self.leeway_secs) {
                return Err(TokenError::NotYetValid);
            }
        }
        if let Some(issuer) = &self.issuer
            && claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str())
        {
            return Err(TokenError::Claims(
                "iss is not the configured issuer".into(),
            ));
        }
        if let Some(audience) = &self.audience
            && !names_audience(claims.get("aud"), audience)
        {
            return Err(TokenError::Claims("aud does not name this service".into()));
        }
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Claims("sub is required".into()))?;
        if !is_valid_id(sub) {
            return Err(TokenError::Forbidden("sub is not a valid id".into()));
        }
        let role = known_role(lookup(claims, &self.role_claim)).ok_or_else(|| {
            TokenError::Forbidden(format!(
                "no known role in {} (user, analyst, manager, admin, service)",
                self.role_claim.join(".")
            ))
        })?;
        let name = lookup(claims, &self.name_claim)
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty() && n.chars().count() <= 200)
            .ok_or_else(|| {
                TokenError::Claims(format!(
                    "{} must be a name of 1 to 200 characters",
                    self.name_claim.join(".")
                ))
            })?;
        Ok(Principal {
            id: sub.to_string(),
            role,
            name: name.to_string(),
        })
    }
}

/// Sets the value at a dotted path, making the objects on the way.
fn place(claims: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = claims;
    for key in parents {
        if !at.get(key).is_some_and(Value::is_object) {
            at[key.as_str()] = json!({});
        }
        at = &mut at[key.as_str()];
    }
    at[last.as_str()] = value;
}

/// The value at a dotted path, if every step is an object holding the next key.
fn lookup<'a>(claims: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(claims, |value, key| value.get(key))
}

/// A role string, or the first element of an array that is one.
fn known_role(value: Option<&Value>) -> Option<Role> {
    match value? {
        Value::String(s) => s.parse().ok(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .find_map(|s| s.parse().ok()),
        _ => None,
    }
}

/// `aud` is the audience, or an array holding it.
fn names_audience(aud: Option<&Value>, audience: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == audience,
        Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: Some("https://idp.example".into()),
            audience: Some("switchboard".into()),
            role_claim: path("realm_access.roles"),
            name_claim: path("preferred_username"),
            ..ClaimRules::new(86_400, 30)
        }
    }

    fn claims(roles: Value) -> Value {
        json!({"sub": "alice", "exp": 2_000, "iss": "https://idp.example",
            "aud": ["account", "switchboard"], "realm_access": {"roles": roles},
            "preferred_username": "Alice"})
    }

    #[test]
    fn the_first_known_role_in_a_nested_array_wins() {
        let p = rules()
            .principal(
                &claims(json!(["offline_access", "analyst", "admin"])),
                1_000,
            )
            .unwrap();
        assert_eq!(
            (p.id.as_str(), p.role, p.name.as_str()),
            ("alice", Role::Analyst, "Alice")
        );
        let p = rules().principal(&claims(json!("service")), 1_000).unwrap();
        assert_eq!(p.role, Role::Service);
    }

    #[test]
    fn signed_claims_are_laid_out_as_the_rules_read_them() {
        let claims = Claims {
            sub: "alice".into(),
            role: Role::Manager,
            name: "Alice".into(),
            exp: 2_000,
        };
        let laid = rules().claims_for(&claims);
        assert_eq!(laid["realm_access"]["roles"], "manager");
        assert_eq!(laid["iss"], "https://idp.example");
        let p = rules().principal(&laid, 1_000).unwrap();
        assert_eq!((p.role, p.name.as_str()), (Role::Manager, "Alice"));
    }

    #[test]
    fn no_known_role_or_a_bad_sub_is_forbidden() {
        for roles in [json!(["offline_access"]), json!([]), json!(7), Value::Null] {
            assert!(matches!(
                rules().principal(&claims(roles), 1_000),
                Err(TokenError::Forbidden(_))
            ));
        }
        let mut bad_sub = claims(json!(["user"]));
        bad_sub["sub"] = json!("not an id");
        assert!(matches!(
            rules().principal(&bad_sub, 1_000),
            Err(TokenError::Forbidden(_))
        ));
    }

    #[test]
    fn issuer_and_audience_must_match_when_set() {
        let mut wrong_iss = claims(json!(["user"]));
        wrong_iss["iss"] = json!("https://evil.example");
        assert!(matches!(
            rules().principal(&wrong_iss, 1_000),
            Err(TokenError::Claims(_))
        ));
        let mut no_iss = claims(json!(["user"]));
        no_iss.as_object_mut().unwrap().remove("iss");
        assert!(rules().principal(&no_iss, 1_000).is_err());
        let mut wrong_aud = claims(json!(["user"]));
        wrong_aud["aud"] = json!("other");
        assert!(rules().principal(&wrong_aud, 1_000).is_err());
        let mut one_aud = claims(json!(["user"]));
        one_aud["aud"] = json!("switchboard");
        assert!(rules().principal(&one_aud, 1_000).is_ok());
    }
}
