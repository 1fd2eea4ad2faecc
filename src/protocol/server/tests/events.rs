//! The events of contract §3.6 against their shapes, and the reasons' spellings.

use serde_json::{Value, json};

use super::*;
use crate::domain::{AnalystStatus, EndReason, Role};

#[test]
fn events_have_the_contract_shape() {
    let alice_json = json!({"id": "alice", "name": "Alice"});
    let cases = [
        (
            ServerFrame::QueuePosition {
                chat_id: chat_id(),
                position: 2,
                analysts_available: 1,
                estimated_wait_secs: Some(45),
            },
            json!({"type": "queue_position", "chat_id": CHAT, "position": 2, "analysts_available": 1, "estimated_wait_secs": 45}),
        ),
        (
            ServerFrame::ChatAccepted {
                chat_id: chat_id(),
                analyst: alice(),
                accepted_at: AT.into(),
            },
            json!({"type": "chat_accepted", "chat_id": CHAT, "analyst": alice_json, "accepted_at": AT}),
        ),
        (
            ServerFrame::ChatRequeued {
                chat_id: chat_id(),
                position: Some(1),
                queue_id: "tier2".into(),
            },
            json!({"type": "chat_requeued", "chat_id": CHAT, "position": 1, "queue_id": "tier2"}),
        ),
        (
            ServerFrame::ChatRequeued {
                chat_id: chat_id(),
                position: None,
                queue_id: "it".into(),
            },
            json!({"type": "chat_requeued", "chat_id": CHAT, "position": null, "queue_id": "it"}),
        ),
        (
            ServerFrame::QueueHours {
                queue_id: "it".into(),
                open_now: false,
                next_change_at: Some(AT.into()),
                at: AT.into(),
            },
            json!({"type": "queue_hours", "queue_id": "it", "open_now": false, "next_change_at": AT, "at": AT}),
        ),
        (ServerFrame::Message(message()), message_json()),
        (
            ServerFrame::Typing {
                chat_id: chat_id(),
                from: alice(),
            },
            json!({"type": "typing", "chat_id": CHAT, "from": alice_json}),
        ),
        (
            ServerFrame::ChatClosed {
                chat_id: chat_id(),
                by: Some(Actor {
                    role: Role::Analyst,
                    id: "alice".into(),
                    name: "Alice".into(),
                }),
                reason: EndReason::ClosedByAnalyst,
                ended_at: AT.into(),
            },
            json!({
                "type": "chat_closed", "chat_id": CHAT,
                "by": {"role": "analyst", "id": "alice", "name": "Alice"},
                "reason": "closed_by_analyst", "ended_at": AT,
            }),
        ),
        (
            ServerFrame::ChatClosed {
                chat_id: chat_id(),
                by: None,
                reason: EndReason::MaxWait,
                ended_at: AT.into(),
            },
            json!({"type": "chat_closed", "chat_id": CHAT, "by": null, "reason": "max_wait", "ended_at": AT}),
        ),
        (
            ServerFrame::PeerStatus {
                chat_id: chat_id(),
                connected: false,
            },
            json!({"type": "peer_status", "chat_id": CHAT, "connected": false}),
        ),
        (
            ServerFrame::ChatQueued { chat: summary() },
            json!({"type": "chat_queued", "chat": summary_json()}),
        ),
        (
            ServerFrame::ChatDequeued {
                chat_id: chat_id(),
                queue_id: "it".into(),
                reason: DequeueReason::Transferred,
            },
            json!({"type": "chat_dequeued", "chat_id": CHAT, "queue_id": "it", "reason": "transferred"}),
        ),
        (
            ServerFrame::QueueStatus {
                queue_id: "it".into(),
                enabled: false,
                by: alice(),
                at: AT.into(),
            },
            json!({"type": "queue_status", "queue_id": "it", "enabled": false, "by": alice_json, "at": AT}),
        ),
        (
            ServerFrame::ChatOffered {
                chat: summary(),
                expires_at: AT.into(),
            },
            json!({"type": "chat_offered", "chat": summary_json(), "expires_at": AT}),
        ),
        (
            ServerFrame::OfferRevoked {
                chat_id: chat_id(),
                reason: RevokeReason::Taken,
            },
            json!({"type": "offer_revoked", "chat_id": CHAT, "reason": "taken"}),
        ),
        (
            ServerFrame::ChatAssigned {
                chat: summary(),
                transcript: vec![message()],
            },
            json!({"type": "chat_assigned", "chat": summary_json(), "transcript": [message_json()]}),
        ),
        (
            ServerFrame::StatusChanged {
                status: AnalystStatus::Busy,
                pending_status: Some(AnalystStatus::Offline),
                by: alice(),
                at: AT.into(),
            },
            json!({"type": "status_changed", "status": "busy", "pending_status": "offline", "by": alice_json, "at": AT}),
        ),
        (
            ServerFrame::WrapUpStarted(crate::protocol::PendingWrapUp {
                chat_id: chat_id(),
                codes: vec!["resolved".into()],
                deadline: AT.into(),
            }),
            json!({"type": "wrap_up_started", "chat_id": CHAT, "codes": ["resolved"], "deadline": AT}),
        ),
    ];
    for (frame, expected) in cases {
        round_trip(frame, expected);
    }
}

#[test]
fn reasons_spell_the_contract_values() {
    let dequeue = [
        DequeueReason::Accepted,
        DequeueReason::Unanswered,
        DequeueReason::Transferred,
    ];
    let names: Vec<Value> = dequeue.iter().map(|r| json!(r)).collect();
    assert_eq!(
        names,
        [json!("accepted"), json!("unanswered"), json!("transferred")]
    );
    let revoke = [
        RevokeReason::Timeout,
        RevokeReason::Taken,
        RevokeReason::Closed,
    ];
    let names: Vec<Value> = revoke.iter().map(|r| json!(r)).collect();
    assert_eq!(names, [json!("timeout"), json!("taken"), json!("closed")]);
}
