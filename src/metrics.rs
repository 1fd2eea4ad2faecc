//! Every Prometheus metric the engine exports, defined once. Events are counted where they happen
//! (one-line calls from the store writer, the chat actors, the router and the sessions); figures of
//! live state (chats by state, queues, analysts) are read from the router when `/metrics` is
//! scraped (`render`). Also the one-minute message rate for `/api/v1/stats`.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::ops::OpsSnapshot;

mod attachments;
pub use attachments::{attachment_refused, attachment_stored};

/// The process-wide registry of counters and histograms.
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn counter(name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    let _ = REGISTRY.register(Box::new(c.clone()));
    c
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    let _ = REGISTRY.register(Box::new(c.clone()));
    c
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .unwrap_or_else(|e| unreachable!("metric {name}: {e}"));
    let _ = REGISTRY.register(Box::new(h.clone()));
    h
}

static CONNECTIONS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    let g = IntGaugeVec::new(
        Opts::new("switchboard_connections", "Open WebSocket connections"),
        &["role"],
    )
    .unwrap_or_else(|e| unreachable!("metric: {e}"));
    let _ = REGISTRY.register(Box::new(g.clone()));
    g
});
static MESSAGES_STORED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_messages_stored_total",
        "Chat messages committed to the database",
    )
});
static STORE_OVERLOADED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_store_overloaded_total",
        "Message groups refused because too many rows were already waiting for a commit",
    )
});
static SLOW_SESSIONS: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_slow_sessions_dropped_total",
        "WebSocket sessions dropped, their connection reset, for not reading their frames",
    )
});
static CHATS_STARTED: LazyLock<IntCounter> =
    LazyLock::new(|| counter("switchboard_chats_started_total", "Chats started"));
static CHATS_ENDED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "switchboard_chats_ended_total",
        "Chats ended, by end reason",
        &["reason"],
    )
});
static ASSIGNMENTS: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_assignments_total",
        "Chats given to an analyst (accepted or assigned)",
    )
});
static OFFERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "switchboard_offers_total",
        "Offers made, declined and timed out",
        &["outcome"],
    )
});
static WAIT_TO_ANSWER: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "switchboard_wait_to_answer_seconds",
        "From a chat's creation to its first answer",
        vec![
            1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
        ],
    )
});
static QUEUED_TO_ASSIGNED: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "switchboard_queued_to_assigned_seconds",
        "From a chat joining a queue (stored, or requeued) until its analyst is sent chat_assigned, \
         the assignment committed (auto routing)",
        vec![
            0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25,
            0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        ],
    )
});
static DELIVERY: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "switchboard_message_delivery_seconds",
        "From handing a message to the store writer until it is acked and relayed",
        prometheus::exponential_buckets(0.0005, 2.0, 14).unwrap_or_default(),
    )
});
static COMMIT: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "switchboard_db_batch_commit_seconds",
        "Time to commit one batch of messages",
        prometheus::exponential_buckets(0.0005, 2.0, 14).unwrap_or_default(),
    )
});
static BATCH_ROWS: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "switchboard_store_batch_rows",
        "Messages per committed batch",
        prometheus::exponential_buckets(1.0, 2.0, 11).unwrap_or_default(),
    )
});

/// A WebSocket session of `role` opened (+1) or closed (-1).
pub fn connection(role: &str, delta: i64) {
    CONNECTIONS.with_label_values(&[role]).add(delta);
}

/// Open WebSocket connections by role.
pub fn connections() -> BTreeMap<String, i64> {
    ["user", "analyst", "manager", "admin"]
        .into_iter()
        .map(|r| (r.to_string(), CONNECTIONS.with_label_values(&[r]).get()))
        .collect()
}

/// A batch of `rows` messages committed in `took` since `started`.
pub fn batch_committed(rows: usize, started: Instant) {
    COMMIT.observe(started.elapsed().as_secs_f64());
    BATCH_ROWS.observe(rows as f64);
    MESSAGES_STORED.inc_by(rows as u64);
    RATE.record(rows as u64);
}

/// A chat actor acked and relayed `count` messages handed to the writer at `handed`.
pub fn delivered(count: usize, handed: Instant) {
    let secs = handed.elapsed().as_secs_f64();
    for _ in 0..count {
        DELIVERY.observe(secs);
    }
}

/// The store writer refused a group: too many rows already waiting.
pub fn store_overloaded() {
    STORE_OVERLOADED.inc();
}

pub fn chat_started() {
    CHATS_STARTED.inc();
}

pub fn chat_ended(reason: &str) {
    CHATS_ENDED.with_label_values(&[reason]).inc();
}

/// A chat was given to an analyst; `first_wait_secs` when it is the chat's first answer.
pub fn assigned(first_wait_secs: Option<f64>) {
    ASSIGNMENTS.inc();
    if let Some(secs) = first_wait_secs {
        WAIT_TO_ANSWER.observe(secs.max(0.0));
    }
}

/// An auto-routed chat's analyst was sent `chat_assigned`, `waited` after it joined the queue.
pub fn queued_to_assigned(waited: std::time::Duration) {
    QUEUED_TO_ASSIGNED.observe(waited.as_secs_f64());
}

/// A session was dropped (its connection reset) because its client stopped reading.
pub fn slow_session_dropped() {
    SLOW_SESSIONS.inc();
}

/// An offer was `made`, `declined` or `timed_out`.
pub fn offer(outcome: &str) {
    OFFERS.with_label_values(&[outcome]).inc();
}

/// Messages stored per second, averaged over the last minute.
pub fn messages_per_sec() -> f64 {
    RATE.per_sec()
}

/// Per-second message counts of the last minute, indexed by second modulo 60.
struct Rate {
    slots: Mutex<[(u64, u64); 60]>,
}

static RATE: Rate = Rate {
    slots: Mutex::new([(0, 0); 60]),
};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Rate {
    fn record(&self, n: u64) {
        let now = now_secs();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut slots[(now % 60) as usize];
        if slot.0 != now {
            *slot = (now, 0);
        }
        slot.1 += n;
    }

    fn per_sec(&self) -> f64 {
        let now = now_secs();
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let total: u64 = slots
            .iter()
            .filter(|(at, _)| now.saturating_sub(*at) < 60)
            .map(|(_, n)| n)
            .sum();
        total as f64 / 60.0
    }
}

/// The Prometheus text exposition: the process-wide metrics plus the router's live figures.
/// `outbound` is the frames and bytes queued for all sessions (`Hub::outbound`).
pub fn render(
    snapshot: &OpsSnapshot,
    outbound: (usize, usize),
) -> Result<String, prometheus::Error> {
    for lazy in [
        &SLOW_SESSIONS,
        &MESSAGES_STORED,
        &CHATS_STARTED,
        &ASSIGNMENTS,
        &STORE_OVERLOADED,
    ] {
        LazyLock::force(lazy);
    }
    for lazy in [
        &WAIT_TO_ANSWER,
        &QUEUED_TO_ASSIGNED,
        &DELIVERY,
        &COMMIT,
        &BATCH_ROWS,
    ] {
        LazyLock::force(lazy);
    }
    // Every end reason is a series from the start, so a scrape never misses one.
    for reason in crate::domain::EndReason::ALL {
        CHATS_ENDED.with_label_values(&[reason.as_str()]);
    }
    attachments::touch();
    for outcome in ["made", "declined", "timed_out"] {
        OFFERS.with_label_values(&[outcome]);
    }
    for role in ["user", "analyst", "manager", "admin"] {
        CONNECTIONS.with_label_values(&[role]);
    }
    let live = Registry::new();
    let chats = gauge_vec(&live, "switchboard_chats", "Open chats by state", "state")?;
    for (state, n) in &snapshot.chats_by_state {
        chats.with_label_values(&[state.as_str()]).set(*n as i64);
    }
    let analysts = gauge_vec(
        &live,
        "switchboard_analysts",
        "Analysts by status (not connected counts as offline)",
        "status",
    )?;
    for (status, n) in &snapshot.analysts_by_status {
        analysts
            .with_label_values(&[status.as_str()])
            .set(*n as i64);
    }
    let depth = gauge_vec(
        &live,
        "switchboard_queue_waiting",
        "Chats waiting per queue",
        "queue",
    )?;
    let longest = gauge_vec(
        &live,
        "switchboard_queue_longest_wait_seconds",
        "Longest current wait per queue",
        "queue",
    )?;
    for q in &snapshot.queues {
        depth
            .with_label_values(&[q.id.as_str()])
            .set(q.waiting as i64);
        longest
            .with_label_values(&[q.id.as_str()])
            .set(q.longest_wait_secs);
    }
    for (name, help, value) in [
        (
            "switchboard_outbound_queued_frames",
            "Frames queued for WebSocket sessions, not yet written to their sockets",
            outbound.0,
        ),
        (
            "switchboard_outbound_queued_bytes",
            "Bytes queued for WebSocket sessions, not yet written to their sockets",
            outbound.1,
        ),
    ] {
        let g = prometheus::IntGauge::new(name, help)?;
        live.register(Box::new(g.clone()))?;
        g.set(i64::try_from(value).unwrap_or(i64::MAX));
    }
    let mut families = REGISTRY.gather();
    families.extend(live.gather());
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out)?;
    String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

fn gauge_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    label: &str,
) -> Result<IntGaugeVec, prometheus::Error> {
    let g = IntGaugeVec::new(Opts::new(name, help), &[label])?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}
