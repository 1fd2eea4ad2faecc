//! Estimated wait (contract §8.4). The method, as the README states it: a queue keeps the handle
//! times (accepted → ended) of its last `HANDLE_SAMPLES` answered chats; its serving slots are the
//! capacity of its members who are available and connected, and its free slots the part of that
//! capacity not in use. A chat at position `p` with `f` free slots ahead of it is answered at once
//! when `p ≤ f`; otherwise it waits for `p − f` chats to end, and with `s` slots each ending a chat
//! every `h` seconds on average (the mean handle time) chats end every `h / s` seconds, the first
//! of them half an interval away on average: `(p − f − ½) × h / s`. No estimate (null) without
//! an analyst available or before the queue has answered and ended a chat.

use super::*;

/// What a queue's estimate is made from, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimator {
    /// Capacity of the members available and connected.
    pub slots: usize,
    /// The part of `slots` not holding a chat or an offer.
    pub free: usize,
    /// Mean of the recent handle times, when there are any.
    pub mean_handle_secs: Option<f64>,
}

impl Estimator {
    /// The estimated wait of the chat at 1-based `position`, in whole seconds.
    pub fn wait_secs(&self, position: usize) -> Option<u64> {
        if self.slots == 0 {
            return None;
        }
        if position <= self.free {
            return Some(0);
        }
        let handle = self.mean_handle_secs?;
        let ahead = (position - self.free) as f64 - 0.5;
        let secs = ahead * handle / self.slots as f64;
        // Rounded to whole seconds; the cast saturates.
        Some(secs.max(0.0).round() as u64)
    }
}

/// Whether a user told `told` should be told `now` (§8.4: a change of ≥ 10 % or ≥ 15 s, or an
/// estimate appearing or going away).
pub fn worth_telling(told: Option<u64>, now: Option<u64>) -> bool {
    match (told, now) {
        (Some(a), Some(b)) => {
            let change = a.abs_diff(b);
            change >= 15 || change * 10 >= a.max(1)
        }
        (None, None) => false,
        _ => true,
    }
}

impl Core {
    /// The estimate's inputs for a queue now.
    pub fn estimator(&self, queue_id: &str) -> Estimator {
        let Some(queue) = self.queues.get(queue_id) else {
            return Estimator::default();
        };
        let mut slots = 0;
        let mut free = 0;
        for a in queue.members.iter().filter_map(|m| self.analysts.get(m)) {
            if a.status == AnalystStatus::Available && a.is_connected() {
                slots += a.capacity;
                let used = a.open.len() + usize::from(a.offer.is_some());
                free += a.capacity.saturating_sub(used);
            }
        }
        let samples = &queue.handle_secs;
        let mean_handle_secs = (!samples.is_empty())
            .then(|| samples.iter().sum::<u64>() as f64 / samples.len() as f64);
        Estimator {
            slots,
            free,
            mean_handle_secs,
        }
    }

    /// The estimate for a waiting chat, at its place now.
    pub fn estimate(&self, chat: ChatId) -> Option<u64> {
        let route = self.chats.get(&chat)?;
        let position = self.position(chat)?;
        self.estimator(&route.queue_id).wait_secs(position)
    }

    /// The estimate for a chat starting in the queue now (behind every waiting chat).
    pub fn estimate_new(&self, queue_id: &str) -> Option<u64> {
        let waiting = self.queues.get(queue_id)?.waiting_len();
        self.estimator(queue_id).wait_secs(waiting + 1)
    }
}
