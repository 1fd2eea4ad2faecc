//! Every `ServerFrame` variant (and every `OkResult`) encoded and checked against the contract's
//! shape (§3.1–§3.6) written out by hand, then decoded back to the same value: the replies and
//! `hello` in `replies`, the events of §3.6 in `events`; the fixtures both share here.

use serde_json::{Value, json};

use super::*;
use crate::domain::{ChatState, Role};
use crate::protocol::MessageTag;

mod events;
mod replies;

pub(super) const CHAT: &str = "0190b5c8-7b1e-7000-8000-000000000001";
pub(super) const AT: &str = "2026-11-25T11:20:56.123Z";

pub(super) fn chat_id() -> ChatId {
    CHAT.parse().unwrap()
}

pub(super) fn alice() -> Person {
    Person {
        id: "alice".into(),
        name: "Alice".into(),
    }
}

pub(super) fn summary() -> ChatSummary {
    ChatSummary {
        chat_id: chat_id(),
        queue_id: "it".into(),
        state: ChatState::Waiting,
        user: Person {
            id: "u1".into(),
            name: "Uma".into(),
        },
        analyst: None,
        subject: "printer".into(),
        call_id: "c1".into(),
        created_at: AT.into(),
        accepted_at: None,
        ended_at: None,
        end_reason: None,
        position: Some(2),
        last_seq: 0,
        skills: vec![crate::protocol::SkillRequest {
            name: "french".into(),
            level: 3,
        }],
        skills_relaxed: 1,
        wrap_up: None,
    }
}

/// `ChatSummary` as §3.1 writes it.
pub(super) fn summary_json() -> Value {
    json!({
        "chat_id": CHAT, "queue_id": "it", "state": "waiting",
        "user": {"id": "u1", "name": "Uma"}, "analyst": null,
        "subject": "printer", "call_id": "c1", "created_at": AT,
        "accepted_at": null, "ended_at": null, "end_reason": null,
        "position": 2, "last_seq": 0,
        "skills": [{"name": "french", "level": 3}], "skills_relaxed": 1, "wrap_up": null,
    })
}

pub(super) fn message() -> Message {
    Message {
        kind: MessageTag::Message,
        chat_id: chat_id(),
        seq: 7,
        from: Actor {
            role: Role::User,
            id: "u1".into(),
            name: "Uma".into(),
        },
        body: "hi".into(),
        at: AT.into(),
        client_msg_id: None,
        visibility: crate::domain::Visibility::All,
        attachments: Vec::new(),
    }
}

/// `Message` as §3.1 writes it.
pub(super) fn message_json() -> Value {
    json!({
        "type": "message", "chat_id": CHAT, "seq": 7,
        "from": {"role": "user", "id": "u1", "name": "Uma"},
        "body": "hi", "at": AT, "client_msg_id": null, "visibility": "all", "attachments": [],
    })
}

pub(super) fn queue_view() -> QueueView {
    QueueView {
        id: "it".into(),
        name: "IT".into(),
        description: String::new(),
        enabled: true,
        routing: "manual".into(),
        priority: 0,
        sla_answer_secs: 60,
        max_wait_secs: 0,
        offer_timeout_secs: 30,
        waiting: 1,
        longest_wait_secs: 5,
        analysts_online: 1,
        analysts_available: 0,
        active_chats: 0,
        answered_today: 0,
        unanswered_today: 0,
        service_level: None,
        skills: vec!["french".into()],
        expansion: vec![crate::protocol::ExpansionRule {
            after_secs: 30,
            relax: crate::protocol::RelaxKind::All,
        }],
        overflow: Some(crate::protocol::OverflowRule {
            after_secs: 60,
            queue_id: "tier2".into(),
        }),
        max_waiting: 10,
        schedule: None,
        open_now: false,
        next_change_at: Some(AT.into()),
        estimated_wait_secs: Some(90),
        csat_today: None,
        wrap_up: crate::protocol::WrapUpRule::default(),
    }
}

pub(super) fn queue_view_json() -> Value {
    json!({
        "id": "it", "name": "IT", "description": "", "enabled": true, "routing": "manual",
        "priority": 0, "sla_answer_secs": 60, "max_wait_secs": 0, "offer_timeout_secs": 30,
        "waiting": 1, "longest_wait_secs": 5, "analysts_online": 1, "analysts_available": 0,
        "active_chats": 0, "answered_today": 0, "unanswered_today": 0, "service_level": null,
        "skills": ["french"], "expansion": [{"after_secs": 30, "relax": "all"}],
        "overflow": {"after_secs": 60, "queue_id": "tier2"}, "max_waiting": 10, "schedule": null,
        "open_now": false, "next_change_at": AT, "estimated_wait_secs": 90,
        "csat_today": null,
        "wrap_up": {"mode": "off", "timeout_secs": 60, "codes": ["resolved", "escalated", "no_response"]},
    })
}

/// Encodes `frame`, checks it is exactly `expected`, and decodes it back to `frame`.
#[track_caller]
pub(super) fn round_trip(frame: ServerFrame, expected: Value) {
    let bytes = frame.encode();
    let got: Value = serde_json::from_str(&bytes).unwrap();
    assert_eq!(got, expected, "{bytes}");
    let back: ServerFrame = serde_json::from_str(&bytes).unwrap();
    assert_eq!(back, frame, "{bytes}");
}
