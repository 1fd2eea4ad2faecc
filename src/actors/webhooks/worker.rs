//! The webhook delivery worker: one actor on its own thread (so it never takes the chat path's
//! time) with one kept-alive HTTP client. It scans the outbox when the store writer has
//! committed new rows (woken through a `Notify`), when a delivery finishes, when the next retry
//! is due, and every `webhooks.poll_secs` as a fallback; it never polls in a tight loop.
//!
//! Order: per endpoint, a delivery goes out only when it is the oldest pending delivery of its
//! `order_key` (a chat) and no delivery of that key is in flight, so a chat's next event waits
//! while an earlier one is retried; one that failed for good is no longer pending and stops
//! blocking. Each attempt's outcome is committed through the store writer; a delivery whose
//! outcome could not be stored stays pending and is sent again (at least once). A `2xx` ends a
//! delivery, `410 Gone` disables its endpoint (its deliveries wait, pending, until it is
//! enabled again), anything else, or no answer within `webhooks.timeout_secs`, is retried with
//! `backoff`. Pending deliveries survive restarts: they are rows, and the first scan finds them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use entities::{webhook_deliveries, webhook_endpoints};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use super::{backoff, body, signature};
use crate::actors::store_writer::{ChatChange, StoreChanges, StoreWriter, committed};
use crate::domain::DeliveryStatus;
use crate::error::AppResult;
use crate::settings::WebhookSettings;
use crate::store;
use crate::store::webhooks::DeliveryChange;

/// One delivery that may go out now.
struct Due {
    endpoint: webhook_endpoints::Model,
    delivery: webhook_deliveries::Model,
    key: (String, String),
}

/// What one scan found: deliveries due now, and when the next one becomes due.
struct Scan {
    due: Vec<Due>,
    next: Option<DateTime<Utc>>,
}

/// How an attempt ended.
enum Answer {
    Status(u16),
    /// No answer (refused, reset, timed out): retried.
    None(String),
}

pub struct WebhookWorker {
    db: DatabaseConnection,
    writer: Addr<StoreWriter>,
    settings: WebhookSettings,
    wake: Arc<Notify>,
    client: awc::Client,
    /// `(endpoint, order key)` with a delivery in flight.
    busy: HashSet<(String, String)>,
    /// Whether a scan is running, and whether another was asked for meanwhile.
    scanning: bool,
    again: bool,
    /// The timer of the next due retry.
    timer: Option<SpawnHandle>,
}

impl WebhookWorker {
    /// Starts the worker on a thread of its own; `wake` is the store writer's.
    pub fn start(
        db: DatabaseConnection,
        writer: Addr<StoreWriter>,
        settings: WebhookSettings,
        wake: Arc<Notify>,
    ) -> Addr<WebhookWorker> {
        WebhookWorker::start_in_arbiter(&Arbiter::new().handle(), move |_| WebhookWorker {
            db,
            writer,
            client: client(&settings),
            settings,
            wake,
            busy: HashSet::new(),
            scanning: false,
            again: false,
            timer: None,
        })
    }

    /// Scans the outbox unless a scan runs (then once more after it).
    fn scan(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            self.again = true;
            return;
        }
        self.scanning = true;
        let db = self.db.clone();
        let rows = self.settings.scan_rows;
        let busy = self.busy.clone();
        ctx.spawn(
            async move { scan(&db, rows, &busy).await }
                .into_actor(self)
                .map(|result, act, ctx| {
                    act.scanning = false;
                    match result {
                        Ok(found) => act.dispatch(found, ctx),
                        Err(err) => tracing::warn!(error = %err, "webhook outbox not read"),
                    }
                    if std::mem::take(&mut act.again) {
                        act.scan(ctx);
                    }
                }),
        );
    }

    /// Sends what is due (up to `webhooks.max_in_flight` at once) and sets the retry timer.
    fn dispatch(&mut self, found: Scan, ctx: &mut Context<Self>) {
        for due in found.due {
            if self.busy.len() >= self.settings.max_in_flight {
                // A delivery that finishes scans again.
                break;
            }
            if self.busy.insert(due.key.clone()) {
                self.deliver(due, ctx);
            }
        }
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if let Some(next) = found.next {
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            let wait = wait.min(Duration::from_secs(self.settings.poll_secs));
            self.timer = Some(ctx.run_later(wait, |act, ctx| {
                act.timer = None;
                act.scan(ctx);
            }));
        }
    }

    fn deliver(&mut self, due: Due, ctx: &mut Context<Self>) {
        let db = self.db.clone();
        let client = self.client.clone();
        let writer = self.writer.clone();
        let settings = self.settings.clone();
        let key = due.key.clone();
        let work = async move {
            let outcome = attempt(&db, &client, &due).await;
            let changes = outcome_changes(&due, outcome, &settings);
            if let Err(err) = committed(&writer, StoreChanges(changes)).await {
                tracing::warn!(delivery = due.delivery.id, error = %err, "webhook outcome not stored: it is sent again");
            }
        };
        ctx.spawn(work.into_actor(self).map(move |(), act, ctx| {
            act.busy.remove(&key);
            act.scan(ctx);
        }));
    }
}

/// The HTTP client: kept alive, every request bounded by `webhooks.timeout_secs`.
fn client(settings: &WebhookSettings) -> awc::Client {
    let timeout = Duration::from_secs(settings.timeout_secs);
    awc::Client::builder()
        .timeout(timeout)
        .connector(awc::Connector::new().timeout(timeout))
        .disable_redirects()
        .finish()
}

/// The pending deliveries due now whose turn it is, per enabled endpoint.
async fn scan(
    db: &DatabaseConnection,
    rows: u64,
    busy: &HashSet<(String, String)>,
) -> AppResult<Scan> {
    let now = Utc::now();
    let mut found = Scan {
        due: Vec::new(),
        next: None,
    };
    for endpoint in store::webhooks::endpoints(db).await? {
        if !endpoint.enabled {
            continue;
        }
        let mut heads = HashSet::new();
        for delivery in store::webhooks::pending(db, &endpoint.id, rows).await? {
            let order = delivery
                .order_key
                .clone()
                .unwrap_or_else(|| format!("delivery:{}", delivery.id));
            let key = (endpoint.id.clone(), order);
            // Only the oldest pending delivery of a key may go, and only if none is in flight.
            if !heads.insert(key.1.clone()) || busy.contains(&key) {
                continue;
            }
            if delivery.next_attempt_at <= now {
                found.due.push(Due {
                    endpoint: endpoint.clone(),
                    delivery,
                    key,
                });
            } else {
                let at = delivery.next_attempt_at;
                found.next = Some(found.next.map_or(at, |n| n.min(at)));
            }
        }
    }
    Ok(found)
}

/// Posts one delivery, signed.
async fn attempt(db: &DatabaseConnection, client: &awc::Client, due: &Due) -> Answer {
    let key = match signature::secret_key(&due.endpoint.secret) {
        Ok(key) => key,
        Err(err) => return Answer::None(err),
    };
    let event = match store::webhooks::event(db, &due.delivery.event_id).await {
        Ok(Some(event)) => event,
        Ok(None) => return Answer::None("its event is gone".into()),
        Err(err) => return Answer::None(err.to_string()),
    };
    let text = match body::build(db, &event).await {
        Ok(text) => text,
        Err(err) => return Answer::None(err.to_string()),
    };
    let timestamp = Utc::now().timestamp();
    let signed = signature::sign(&key, &event.id, timestamp, &text);
    let sent = client
        .post(&due.endpoint.url)
        .insert_header(("webhook-id", event.id.as_str()))
        .insert_header(("webhook-timestamp", timestamp.to_string()))
        .insert_header(("webhook-signature", signed))
        .insert_header(("content-type", "application/json"))
        .send_body(text)
        .await;
    match sent {
        Ok(response) => Answer::Status(response.status().as_u16()),
        Err(err) => Answer::None(err.to_string()),
    }
}

/// What an attempt's answer changes: the delivery's row, and on `410` its endpoint.
fn outcome_changes(due: &Due, answer: Answer, settings: &WebhookSettings) -> Vec<ChatChange> {
    let now = Utc::now();
    let attempts = u32::try_from(due.delivery.attempts).unwrap_or(0) + 1;
    let code = match &answer {
        Answer::Status(code) => Some(i32::from(*code)),
        Answer::None(why) => {
            tracing::info!(
                delivery = due.delivery.id,
                endpoint = due.endpoint.id,
                why,
                "webhook not delivered"
            );
            None
        }
    };
    let retry = backoff::next_attempt(
        attempts,
        due.delivery.created_at,
        now,
        settings.retry_base_secs,
        settings.max_age_secs,
    );
    let (status, next) = match answer {
        Answer::Status(200..=299) => (DeliveryStatus::Delivered, now),
        Answer::Status(410) => (DeliveryStatus::Pending, retry.unwrap_or(now)),
        _ => match retry {
            Some(next) => (DeliveryStatus::Pending, next),
            None => (DeliveryStatus::Failed, now),
        },
    };
    let mut changes = vec![ChatChange::Delivery(DeliveryChange::Attempted {
        delivery_id: due.delivery.id,
        status,
        status_code: code,
        at: now,
        next_attempt_at: next,
    })];
    if code == Some(410) {
        tracing::warn!(
            endpoint = due.endpoint.id,
            "webhook endpoint answered 410 Gone: disabled"
        );
        changes.push(ChatChange::Delivery(DeliveryChange::Disable {
            endpoint_id: due.endpoint.id.clone(),
            reason: "410 Gone".into(),
        }));
    }
    changes
}

/// Asks the worker to scan the outbox now (an endpoint was created or enabled).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ScanNow;

impl Handler<ScanNow> for WebhookWorker {
    type Result = ();

    fn handle(&mut self, _: ScanNow, ctx: &mut Context<Self>) {
        self.scan(ctx);
    }
}

impl Actor for WebhookWorker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Woken by the store writer after each commit that wrote outbox rows.
        let wake = self.wake.clone();
        let me = ctx.address();
        actix::spawn(async move {
            while me.connected() {
                wake.notified().await;
                me.do_send(ScanNow);
            }
        });
        ctx.run_interval(Duration::from_secs(self.settings.poll_secs), |act, ctx| {
            act.scan(ctx);
        });
        // Whatever was pending before a restart.
        self.scan(ctx);
    }
}
