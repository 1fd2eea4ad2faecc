//! Timestamps on the wire: RFC 3339, UTC, milliseconds, `Z` (contract §1).

use chrono::{DateTime, SecondsFormat, Utc};

/// `2026-11-25T11:20:56.123Z`
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `rfc3339` for optional timestamps.
pub fn rfc3339_opt(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(rfc3339)
}
