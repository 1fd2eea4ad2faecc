//! `switchboard load` (contract §7): a load harness that simulates users and analysts over real
//! WebSocket connections against any Switchboard URL and reports throughput and latency.
//!
//! `args` holds the flags, `provision` the tokens and the harness's queue and analysts, `client`
//! one simulated participant, `connect` its connection, `driver` the phases, `stats` the HDR
//! histograms and counters, `estimate` the estimated-wait scenario's figures, and `report` the progress line, the end table and the JSON report. Every client is a task on one
//! thread's event loop: a connection costs a socket, its buffers and a small task, not a thread.

pub mod args;
pub mod client;
pub mod connect;
pub mod driver;
pub mod estimate;
pub mod provision;
pub mod report;
pub mod stats;

pub use args::LoadArgs;
pub use driver::run;
