//! What the harness measures: HDR histograms (microseconds) for connect, assign, ack and deliver,
//! counters, and errors by code. One instance lives on the harness's single thread, shared by
//! every simulated client through an `Rc`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;

/// Highest latency recorded, in microseconds (larger values are clamped): 10 minutes.
const MAX_US: u64 = 600_000_000;

/// Latency histograms, in microseconds.
pub struct Latencies {
    pub connect: Histogram<u64>,
    pub assign: Histogram<u64>,
    pub ack: Histogram<u64>,
    pub deliver: Histogram<u64>,
}

fn histogram() -> Result<Histogram<u64>, hdrhistogram::CreationError> {
    // Three significant figures from 1 µs to 10 min: a few tens of KB per histogram.
    Histogram::new_with_bounds(1, MAX_US, 3)
}

impl Latencies {
    fn new() -> Result<Self, hdrhistogram::CreationError> {
        Ok(Latencies {
            connect: histogram()?,
            assign: histogram()?,
            ack: histogram()?,
            deliver: histogram()?,
        })
    }

    pub fn reset(&mut self) {
        self.connect.reset();
        self.assign.reset();
        self.ack.reset();
        self.deliver.reset();
    }
}

/// Counters and histograms for a whole run.
pub struct Stats {
    /// When the run started; every timestamp the harness puts on the wire counts from here.
    pub t0: Instant,
    pub totals: Latencies,
    /// The histograms since the last progress line.
    pub window: Latencies,
    /// Connections open now.
    pub connections: u64,
    /// Most connections open at once.
    pub peak_connections: u64,
    pub connects_attempted: u64,
    pub churn_cycles: u64,
    /// Analysts whose `set_status available` was answered ok.
    pub analysts_ready: u64,
    /// Chats whose `close_chat` was answered ok.
    pub chats_closed: u64,
    pub chats_started: u64,
    pub chats_routed: u64,
    pub messages_sent: u64,
    pub messages_acked: u64,
    /// Messages that got an error reply.
    pub messages_failed: u64,
    pub messages_delivered: u64,
    /// Other commands sent (start_chat, set_status, accept, close_chat).
    pub commands_sent: u64,
    pub errors: BTreeMap<String, u64>,
    /// When the conversation phase started and ended, for the per-second rates.
    pub converse_from: Option<Instant>,
    pub converse_until: Option<Instant>,
    /// When routing started and the last chat was routed.
    pub routing_from: Option<Instant>,
    pub last_routed: Option<Instant>,
    /// When the last message was acknowledged: the conversation's throughput ends there.
    pub last_acked: Option<Instant>,
    /// One entry per progress line, so a stall can be located after the run.
    pub seconds: Vec<Second>,
    /// Chats the analysts closed at the end of their handle time (`--handle-time`).
    pub chats_served: u64,
    /// Each user's first estimate and the wait that followed (`--handle-time`).
    pub estimates: Vec<super::estimate::Sample>,
}

/// What one second of the run looked like: the figures of its progress line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Second {
    /// Seconds since the run started, at the end of this second.
    pub t: u64,
    /// The phase the harness was in (`connect`, `start`, `converse`, `drain`…).
    pub phase: &'static str,
    /// Chats routed during this second.
    pub routed: u64,
    /// Messages acknowledged during this second.
    pub acked: u64,
    /// p99 in milliseconds of what completed during this second.
    pub p99_ms: SecondP99,
}

/// The per-second p99s, in milliseconds (0 when nothing completed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SecondP99 {
    pub ack: f64,
    pub deliver: f64,
    pub assign: f64,
}

pub type SharedStats = std::rc::Rc<RefCell<Stats>>;

impl Stats {
    pub fn new() -> Result<Self, hdrhistogram::CreationError> {
        Ok(Stats {
            t0: Instant::now(),
            totals: Latencies::new()?,
            window: Latencies::new()?,
            connections: 0,
            peak_connections: 0,
            connects_attempted: 0,
            churn_cycles: 0,
            analysts_ready: 0,
            chats_closed: 0,
            chats_started: 0,
            chats_routed: 0,
            messages_sent: 0,
            messages_acked: 0,
            messages_failed: 0,
            messages_delivered: 0,
            commands_sent: 0,
            errors: BTreeMap::new(),
            converse_from: None,
            converse_until: None,
            routing_from: None,
            last_routed: None,
            last_acked: None,
            seconds: Vec::new(),
            chats_served: 0,
            estimates: Vec::new(),
        })
    }

    /// Microseconds since the run started: the timestamps the harness writes into refs and ids.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    pub fn error(&mut self, code: &str) {
        *self.errors.entry(code.to_string()).or_insert(0) += 1;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Operations that could fail: connections, messages and other commands.
    pub fn attempts(&self) -> u64 {
        self.connects_attempted + self.messages_sent + self.commands_sent
    }

    pub fn connected(&mut self, took_us: u64) {
        self.connections += 1;
        self.peak_connections = self.peak_connections.max(self.connections);
        record(&mut self.totals.connect, &mut self.window.connect, took_us);
    }

    pub fn disconnected(&mut self) {
        self.connections = self.connections.saturating_sub(1);
    }

    pub fn routed(&mut self, took_us: u64) {
        self.chats_routed += 1;
        self.last_routed = Some(Instant::now());
        record(&mut self.totals.assign, &mut self.window.assign, took_us);
    }

    pub fn acked(&mut self, took_us: u64) {
        self.messages_acked += 1;
        self.last_acked = Some(Instant::now());
        record(&mut self.totals.ack, &mut self.window.ack, took_us);
    }

    pub fn delivered(&mut self, took_us: u64) {
        self.messages_delivered += 1;
        record(&mut self.totals.deliver, &mut self.window.deliver, took_us);
    }
}

fn record(total: &mut Histogram<u64>, window: &mut Histogram<u64>, us: u64) {
    let us = us.clamp(1, MAX_US);
    total.saturating_record(us);
    window.saturating_record(us);
}
