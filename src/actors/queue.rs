//! One actor per queue: it keeps each waiting user told of their place. Given the queue's order
//! after every change, it works out whose place (or the number of available analysts) changed and
//! sends those users `queue_position`, so the router never spends its time on a long queue's
//! fan-out. (Events for the queue's analysts go straight from the router through the hub, so they
//! stay in order with the offers and assignments it sends the same analysts.)

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use super::delivery::{Delivery, Who};
use crate::domain::UserId;
use crate::protocol::ServerFrame;
use crate::routing::ChatId;

pub struct QueueActor {
    delivery: Arc<dyn Delivery>,
    /// What each waiting user was last told: (position, analysts available).
    told: HashMap<ChatId, (usize, usize)>,
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
}

impl Handler<Waiting> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Waiting, _: &mut Context<Self>) {
        let mut told = HashMap::with_capacity(msg.order.len());
        for (index, (chat_id, user_id)) in msg.order.into_iter().enumerate() {
            let now = (index + 1, msg.analysts_available);
            if self.told.get(&chat_id) != Some(&now) {
                let frame = ServerFrame::QueuePosition {
                    chat_id,
                    position: now.0,
                    analysts_available: now.1,
                }
                .encode();
                self.delivery.send(&Who::User(user_id), &frame);
            }
            told.insert(chat_id, now);
        }
        self.told = told;
    }
}
