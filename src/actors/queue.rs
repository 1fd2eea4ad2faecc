//! One actor per queue: it publishes what happens in the queue. It tells the queue's analysts
//! about chats queued and dequeued and about the queue going on or offline, and tells each waiting
//! user their place (`queue_position`) whenever it or the number of available analysts changes.
//! The router decides; the queue actor only speaks, so the router never waits on a session.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;
use serde_json::json;

use super::hub::{Hub, Who};
use crate::protocol;
use crate::routing::ChatId;

pub struct QueueActor {
    hub: Arc<Hub>,
    /// The analysts who hear this queue's events.
    members: BTreeSet<String>,
    /// What each waiting user was last told: (position, analysts available).
    told: HashMap<ChatId, (usize, usize)>,
}

impl QueueActor {
    pub fn new(hub: Arc<Hub>) -> Self {
        QueueActor {
            hub,
            members: BTreeSet::new(),
            told: HashMap::new(),
        }
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;
}

/// The queue's analysts changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetMembers(pub BTreeSet<String>);

impl Handler<SetMembers> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SetMembers, _: &mut Context<Self>) {
        self.members = msg.0;
    }
}

/// An event for every analyst of the queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ToAnalysts(pub ByteString);

impl Handler<ToAnalysts> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: ToAnalysts, _: &mut Context<Self>) {
        for member in &self.members {
            self.hub.send(&Who::Staff(member.clone()), &msg.0);
        }
    }
}

/// The queue's waiting chats in order (with their users), and how many analysts are available.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Waiting {
    pub order: Vec<(ChatId, String)>,
    pub analysts_available: usize,
}

impl Handler<Waiting> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Waiting, _: &mut Context<Self>) {
        let mut told = HashMap::with_capacity(msg.order.len());
        for (index, (chat_id, user_id)) in msg.order.into_iter().enumerate() {
            let now = (index + 1, msg.analysts_available);
            if self.told.get(&chat_id) != Some(&now) {
                let frame = protocol::event(
                    "queue_position",
                    json!({"chat_id": chat_id, "position": now.0, "analysts_available": now.1}),
                );
                self.hub.send(&Who::User(user_id), &frame);
            }
            told.insert(chat_id, now);
        }
        self.told = told;
    }
}
