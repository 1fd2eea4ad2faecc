//! `GET /api/v1/events`: Server-Sent Events for managers (events of the queues they manage) and
//! admins (everything): `queue_stats`, `analyst_status`, `chat_state`, each with an `id`, and a
//! `: heartbeat` comment every `ws.heartbeat_secs`. A reconnect with `Last-Event-ID` first gets
//! the kept events after that id (the last `feed::RING`); a `Last-Event-ID` that is not an event
//! id is a 400 problem, answered before a ticket is spent. Browsers' EventSource cannot set
//! headers, so a single-use `?ticket=` from `POST /api/v1/ws-tickets` is accepted too. A fresh
//! stream (no `Last-Event-ID`) starts with one `queue_stats` per visible queue, without an id, so
//! a dashboard has the current figures at once. Each event's `data` is one of `feed`'s typed
//! payloads; `event_schema` documents them per event for the OpenAPI document.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::time::{Interval, interval_at};
use utoipa::IntoParams;

use crate::actors::feed::{
    AnalystStatusChanged, ChatStateChanged, OpsEvent, OpsPayload, QueueStats,
};
use crate::actors::router::TakeSnapshot;
use crate::auth::Principal;
use crate::domain::{MemberRole, Role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::bearer_or_ticket;
use crate::ops::QueueLive;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// A single-use ticket from `POST /api/v1/ws-tickets` (instead of a bearer token).
    #[param(nullable = false)]
    ticket: Option<String>,
}

// The 200 `body = String` is a placeholder: the served document has `event_schema` there.
// `Last-Event-ID` is bounded by what `int64` holds (the server takes any u64).
#[utoipa::path(
    tag = "ops",
    params(EventsQuery, ("Last-Event-ID" = Option<u64>, Header, nullable = false, maximum = 9223372036854775807.0, description = "Resume after this event id (the `id` of the last event received)")),
    responses(
        (status = 200, description = "An endless event stream: `queue_stats`, `analyst_status` and `chat_state` events (the schema describes one event; its `data` is JSON of `QueueStats`, `AnalystStatusChanged` or `ChatStateChanged`), `retry` and `: heartbeat` comments", content_type = "text/event-stream", body = String),
        (status = 400, description = "`Last-Event-ID` is not an event id", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token or ticket", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers and admins", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ())
)]
#[get("/events")]
pub async fn events(
    req: HttpRequest,
    query: web::Query<EventsQuery>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    // Checked before a ticket is redeemed, so a malformed request spends nothing.
    let after = last_event_id(&req)?;
    let principal = principal(&req, &query, &state).await?;
    let queues = match principal.role {
        Role::Admin => None,
        Role::Manager => Some(managed_queues(&state, &principal.id).await?),
        Role::Analyst | Role::User | Role::Service => {
            return Err(AppError::forbidden(
                "the event stream is for managers and admins",
            ));
        }
    };
    let (mut backlog, rx) = state.feed.subscribe(after);
    let mut skip_until = 0;
    if after.is_none() {
        let snap = state
            .router
            .send(TakeSnapshot)
            .await
            .map_err(|e| AppError::new(ErrorCode::Unavailable, e.to_string()))?;
        skip_until = snap.feed_id;
        backlog = snap
            .queues
            .into_iter()
            .filter_map(current_figures)
            .collect();
    }
    let period = Duration::from_secs(state.settings.ws.heartbeat_secs.max(1));
    let stream = Stream {
        pending: backlog.into(),
        rx,
        tick: interval_at(tokio::time::Instant::now() + period, period),
        queues,
        skip_until,
        opened: false,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// The `Last-Event-ID` header: absent, or an event id this server sent (a non-negative integer).
fn last_event_id(req: &HttpRequest) -> AppResult<Option<u64>> {
    let Some(value) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request("Last-Event-ID must be an event id (a non-negative integer)")
        })
}

/// The schema of one event of the stream, for the 200 `text/event-stream` response. OpenAPI 3.1
/// has no `itemSchema`, and tools (schemathesis among them) read `schema` there as describing
/// each event: `event` names the kind, `id` is what `Last-Event-ID` takes, and `data` is JSON of
/// the kind's payload (`contentMediaType` with `contentSchema`). utoipa cannot say
/// `contentSchema`, so `openapi` puts this into the generated document.
pub fn event_schema() -> Value {
    fn kind<T: OpsPayload + utoipa::ToSchema>() -> Value {
        json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": { "const": T::KIND },
                "id": {
                    "type": "string",
                    "pattern": "^[0-9]+$",
                    "description": "For `Last-Event-ID`; absent on a fresh stream's opening `queue_stats`"
                },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": { "$ref": format!("#/components/schemas/{}", T::name()) }
                }
            }
        })
    }
    json!({
        "oneOf": [
            kind::<QueueStats>(),
            kind::<AnalystStatusChanged>(),
            kind::<ChatStateChanged>(),
        ]
    })
}

/// Bearer token or ticket; a ticket wins when both are given.
async fn principal(
    req: &HttpRequest,
    query: &EventsQuery,
    state: &AppState,
) -> AppResult<Principal> {
    bearer_or_ticket(req, query.ticket.as_deref(), state).await
}

/// The queues a manager manages (fixed for the life of the stream).
async fn managed_queues(state: &AppState, id: &str) -> AppResult<HashSet<String>> {
    let manager = MemberRole::Manager.as_str();
    Ok(store::analysts::memberships(&state.db, id)
        .await?
        .into_iter()
        .filter(|m| m.role == manager)
        .map(|m| m.queue_id)
        .collect())
}

/// One subscriber's stream state.
struct Stream {
    pending: VecDeque<Arc<OpsEvent>>,
    rx: Receiver<Arc<OpsEvent>>,
    tick: Interval,
    /// `None`: every queue (admins).
    queues: Option<HashSet<String>>,
    /// Live events up to this id are older than the opening snapshot: skipped.
    skip_until: u64,
    opened: bool,
}

impl Stream {
    /// The next chunk to write; `None` ends the stream (the server is stopping).
    async fn next(&mut self) -> Option<Bytes> {
        if !self.opened {
            self.opened = true;
            return Some(Bytes::from_static(b"retry: 3000\n: connected\n\n"));
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                if (event.id == 0 || event.id > self.skip_until) && self.visible(&event) {
                    return Some(encode(&event));
                }
                continue;
            }
            tokio::select! {
                received = self.rx.recv() => match received {
                    Ok(event) => self.pending.push_back(event),
                    Err(RecvError::Lagged(n)) => {
                        return Some(Bytes::from(format!(": lagged {n}\n\n")));
                    }
                    Err(RecvError::Closed) => return None,
                },
                _ = self.tick.tick() => return Some(Bytes::from_static(b": heartbeat\n\n")),
            }
        }
    }

    fn visible(&self, event: &OpsEvent) -> bool {
        self.queues
            .as_ref()
            .is_none_or(|mine| event.queues.iter().any(|q| mine.contains(q.as_str())))
    }
}

/// A snapshot `queue_stats` (id 0: not resumable, sent without an id).
fn current_figures(figures: QueueLive) -> Option<Arc<OpsEvent>> {
    let queues = vec![figures.id.clone()];
    let data = QueueStats {
        figures,
        at: crate::timefmt::rfc3339(chrono::Utc::now()),
    };
    OpsEvent::new(0, queues, &data).map(Arc::new)
}

fn encode(event: &OpsEvent) -> Bytes {
    let id = if event.id > 0 {
        format!("id: {}\n", event.id)
    } else {
        String::new()
    };
    Bytes::from(format!(
        "{id}event: {}\ndata: {}\n\n",
        event.kind, event.data
    ))
}
