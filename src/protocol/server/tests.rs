//! Every `ServerFrame` variant (and every `OkResult`) encoded and checked against the contract's
//! shape (§3.1–§3.6) written out by hand, then decoded back to the same value.

use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::domain::{AnalystStatus, ChatState, EndReason, Role};
use crate::protocol::MessageTag;

const CHAT: &str = "0190b5c8-7b1e-7000-8000-000000000001";
const AT: &str = "2026-11-25T11:20:56.123Z";

fn chat_id() -> Uuid {
    CHAT.parse().unwrap()
}

fn alice() -> Person {
    Person {
        id: "alice".into(),
        name: "Alice".into(),
    }
}

fn summary() -> ChatSummary {
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
    }
}

/// `ChatSummary` as §3.1 writes it.
fn summary_json() -> Value {
    json!({
        "chat_id": CHAT, "queue_id": "it", "state": "waiting",
        "user": {"id": "u1", "name": "Uma"}, "analyst": null,
        "subject": "printer", "call_id": "c1", "created_at": AT,
        "accepted_at": null, "ended_at": null, "end_reason": null,
        "position": 2, "last_seq": 0,
    })
}

fn message() -> Message {
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
    }
}

/// `Message` as §3.1 writes it.
fn message_json() -> Value {
    json!({
        "type": "message", "chat_id": CHAT, "seq": 7,
        "from": {"role": "user", "id": "u1", "name": "Uma"},
        "body": "hi", "at": AT, "client_msg_id": null,
    })
}

fn queue_view() -> QueueView {
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
    }
}

fn queue_view_json() -> Value {
    json!({
        "id": "it", "name": "IT", "description": "", "enabled": true, "routing": "manual",
        "priority": 0, "sla_answer_secs": 60, "max_wait_secs": 0, "offer_timeout_secs": 30,
        "waiting": 1, "longest_wait_secs": 5, "analysts_online": 1, "analysts_available": 0,
        "active_chats": 0, "answered_today": 0, "unanswered_today": 0, "service_level": null,
    })
}

/// Encodes `frame`, checks it is exactly `expected`, and decodes it back to `frame`.
#[track_caller]
fn round_trip(frame: ServerFrame, expected: Value) {
    let bytes = frame.encode();
    let got: Value = serde_json::from_str(&bytes).unwrap();
    assert_eq!(got, expected, "{bytes}");
    let back: ServerFrame = serde_json::from_str(&bytes).unwrap();
    assert_eq!(back, frame, "{bytes}");
}

fn ok(result: OkResult) -> ServerFrame {
    ServerFrame::ok(Some("r1"), result)
}

#[test]
fn replies_have_the_contract_shape() {
    let cases = [
        (
            ok(OkResult::Started {
                chat_id: chat_id(),
                call_id: "c1".into(),
                position: Some(1),
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "call_id": "c1", "position": 1}),
        ),
        (
            ok(OkResult::Started {
                chat_id: chat_id(),
                call_id: "c1".into(),
                position: None,
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "call_id": "c1", "position": null}),
        ),
        (
            ok(OkResult::Sent {
                chat_id: chat_id(),
                seq: 3,
                at: Some(AT.into()),
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "seq": 3, "at": AT}),
        ),
        (
            ok(OkResult::Sent {
                chat_id: chat_id(),
                seq: 3,
                at: None,
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "seq": 3, "at": null}),
        ),
        (
            ok(OkResult::Accepted {
                chat: summary(),
                transcript: vec![message()],
            }),
            json!({"type": "ok", "ref": "r1", "chat": summary_json(), "transcript": [message_json()]}),
        ),
        (
            ok(OkResult::Resumed {
                chat_id: chat_id(),
                state: ChatState::Active,
                last_seq: 9,
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "state": "active", "last_seq": 9}),
        ),
        (
            ok(OkResult::Linked {
                chat_id: chat_id(),
                call_id: "c2".into(),
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "call_id": "c2"}),
        ),
        (
            ok(OkResult::Status {
                status: AnalystStatus::Away,
            }),
            json!({"type": "ok", "ref": "r1", "status": "away"}),
        ),
        (
            ok(OkResult::Chat { chat_id: chat_id() }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT}),
        ),
        (
            ServerFrame::ok(None, OkResult::Chat { chat_id: chat_id() }),
            json!({"type": "ok", "chat_id": CHAT}),
        ),
        (
            ServerFrame::error(Some("r1"), &AppError::new(ErrorCode::QueueOffline, "off")),
            json!({"type": "error", "ref": "r1", "code": "queue_offline", "message": "off"}),
        ),
        (
            ServerFrame::error(None, &AppError::bad_request("not JSON")),
            json!({"type": "error", "code": "bad_request", "message": "not JSON"}),
        ),
        (
            ServerFrame::Pong {
                reference: Some("p".into()),
            },
            json!({"type": "pong", "ref": "p"}),
        ),
        (
            ServerFrame::Pong { reference: None },
            json!({"type": "pong"}),
        ),
    ];
    for (frame, expected) in cases {
        round_trip(frame, expected);
    }
}

#[test]
fn hello_has_the_contract_shape() {
    round_trip(
        ServerFrame::Hello(Hello::User {
            user: alice(),
            chats: vec![summary()],
        }),
        json!({"type": "hello", "role": "user", "user": {"id": "alice", "name": "Alice"}, "chats": [summary_json()]}),
    );
    let staff = || StaffHello {
        analyst: AnalystHello {
            id: "alice".into(),
            name: "Alice".into(),
            status: AnalystStatus::Offline,
            capacity: 3,
        },
        queues: vec![queue_view()],
        chats: vec![],
    };
    for (hello, role) in [
        (Hello::Analyst(staff()), "analyst"),
        (Hello::Manager(staff()), "manager"),
        (Hello::Admin(staff()), "admin"),
    ] {
        round_trip(
            ServerFrame::Hello(hello),
            json!({
                "type": "hello", "role": role,
                "analyst": {"id": "alice", "name": "Alice", "status": "offline", "capacity": 3},
                "queues": [queue_view_json()], "chats": [],
            }),
        );
    }
}

#[test]
fn events_have_the_contract_shape() {
    let alice_json = json!({"id": "alice", "name": "Alice"});
    let cases = [
        (
            ServerFrame::QueuePosition {
                chat_id: chat_id(),
                position: 2,
                analysts_available: 1,
            },
            json!({"type": "queue_position", "chat_id": CHAT, "position": 2, "analysts_available": 1}),
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
            },
            json!({"type": "chat_requeued", "chat_id": CHAT, "position": 1}),
        ),
        (
            ServerFrame::ChatRequeued {
                chat_id: chat_id(),
                position: None,
            },
            json!({"type": "chat_requeued", "chat_id": CHAT, "position": null}),
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
                by: alice(),
                at: AT.into(),
            },
            json!({"type": "status_changed", "status": "busy", "by": alice_json, "at": AT}),
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

/// The path the actors not yet converted take: `json!` results and events, as before.
#[test]
fn untyped_results_and_events_keep_their_shape() {
    let frame = crate::protocol::ok_frame(Some("r9"), json!({"seq": 3}));
    let v: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(v, json!({"type": "ok", "ref": "r9", "seq": 3}));
    let frame = crate::protocol::ok_frame(None, Value::Null);
    assert_eq!(&*frame, r#"{"type":"ok"}"#);
    let frame = crate::protocol::event("chat_requeued", json!({"chat_id": CHAT, "position": 1}));
    let typed = ServerFrame::ChatRequeued {
        chat_id: chat_id(),
        position: Some(1),
    };
    let v: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(v, serde_json::to_value(&typed).unwrap());
    let err = error_frame(Some("r9"), &AppError::conflict("taken"));
    let v: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(v["code"], "conflict");
    assert_eq!(v["ref"], "r9");
}
