//! The ops feed behind `GET /api/v1/events`: the router publishes `queue_stats`, `analyst_status`
//! and `chat_state` events here; each gets an id, the last `RING` are kept so that a stream that
//! reconnects with `Last-Event-ID` gets what it missed, and live subscribers get each event once.
//! Publishing never waits on a subscriber: a stream that falls behind the broadcast buffer skips
//! ahead (and is told with a `lagged` comment).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

/// How many recent events are kept for `Last-Event-ID` resume.
pub const RING: usize = 1024;

/// One published event.
#[derive(Debug)]
pub struct OpsEvent {
    /// Increasing from 1 within one server run.
    pub id: u64,
    /// `queue_stats`, `analyst_status` or `chat_state`.
    pub kind: &'static str,
    /// The queues the event concerns (a manager sees events of the queues they manage).
    pub queues: Vec<String>,
    /// The event's JSON body, serialized once.
    pub data: String,
}

struct Ring {
    next_id: u64,
    recent: VecDeque<Arc<OpsEvent>>,
}

pub struct Feed {
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<OpsEvent>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            ring: Mutex::new(Ring {
                next_id: 1,
                recent: VecDeque::with_capacity(RING),
            }),
            tx: broadcast::channel(RING).0,
        }
    }
}

impl Feed {
    /// Publishes an event about `queues` to every subscriber and keeps it for resume.
    pub fn publish(&self, kind: &'static str, queues: Vec<String>, data: Value) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let event = Arc::new(OpsEvent {
            id: ring.next_id,
            kind,
            queues,
            data: data.to_string(),
        });
        ring.next_id += 1;
        if ring.recent.len() == RING {
            ring.recent.pop_front();
        }
        ring.recent.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    /// The id of the last event published (0 before the first).
    pub fn last_id(&self) -> u64 {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.next_id - 1
    }

    /// Subscribes; with `after`, first returns the kept events with a greater id. Taken under
    /// the same lock as `publish`, so nothing is missed or repeated between the two.
    pub fn subscribe(
        &self,
        after: Option<u64>,
    ) -> (Vec<Arc<OpsEvent>>, broadcast::Receiver<Arc<OpsEvent>>) {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let backlog = match after {
            Some(last) => ring
                .recent
                .iter()
                .filter(|e| e.id > last)
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        (backlog, self.tx.subscribe())
    }
}
