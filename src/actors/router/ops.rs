//! What the router tells the ops feed (`GET /api/v1/events`): a queue's figures after it changed,
//! an analyst's status after it changed, a chat's state after it moved. Each is one call from the
//! place in the router where the change happens, publishing one of the feed's typed payloads.

use chrono::Utc;

use super::Router;
use crate::actors::feed::{AnalystStatusChanged, ChatStateChanged, QueueStats};
use crate::domain::{AnalystStatus, ChatState, EndReason, QueueId};
use crate::protocol::Person;
use crate::routing::ChatId;
use crate::timefmt::rfc3339;

impl Router {
    /// `queue_stats`: the queue's live figures.
    pub(super) fn ops_queue_stats(&self, queue_id: &str) {
        if let Some(figures) = self.queue_live(queue_id) {
            let data = QueueStats {
                figures,
                at: rfc3339(Utc::now()),
            };
            self.deps.feed.publish(vec![QueueId::from(queue_id)], &data);
        }
    }

    /// `analyst_status`: who, their new status, whether connected, and who changed it.
    pub(super) fn ops_analyst_status(&self, analyst: &str, status: AnalystStatus, by: &Person) {
        let Some(a) = self.core.analysts.get(analyst) else {
            return;
        };
        let queues = self.core.queues_of(analyst).map(|q| q.config.id.clone());
        let data = AnalystStatusChanged {
            analyst_id: a.id.clone(),
            name: a.name.clone(),
            status,
            connected: a.is_connected(),
            by: by.clone(),
            at: rfc3339(Utc::now()),
        };
        self.deps.feed.publish(queues.collect(), &data);
    }

    /// `chat_state`: a chat moved to `state` (`waiting`, `offered`, `active`, `closed`,
    /// `unanswered`); `reason` when it ended.
    pub(super) fn ops_chat_state(
        &self,
        chat: ChatId,
        queue_id: &str,
        state: ChatState,
        reason: Option<EndReason>,
    ) {
        let analyst_id = self.core.chats.get(&chat).and_then(|r| r.analyst.clone());
        let data = ChatStateChanged {
            chat_id: chat,
            queue_id: QueueId::from(queue_id),
            state,
            analyst_id,
            reason,
            at: rfc3339(Utc::now()),
        };
        self.deps.feed.publish(vec![QueueId::from(queue_id)], &data);
    }
}
