//! What the harness tells its operator: a progress line each second, a table at the end, and the
//! JSON report of contract §7 (its keys, plus `seconds`: each progress line; latencies in milliseconds).

use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::estimate::EstimateReport;
use super::stats::{Second, SecondP99, Stats};

/// `{"p50","p90","p99","p999","max"}` in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p999: at(0.999),
            max: if h.is_empty() { 0.0 } else { ms(h.max()) },
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    pub connect: Percentiles,
    pub assign: Percentiles,
    pub ack: Percentiles,
    pub deliver: Percentiles,
}

/// The report of contract §7.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub connections: u64,
    pub chats_routed: u64,
    pub chats_routed_per_sec: f64,
    pub messages_acked: u64,
    pub messages_per_sec: f64,
    pub errors: BTreeMap<String, u64>,
    pub latency_ms: LatencyReport,
    /// Each second's progress line (an addition to contract §7's keys): a stall shows up as a
    /// second whose p99 jumps.
    pub seconds: Vec<Second>,
    /// The estimated-wait scenario's figures (`--handle-time` runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_wait: Option<EstimateReport>,
}

fn per_sec(count: u64, from: Option<Instant>, until: Option<Instant>) -> f64 {
    match (from, until) {
        (Some(from), Some(until)) if until > from => {
            let rate = count as f64 / until.duration_since(from).as_secs_f64();
            (rate * 10.0).round() / 10.0
        }
        _ => 0.0,
    }
}

impl Report {
    pub fn from_stats(stats: &Stats) -> Self {
        Report {
            connections: stats.peak_connections,
            chats_routed: stats.chats_routed,
            chats_routed_per_sec: per_sec(
                stats.chats_routed,
                stats.routing_from,
                stats.last_routed,
            ),
            messages_acked: stats.messages_acked,
            messages_per_sec: per_sec(
                stats.messages_acked,
                stats.converse_from,
                stats.converse_until,
            ),
            errors: stats.errors.clone(),
            latency_ms: LatencyReport {
                connect: Percentiles::of(&stats.totals.connect),
                assign: Percentiles::of(&stats.totals.assign),
                ack: Percentiles::of(&stats.totals.ack),
                deliver: Percentiles::of(&stats.totals.deliver),
            },
            seconds: stats.seconds.clone(),
            estimated_wait: None,
        }
    }

    /// The end-of-run table.
    pub fn table(&self, stats: &Stats) -> String {
        let mut out = String::new();
        let l = &self.latency_ms;
        out.push_str("latency (ms)      p50      p90      p99    p99.9      max\n");
        for (name, p) in [
            ("connect", &l.connect),
            ("assign", &l.assign),
            ("ack", &l.ack),
            ("deliver", &l.deliver),
        ] {
            out.push_str(&format!(
                "{name:<12} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
                p.p50, p.p90, p.p99, p.p999, p.max
            ));
        }
        out.push_str(&format!(
            "connections held (peak) {}\nchats started {}  routed {} ({}/s)  closed {}\n\
             messages sent {}  acked {} ({}/s)  failed {}  delivered {}\nchurn cycles {}\n",
            self.connections,
            stats.chats_started,
            self.chats_routed,
            self.chats_routed_per_sec,
            stats.chats_closed,
            stats.messages_sent,
            self.messages_acked,
            self.messages_per_sec,
            stats.messages_failed,
            stats.messages_delivered,
            stats.churn_cycles,
        ));
        let errors = stats.error_count();
        out.push_str(&format!(
            "errors {errors} of {} operations ({:.4}%)",
            stats.attempts(),
            error_share(stats) * 100.0
        ));
        for (code, n) in &self.errors {
            out.push_str(&format!("\n  {code:<20} {n}"));
        }
        if let Some(estimates) = &self.estimated_wait {
            out.push('\n');
            out.push_str(&estimates.line());
        }
        out
    }
}

/// Errors as a share of the operations attempted.
pub fn error_share(stats: &Stats) -> f64 {
    let attempts = stats.attempts();
    if attempts == 0 {
        0.0
    } else {
        stats.error_count() as f64 / attempts as f64
    }
}

/// Counters at the previous progress line, to print per-second deltas.
#[derive(Default)]
pub struct Progress {
    routed: u64,
    acked: u64,
}

impl Progress {
    /// One progress line, then a fresh window for the next second.
    pub fn line(&mut self, phase: &'static str, stats: &mut Stats) -> String {
        let p99 = |h: &Histogram<u64>| {
            if h.is_empty() {
                0.0
            } else {
                h.value_at_quantile(0.99) as f64 / 1000.0
            }
        };
        let second = Second {
            t: stats.t0.elapsed().as_secs_f64().round() as u64,
            phase,
            routed: stats.chats_routed - self.routed,
            acked: stats.messages_acked - self.acked,
            p99_ms: SecondP99 {
                ack: p99(&stats.window.ack),
                deliver: p99(&stats.window.deliver),
                assign: p99(&stats.window.assign),
            },
        };
        let line = format!(
            "[{:>5.0}s {phase:<8}] conns {:>6}  routed {:>6} (+{:<5})  msgs/s {:>6}  p99 ms: ack {:>7.2} deliver {:>7.2} assign {:>7.2}  errors {}",
            stats.t0.elapsed().as_secs_f64(),
            stats.connections,
            stats.chats_routed,
            second.routed,
            second.acked,
            second.p99_ms.ack,
            second.p99_ms.deliver,
            second.p99_ms.assign,
            stats.error_count(),
        );
        stats.seconds.push(second);
        self.routed = stats.chats_routed;
        self.acked = stats.messages_acked;
        stats.window.reset();
        line
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    /// Acks of 1, 2, …, 1000 ms: the report's percentiles are those of the known values (HDR keeps
    /// three significant figures), in milliseconds.
    #[test]
    fn percentiles_are_those_of_the_recorded_latencies() {
        let mut stats = Stats::new().unwrap();
        for ms in 1..=1000u64 {
            stats.acked(ms * 1000);
        }
        let ack = Report::from_stats(&stats).latency_ms.ack;
        let near = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        for (got, want) in [
            (ack.p50, 500.0),
            (ack.p90, 900.0),
            (ack.p99, 990.0),
            (ack.p999, 999.0),
            (ack.max, 1000.0),
        ] {
            assert!(near(got, want), "{got} is not {want}: {ack:?}");
        }
        // Nothing recorded: zeros, not a panic.
        let deliver = Report::from_stats(&stats).latency_ms.deliver;
        assert_eq!((deliver.p50, deliver.max), (0.0, 0.0));
    }

    /// Errors are counted by code, and their share is of every operation attempted.
    #[test]
    fn errors_are_counted_by_code_and_share_the_attempts() {
        let mut stats = Stats::new().unwrap();
        stats.connects_attempted = 10;
        stats.messages_sent = 980;
        stats.commands_sent = 10;
        for code in ["rate_limited", "rate_limited", "unavailable"] {
            stats.error(code);
        }
        let report = Report::from_stats(&stats);
        assert_eq!(
            report.errors,
            BTreeMap::from([("rate_limited".into(), 2), ("unavailable".into(), 1)])
        );
        assert_eq!(error_share(&stats), 3.0 / 1000.0);
        assert!(report.table(&stats).contains("errors 3 of 1000 operations"));
        assert_eq!(error_share(&Stats::new().unwrap()), 0.0);
    }

    /// Rates are per second of the phase they belong to, not of the whole run.
    #[test]
    fn rates_count_over_their_own_phase() {
        let mut stats = Stats::new().unwrap();
        let from = Instant::now();
        for _ in 0..500 {
            stats.acked(1000);
        }
        stats.converse_from = Some(from);
        stats.converse_until = Some(from + Duration::from_secs(2));
        stats.routing_from = Some(from);
        stats.last_routed = Some(from + Duration::from_millis(500));
        stats.chats_routed = 100;
        let report = Report::from_stats(&stats);
        assert_eq!(report.messages_acked, 500);
        assert_eq!(report.messages_per_sec, 250.0);
        assert_eq!(report.chats_routed_per_sec, 200.0);
    }
}
