//! The webhook retention sweeper (issue 15): every `webhooks.retention_sweep_secs` it has the
//! store writer delete deliveries that ended more than `webhooks.retention_hours` ago, and the
//! events no delivery needs any more, in batches of `BATCH` until none is full. Pending
//! deliveries are never deleted. Deletions go through the writer like every other change, so
//! they take their turn with the chat path's commits instead of racing them for the database.

use std::time::Duration;

use actix::Addr;
use chrono::{TimeDelta, Utc};

use crate::actors::store_writer::{PruneWebhooks, StoreWriter, committed};
use crate::settings::WebhookSettings;

/// Rows of each table deleted per writer transaction.
const BATCH: u64 = 1000;

/// Starts the sweeper on the current system.
pub fn spawn(writer: Addr<StoreWriter>, settings: &WebhookSettings) {
    let every = Duration::from_secs(settings.retention_sweep_secs);
    let hours = i64::try_from(settings.retention_hours).unwrap_or(i64::MAX);
    let keep = TimeDelta::try_hours(hours).unwrap_or(TimeDelta::MAX);
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            sweep(&writer, keep).await;
        }
    });
}

/// Deletes what is due, batch after batch; a failed batch waits for the next sweep.
async fn sweep(writer: &Addr<StoreWriter>, keep: TimeDelta) {
    let mut deleted = 0;
    loop {
        let Some(before) = Utc::now().checked_sub_signed(keep) else {
            return;
        };
        match committed(
            writer,
            PruneWebhooks {
                before,
                limit: BATCH,
            },
        )
        .await
        {
            Ok((rows, more)) => {
                deleted += rows;
                if !more {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "old webhook deliveries and events deleted");
    }
}
