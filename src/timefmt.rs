//! Timestamps on the wire: RFC 3339, UTC, milliseconds, `Z` (contract §1); and the durations the
//! command line takes (`30m`, `8h`).

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-11-25T11:20:56.123Z`
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `rfc3339` for optional timestamps.
pub fn rfc3339_opt(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(rfc3339)
}

/// Parses `90s`, `30m`, `8h`, `2d` (a bare number is seconds).
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m or 8h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("ttl must be greater than 0".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(28_800)));
        assert!(parse_ttl("8w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("0s").is_err());
    }
}
