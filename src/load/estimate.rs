//! The estimated-wait accuracy scenario's figures (contract §8.4, `--handle-secs`): each user's
//! first estimate against the wait that user then had, and the report's summary of their errors.
//!
//! A user's first estimate is the first non-null `estimated_wait_secs` it got (`start_chat`'s ok,
//! else the first `queue_position` that carried one); its actual wait runs from the moment it got
//! that estimate to its `chat_accepted`. The error of one user is `|estimate − actual| / actual`
//! (a share of the actual wait). The summary counts only users whose estimate came once the queue
//! had served (answered and ended) `SERVED_BEFORE` chats, and who waited at least
//! `MIN_WAIT_SECS` (an answer at once has no wait to take a share of).

use serde::Serialize;

/// The summary counts users estimated after this many chats were served (contract §8.4).
pub const SERVED_BEFORE: u64 = 50;
/// Users who waited less than this are left out of the summary (their share is not defined).
pub const MIN_WAIT_SECS: f64 = 1.0;

/// One user's first estimate and the wait that followed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The estimate, in seconds.
    pub estimate_secs: u64,
    /// From the estimate to the chat's acceptance, in seconds.
    pub waited_secs: f64,
    /// Chats the harness's analysts had closed when the estimate came.
    pub served_before: u64,
}

impl Sample {
    /// `|estimate − actual| / actual`.
    pub fn error_share(&self) -> f64 {
        (self.estimate_secs as f64 - self.waited_secs).abs() / self.waited_secs
    }
}

/// What the report says of the estimates (shares: 0.2 = 20 %).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateReport {
    /// Users counted: estimated after `served_before` chats served, and waited ≥ 1 s.
    pub users: usize,
    /// Users with a first estimate left out (estimated earlier, or answered within 1 s).
    pub left_out: usize,
    /// The served count the summary starts after.
    pub served_before: u64,
    /// Median absolute error, as a share of the actual wait (null with no user counted).
    pub median_abs_error: Option<f64>,
    /// 90th percentile of the same (nearest rank).
    pub p90_abs_error: Option<f64>,
    /// Median estimate and median actual wait of the users counted, in seconds.
    pub median_estimate_secs: Option<f64>,
    pub median_wait_secs: Option<f64>,
}

/// The value at quantile `q` of sorted `v` by nearest rank (the smallest value with at least
/// `q` of the values at or below it).
fn nearest_rank(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let rank = (q * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied()
}

/// The median of sorted `v` (the mean of the two middle values for an even count).
fn median(v: &[f64]) -> Option<f64> {
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

impl EstimateReport {
    pub fn of(samples: &[Sample]) -> Self {
        let counted: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.served_before >= SERVED_BEFORE && s.waited_secs >= MIN_WAIT_SECS)
            .collect();
        let errors = sorted(counted.iter().map(|s| s.error_share()).collect());
        let estimates = sorted(counted.iter().map(|s| s.estimate_secs as f64).collect());
        let waits = sorted(counted.iter().map(|s| s.waited_secs).collect());
        EstimateReport {
            users: counted.len(),
            left_out: samples.len() - counted.len(),
            served_before: SERVED_BEFORE,
            median_abs_error: median(&errors),
            p90_abs_error: nearest_rank(&errors, 0.9),
            median_estimate_secs: median(&estimates),
            median_wait_secs: median(&waits),
        }
    }

    /// The report's line in the end table.
    pub fn line(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1} %", v * 100.0));
        let secs = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} s"));
        format!(
            "estimated wait (first estimate, users estimated after {} served): {} users, \
             median abs error {}, p90 {}; median estimate {}, median wait {}; {} left out",
            self.served_before,
            self.users,
            pct(self.median_abs_error),
            pct(self.p90_abs_error),
            secs(self.median_estimate_secs),
            secs(self.median_wait_secs),
            self.left_out,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(estimate_secs: u64, waited_secs: f64, served_before: u64) -> Sample {
        Sample {
            estimate_secs,
            waited_secs,
            served_before,
        }
    }

    #[test]
    fn the_error_is_a_share_of_the_actual_wait() {
        assert_eq!(sample(12, 10.0, 60).error_share(), 0.2);
        assert_eq!(sample(8, 10.0, 60).error_share(), 0.2);
        assert_eq!(sample(30, 20.0, 60).error_share(), 0.5);
    }

    /// Ten users counted with errors 0 %, 10 %, …, 90 %: the median is 45 % (between the 5th
    /// and 6th) and the p90 the 9th (80 %); users estimated before 50 served and users answered
    /// within a second are left out, whatever their error.
    #[test]
    fn median_and_p90_of_the_users_counted() {
        let mut samples: Vec<Sample> = (0..10)
            .map(|i| sample(100 + 10 * i, 100.0, 50 + i))
            .collect();
        samples.push(sample(1000, 10.0, 49));
        samples.push(sample(5, 0.5, 80));
        let r = EstimateReport::of(&samples);
        assert_eq!((r.users, r.left_out), (10, 2));
        let near = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert!(near(r.median_abs_error, 0.45), "{r:?}");
        assert!(near(r.p90_abs_error, 0.8), "{r:?}");
        assert!(near(r.median_estimate_secs, 145.0), "{r:?}");
        assert!(near(r.median_wait_secs, 100.0), "{r:?}");
        assert!(
            r.line().contains("median abs error 45.0 %, p90 80.0 %"),
            "{}",
            r.line()
        );
    }

    #[test]
    fn an_odd_count_takes_the_middle_and_nothing_counted_says_none() {
        let r = EstimateReport::of(&[
            sample(11, 10.0, 50),
            sample(15, 10.0, 50),
            sample(10, 10.0, 50),
        ]);
        assert_eq!(r.median_abs_error, Some(0.1));
        assert_eq!(r.p90_abs_error, Some(0.5));
        let none = EstimateReport::of(&[sample(10, 10.0, 3)]);
        assert_eq!((none.users, none.left_out), (0, 1));
        assert_eq!((none.median_abs_error, none.p90_abs_error), (None, None));
        assert!(none.line().contains("median abs error -"));
    }
}
