//! The chat directory: open chat id → its chat actor, so a session can hand a message straight to
//! the chat it belongs to without a hop through the router. Only the router adds; the router and
//! the chat actor itself (when it stops) remove.
//!
//! The table is generic over the actor it files, so it names no chat type: `chat` instantiates it
//! as `ChatDirectory` and the import runs one way (chat → directory).

use std::collections::HashMap;
use std::sync::RwLock;

use actix::{Actor, Addr};

use crate::routing::ChatId;

/// Open chat id → the address of the actor that runs it.
pub struct Directory<A: Actor> {
    chats: RwLock<HashMap<ChatId, Addr<A>>>,
}

impl<A: Actor> Default for Directory<A> {
    fn default() -> Self {
        Directory {
            chats: RwLock::new(HashMap::new()),
        }
    }
}

impl<A: Actor> std::fmt::Debug for Directory<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.chats.read().map_or(0, |chats| chats.len());
        f.debug_struct("Directory").field("chats", &len).finish()
    }
}

impl<A: Actor> Directory<A> {
    pub fn get(&self, id: &ChatId) -> Option<Addr<A>> {
        self.chats
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn insert(&self, id: ChatId, addr: Addr<A>) {
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
