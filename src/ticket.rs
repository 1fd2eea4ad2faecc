//! The host's ticket on a call (contract §10.2): the syntax of `external_ref` (the ticket id, e.g.
//! `INC0012345`) and `external_url` (where the ticket lives), checked at the edges (the
//! `start_chat` command and the calls routes) before anything is stored. Bottom floor: no actors,
//! no store.

use crate::error::AppError;

/// Longest `external_ref`, in characters.
pub const MAX_REF_CHARS: usize = 64;

/// Longest `external_url`, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// An `external_ref` is 1 to 64 characters, without control characters or surrounding spaces.
pub fn check_ref(field: &str, value: &str) -> Result<(), AppError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_REF_CHARS {
        return Err(AppError::bad_request(format!(
            "{field} must be 1 to {MAX_REF_CHARS} characters"
        )));
    }
    if value.trim() != value || value.chars().any(char::is_control) {
        return Err(AppError::bad_request(format!(
            "{field} must not hold control characters or leading or trailing spaces"
        )));
    }
    Ok(())
}

/// An `external_url` is an absolute `http` or `https` URL with a host, at most 2048 bytes.
pub fn check_url(field: &str, value: &str) -> Result<(), AppError> {
    let bad = || AppError::bad_request(format!("{field} must be an absolute http(s) URL"));
    if value.len() > MAX_URL_BYTES {
        return Err(AppError::bad_request(format!(
            "{field} must be at most {MAX_URL_BYTES} bytes"
        )));
    }
    if is_http_url(value) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// Whether `value` parses as an absolute `http` or `https` URL with a host: the rule for
/// `external_url` and for webhook endpoints alike.
pub fn is_http_url(value: &str) -> bool {
    value.parse::<actix_web::http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_short_printable_and_trimmed() {
        for ok in ["INC0012345", "JSM-42", "a", &"x".repeat(64), "Zammad #17"] {
            assert!(check_ref("external_ref", ok).is_ok(), "{ok}");
        }
        for bad in ["", &"x".repeat(65), " INC1", "INC1 ", "IN\nC1"] {
            let err = check_ref("external_ref", bad).unwrap_err();
            assert!(err.message.contains("external_ref"), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_are_absolute_http_or_https() {
        for ok in [
            "https://acme.service-now.com/nav_to.do?uri=incident.do?sys_id=1",
            "http://zammad.local:3000/#ticket/zoom/17",
            "https://jira.example.com/browse/JSM-42",
        ] {
            assert!(check_url("external_url", ok).is_ok(), "{ok}");
        }
        let long = format!("https://a.example/{}", "x".repeat(2048));
        for bad in [
            "",
            "/relative/path",
            "ftp://example.com/file",
            "javascript:alert(1)",
            "https://",
            "example.com/x",
            long.as_str(),
        ] {
            assert!(check_url("external_url", bad).is_err(), "{bad}");
        }
    }
}
