//! `ok` (with every `OkResult`), `error`, `pong` and `hello` against the contract's shapes.

use serde_json::{Value, json};

use super::*;
use crate::domain::{AnalystStatus, ChatState};
use crate::protocol::OkResult;

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
                estimated_wait_secs: Some(30),
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "call_id": "c1", "position": 1, "estimated_wait_secs": 30}),
        ),
        (
            ok(OkResult::Started {
                chat_id: chat_id(),
                call_id: "c1".into(),
                position: None,
                estimated_wait_secs: None,
            }),
            json!({"type": "ok", "ref": "r1", "chat_id": CHAT, "call_id": "c1", "position": null, "estimated_wait_secs": null}),
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
                pending_status: None,
            }),
            json!({"type": "ok", "ref": "r1", "status": "away", "pending_status": null}),
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
            pending_status: None,
        },
        queues: vec![queue_view()],
        chats: vec![],
        monitoring: vec![],
        wrap_ups: vec![],
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
                "analyst": {"id": "alice", "name": "Alice", "status": "offline", "capacity": 3, "pending_status": null},
                "queues": [queue_view_json()], "chats": [], "monitoring": [], "wrap_ups": [],
            }),
        );
    }
}

/// An error frame carries the command's `ref` and the contract's code.
#[test]
fn error_frames_carry_ref_and_code() {
    let err = error_frame(Some("r9"), &AppError::conflict("taken"));
    let v: Value = serde_json::from_str(&err).unwrap();
    assert_eq!(v["code"], "conflict");
    assert_eq!(v["ref"], "r9");
}
