//! The router's clock: one timer for the earliest timed change (a chat's expansion step,
//! overflow or max_wait from the routing core's due set, or a queue's next opening or closing
//! from its schedule, or a wrap-up's stored deadline), re-armed after every change. When it fires, queues whose hours changed
//! open or close (their analysts get `queue_hours`), due rules apply (`routing::Core::advance`),
//! chats that waited too long end, overflowed chats are stored in their new queue, and wrap-ups
//! past their deadline end with code `timeout`.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};

use super::Router;
use super::pending::Announce;
use crate::domain::{EndReason, QueueId};
use crate::protocol::{DequeueReason, RevokeReason, ServerFrame};
use crate::routing::Timed;
use crate::routing::hours::{HoursState, Schedule};
use crate::timefmt::rfc3339;

/// A queue's schedule and whether it is open now.
pub(super) struct QueueHours {
    pub schedule: Schedule,
    pub state: HoursState,
}

/// The one timer: when it is due and its generation.
#[derive(Default)]
pub(super) struct Wake {
    pub at_ms: Option<i64>,
    pub generation: u64,
}

/// Always open, never changing: a queue without a schedule.
const ALWAYS: HoursState = HoursState {
    open_now: true,
    next_change_at: None,
};

impl Router {
    /// Whether a queue is inside its hours and when that next changes.
    pub(super) fn hours_state(&self, queue_id: &str) -> HoursState {
        self.hours.get(queue_id).map_or(ALWAYS, |h| h.state)
    }

    /// Sets the queues' schedules (after the directory loaded); a queue whose open state changed
    /// tells its analysts.
    pub(super) fn set_schedules(&mut self, schedules: HashMap<QueueId, Option<Schedule>>) {
        let now = Utc::now();
        for (queue_id, schedule) in schedules {
            let state = schedule.as_ref().map_or(ALWAYS, |s| s.state_at(now));
            match schedule {
                Some(schedule) => {
                    self.hours
                        .insert(queue_id.clone(), QueueHours { schedule, state });
                }
                None => {
                    self.hours.remove(&queue_id);
                }
            }
            if self.core.set_open(&queue_id, state.open_now) && self.loaded {
                self.tell_hours(&queue_id, state, now);
            }
        }
    }

    fn tell_hours(&mut self, queue_id: &QueueId, state: HoursState, at: DateTime<Utc>) {
        let frame = ServerFrame::QueueHours {
            queue_id: queue_id.clone(),
            open_now: state.open_now,
            next_change_at: state.next_change_at.map(rfc3339),
            at: rfc3339(at),
        };
        self.to_queue(queue_id, frame.encode());
        self.dirty.insert(queue_id.clone());
    }

    /// Arms the timer for the earliest timed change, unless it is already armed earlier.
    pub(super) fn rearm(&mut self, ctx: &mut Context<Self>) {
        let hours = self
            .hours
            .values()
            .filter_map(|h| h.state.next_change_at)
            .map(|t| t.timestamp_millis())
            .min();
        let wrap_ups = self.core.next_wrap_up_due();
        let Some(at_ms) = [self.core.next_due(), hours, wrap_ups]
            .into_iter()
            .flatten()
            .min()
        else {
            return;
        };
        if self.wake.at_ms.is_some_and(|armed| armed <= at_ms) {
            return;
        }
        self.wake.generation += 1;
        self.wake.at_ms = Some(at_ms);
        let generation = self.wake.generation;
        let delay = (at_ms - Utc::now().timestamp_millis()).max(0);
        let delay = Duration::from_millis(u64::try_from(delay).unwrap_or(0));
        ctx.run_later(delay, move |act, ctx| {
            if act.wake.generation == generation {
                act.wake.at_ms = None;
                act.tick(ctx);
            }
        });
    }

    /// The timer fired: hours, then every rule due.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Utc::now();
        let changed: Vec<QueueId> = self
            .hours
            .iter()
            .filter(|(_, h)| h.state.next_change_at.is_some_and(|t| t <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for queue_id in changed {
            let Some(h) = self.hours.get_mut(&queue_id) else {
                continue;
            };
            h.state = h.schedule.state_at(now);
            let state = h.state;
            self.core.set_open(&queue_id, state.open_now);
            self.tell_hours(&queue_id, state, now);
        }
        self.time_out_wrap_ups(now.timestamp_millis(), ctx);
        for timed in self.core.advance(now.timestamp_millis()) {
            match timed {
                Timed::Expired { chat } => self.end_chat(chat, EndReason::MaxWait, None, None),
                Timed::Expanded { chat, .. } => {
                    if let Some(route) = self.core.chats.get(&chat) {
                        self.dirty.insert(route.queue_id.clone());
                    }
                }
                Timed::Overflowed {
                    chat,
                    from,
                    to,
                    revoked,
                    before,
                } => {
                    if let Some(analyst) = revoked {
                        self.offers.remove(&chat);
                        self.offer_revoked(chat, analyst, RevokeReason::Overflow);
                    }
                    self.dirty.insert(from.clone());
                    self.dirty.insert(to);
                    let announce = vec![
                        Announce::Dequeued(from, DequeueReason::Overflow),
                        Announce::Queued,
                    ];
                    self.requeued(chat, *before, announce, None);
                }
            }
        }
        self.after_change(ctx);
    }
}
