//! The ops feed behind `GET /api/v1/events`: the router publishes `queue_stats`, `analyst_status`
//! and `chat_state` events here; each gets an id, the last `RING` are kept so that a stream that
//! reconnects with `Last-Event-ID` gets what it missed, and live subscribers get each event once.
//! Publishing never waits on a subscriber: a stream that falls behind the broadcast buffer skips
//! ahead (and is told with a `lagged` comment). Also the typed `data` of each event
//! (`QueueStats`, `AnalystStatusChanged`, `ChatStateChanged`), documented in the OpenAPI document.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;
use utoipa::ToSchema;

use crate::domain::{AnalystId, AnalystStatus, ChatState, EndReason, QueueId};
use crate::ops::QueueLive;
use crate::protocol::Person;
use crate::routing::ChatId;

/// How many recent events are kept for `Last-Event-ID` resume.
pub const RING: usize = 1024;

/// The `data` of one kind of event; `KIND` is its SSE `event` name.
pub trait OpsPayload: Serialize {
    /// `queue_stats`, `analyst_status` or `chat_state`.
    const KIND: &'static str;
}

/// `queue_stats`: a queue's live figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStats {
    /// The figures (`id` is the queue's id).
    #[serde(flatten)]
    pub figures: QueueLive,
    /// When the figures were taken (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
}

impl OpsPayload for QueueStats {
    const KIND: &'static str = "queue_stats";
}

/// `analyst_status`: an analyst's status changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalystStatusChanged {
    /// The analyst.
    #[schema(value_type = String)]
    pub analyst_id: AnalystId,
    /// The analyst's display name.
    pub name: String,
    /// The new status.
    pub status: AnalystStatus,
    /// Whether the analyst has a connection open.
    pub connected: bool,
    /// Who changed it (the analyst, a manager or an admin).
    pub by: Person,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
}

impl OpsPayload for AnalystStatusChanged {
    const KIND: &'static str = "analyst_status";
}

/// `chat_state`: a chat moved to another state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatStateChanged {
    /// The chat.
    #[schema(value_type = uuid::Uuid)]
    pub chat_id: ChatId,
    /// Its queue.
    #[schema(value_type = String)]
    pub queue_id: QueueId,
    /// The state it moved to.
    pub state: ChatState,
    /// The analyst it is offered to or assigned to, if any.
    #[schema(value_type = Option<String>)]
    pub analyst_id: Option<AnalystId>,
    /// Why it ended (`closed` and `unanswered` only).
    pub reason: Option<EndReason>,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
}

impl OpsPayload for ChatStateChanged {
    const KIND: &'static str = "chat_state";
}

/// One published event.
#[derive(Debug)]
pub struct OpsEvent {
    /// Increasing from 1 within one server run.
    pub id: u64,
    /// `queue_stats`, `analyst_status` or `chat_state`.
    pub kind: &'static str,
    /// The queues the event concerns (a manager sees events of the queues they manage).
    pub queues: Vec<QueueId>,
    /// The event's JSON body, serialized once.
    pub data: String,
}

impl OpsEvent {
    /// An event carrying `data` (id 0: not resumable, sent without an id); `None`, logged, if
    /// `data` cannot be serialized.
    pub fn new<T: OpsPayload>(id: u64, queues: Vec<QueueId>, data: &T) -> Option<Self> {
        match serde_json::to_string(data) {
            Ok(data) => Some(OpsEvent {
                id,
                kind: T::KIND,
                queues,
                data,
            }),
            Err(e) => {
                tracing::error!(kind = T::KIND, error = %e, "ops event not serializable; dropped");
                None
            }
        }
    }
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
    pub fn publish<T: OpsPayload>(&self, queues: Vec<QueueId>, data: &T) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let Some(event) = OpsEvent::new(ring.next_id, queues, data) else {
            return;
        };
        let event = Arc::new(event);
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
