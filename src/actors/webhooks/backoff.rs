//! When a failed delivery is tried again: `webhooks.retry_base_secs` after the first failure,
//! doubling after each one, until the delivery would be older than `webhooks.max_age_secs`;
//! then it has failed for good.

use chrono::{DateTime, Duration, Utc};

/// The next try after `attempts` failed tries of a delivery made at `created_at`; `None` when
/// it would pass its maximum age (failed for good).
pub fn next_attempt(
    attempts: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    base_secs: u64,
    max_age_secs: u64,
) -> Option<DateTime<Utc>> {
    let doublings = attempts.saturating_sub(1).min(40);
    let delay = base_secs
        .saturating_mul(1u64 << doublings)
        .min(max_age_secs);
    let next = now + Duration::seconds(i64::try_from(delay).unwrap_or(i64::MAX / 2));
    let max_age = Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX / 2));
    (next - created_at <= max_age).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_base_until_the_maximum_age() {
        let t0 = Utc::now();
        let gaps: Vec<i64> = (1..=5)
            .map(|n| {
                next_attempt(n, t0, t0, 5, 86_400)
                    .map(|t| (t - t0).num_seconds())
                    .unwrap_or(-1)
            })
            .collect();
        assert_eq!(gaps, vec![5, 10, 20, 40, 80]);
        let late = t0 + Duration::seconds(86_390);
        assert_eq!(next_attempt(3, t0, late, 5, 86_400), None);
        assert!(next_attempt(60, t0, t0, 5, 86_400).is_some());
    }
}
