//! One actor per queue: it keeps each waiting user told of their place. Given the queue's order
//! after every change, it works out whose place (or the number of available analysts) changed and
//! sends those users `queue_position` (with the estimated wait, when that moved enough), so the
//! router never spends its time on a long queue's
//! fan-out. (Events for the queue's analysts go straight from the router through the hub, so they
//! stay in order with the offers and assignments it sends the same analysts.)

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use super::delivery::{Delivery, Who};
use crate::domain::UserId;
use crate::protocol::ServerFrame;
use crate::routing::ChatId;
use crate::routing::estimate::{Estimator, worth_telling};

pub struct QueueActor {
    delivery: Arc<dyn Delivery>,
    /// What each waiting user was last told: (position, analysts available, estimate).
    told: HashMap<ChatId, (usize, usize, Option<u64>)>,
}

impl QueueActor {
    pub fn new(delivery: Arc<dyn Delivery>) -> Self {
        QueueActor {
            delivery,
            told: HashMap::new(),
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;
}

/// The queue's waiting chats in order (with their users), and how many analysts are available.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Waiting {
    pub order: Vec<(ChatId, UserId)>,
    pub analysts_available: usize,
    /// What each place's estimated wait is made from (§8.4).
    pub estimator: Estimator,
}

impl Handler<Waiting> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Waiting, _: &mut Context<Self>) {
        let mut told = HashMap::with_capacity(msg.order.len());
        for (index, (chat_id, user_id)) in msg.order.into_iter().enumerate() {
            let position = index + 1;
            let estimate = msg.estimator.wait_secs(position);
            let before = self.told.get(&chat_id).copied();
            // The estimate alone is news when it moved by ≥ 10 % or ≥ 15 s; what was told
            // stays the reference until then, so slow drift is still told.
            let now = match before {
                Some((p, a, was)) if p == position && a == msg.analysts_available => {
                    if worth_telling(was, estimate) {
                        (position, a, estimate)
                    } else {
                        told.insert(chat_id, (p, a, was));
                        continue;
                    }
                }
                _ => (position, msg.analysts_available, estimate),
            };
            let frame = ServerFrame::QueuePosition {
                chat_id,
                position: now.0,
                analysts_available: now.1,
                estimated_wait_secs: now.2,
            }
            .encode();
            self.delivery.send(&Who::User(user_id), &frame);
            told.insert(chat_id, now);
        }
        self.told = told;
    }
}
