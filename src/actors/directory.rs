//! The chat directory: open chat id → its chat actor, so a session can hand a message straight to
//! the chat it belongs to without a hop through the router. Only the router adds and removes.

use std::collections::HashMap;
use std::sync::RwLock;

use actix::Addr;

use super::chat::ChatActor;
use crate::routing::ChatId;

#[derive(Debug, Default)]
pub struct ChatDirectory {
    chats: RwLock<HashMap<ChatId, Addr<ChatActor>>>,
}

impl ChatDirectory {
    pub fn get(&self, id: &ChatId) -> Option<Addr<ChatActor>> {
        self.chats
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn insert(&self, id: ChatId, addr: Addr<ChatActor>) {
        self.chats
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, addr);
    }

    pub fn remove(&self, id: &ChatId) {
        self.chats
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}
