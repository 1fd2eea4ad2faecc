//! The authorisation matrix: every WebSocket command and HTTP route about one chat, its call, its
//! queue and its analyst, tried by the chat's user, another user, the analyst who has the chat, a
//! colleague in the same queue, an analyst of another queue, the queue's manager, another queue's
//! manager, and an admin. Only the expected callers get through; the rest learn nothing: a caller
//! who may not see the object gets exactly the reply (status, code, detail) a missing id gets
//! (contract §2); one who may see it may be told `forbidden` (a command their role never sends,
//! or `link_call` on a chat they may see but not link) or `conflict`; and nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::TestApp;
use common::ws::WsClient;
use entities::chats;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use switchboard::domain::Role;

const WHO: [(&str, Role); 8] = [
    ("owner", Role::User),
    ("stranger", Role::User),
    ("assigned", Role::Analyst),
    ("colleague", Role::Analyst),
    ("outsider", Role::Analyst),
    ("boss", Role::Manager),
    ("otherboss", Role::Manager),
    ("admin", Role::Admin),
];

/// Names from `WHO` allowed through; everyone else must be refused.
fn only(names: &[&str]) -> Vec<&'static str> {
    WHO.iter()
        .map(|(n, _)| *n)
        .filter(|n| names.contains(n))
        .collect()
}

/// A reply with its command `ref` dropped and `id` written as `placeholder`, so the replies about a
/// hidden object and a missing one can be compared whole.
fn same_shape(reply: &Value, id: &str, placeholder: &str) -> String {
    let mut reply = reply.clone();
    if let Some(frame) = reply.as_object_mut() {
        frame.remove("ref");
    }
    reply.to_string().replace(id, placeholder)
}

async fn matrix_has_no_cross_access(app: TestApp) {
    app.provision(
        "q1",
        "auto",
        &[
            ("assigned", "analyst"),
            ("colleague", "analyst"),
            ("boss", "manager"),
        ],
        3,
    )
    .await;
    app.provision(
        "q2",
        "auto",
        &[("outsider", "analyst"), ("otherboss", "manager")],
        3,
    )
    .await;
    let mut clients: BTreeMap<&str, WsClient> = BTreeMap::new();
    for (name, role) in WHO {
        clients.insert(name, app.ws(&app.token(name, role)).await);
    }
    clients
        .get_mut("assigned")
        .unwrap()
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let started = clients
        .get_mut("owner")
        .unwrap()
        .ok(json!({"type": "start_chat", "queue_id": "q1"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    let call = started["call_id"].as_str().unwrap().to_string();
    clients
        .get_mut("assigned")
        .unwrap()
        .expect("chat_assigned")
        .await;
    let before = chats::Entity::find_by_id(chat.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();

    // Commands that change nothing when allowed: every allowed caller succeeds.
    let harmless = [
        (
            json!({"type": "send", "chat_id": chat, "body": "hi", "client_msg_id": "x"}),
            only(&["owner", "assigned"]),
        ),
        (
            json!({"type": "typing", "chat_id": chat}),
            only(&["owner", "assigned"]),
        ),
        (
            json!({"type": "resume", "chat_id": chat, "after_seq": 0}),
            only(&["owner", "assigned"]),
        ),
        (
            json!({"type": "link_call", "chat_id": chat, "call_id": call}),
            only(&["assigned", "boss"]),
        ),
    ];
    // Commands that would change the chat: only refusals are tried here.
    let changing = [
        (
            json!({"type": "close_chat", "chat_id": chat}),
            only(&["owner", "assigned"]),
        ),
        (
            json!({"type": "transfer", "chat_id": chat, "queue_id": "q2"}),
            only(&["assigned"]),
        ),
        (json!({"type": "accept", "chat_id": chat}), only(&[])),
        (json!({"type": "decline", "chat_id": chat}), only(&[])),
    ];
    // Who may see the chat (and its call): its user, its analyst, its queue's members, an admin.
    let sees_chat = only(&["owner", "assigned", "colleague", "boss", "admin"]);
    let missing_chat = uuid::Uuid::now_v7().to_string();
    let mut leaks = Vec::new();
    for (command, allowed) in harmless.iter().chain(changing.iter()) {
        let harmless_command = harmless.iter().any(|(c, _)| c == command);
        for (name, _) in WHO {
            let permitted = allowed.contains(&name);
            if permitted && !harmless_command {
                continue;
            }
            let client = clients.get_mut(name).unwrap();
            let reply = client.cmd(command.clone()).await;
            let ok = reply["type"] == "ok";
            if ok != permitted {
                leaks.push(format!("{name} {}: {reply}", command["type"]));
            }
            if !ok && !sees_chat.contains(&name) {
                // Contract §2: a chat the caller may not see answers exactly like a missing one.
                let mut probe = command.clone();
                probe["chat_id"] = json!(missing_chat);
                let missing = client.cmd(probe).await;
                let (hidden, absent) = (
                    same_shape(&reply, &chat, "<chat>"),
                    same_shape(&missing, &missing_chat, "<chat>"),
                );
                if hidden != absent {
                    leaks.push(format!(
                        "{name} {}: hidden chat {hidden} but missing chat {absent}",
                        command["type"]
                    ));
                }
            } else if !ok
                && !["not_found", "forbidden", "conflict"]
                    .contains(&reply["code"].as_str().unwrap_or(""))
            {
                leaks.push(format!("{name} {}: {reply}", command["type"]));
            }
            // Members of the chat's queue may learn that it is taken; no one else may.
            if reply["code"] == "conflict" && !["assigned", "colleague", "boss"].contains(&name) {
                leaks.push(format!(
                    "{name} {} learned the chat exists: {reply}",
                    command["type"]
                ));
            }
        }
    }

    let admin = app.admin();
    let missing_call = format!(
        "CALL-{}",
        uuid::Uuid::now_v7().simple().to_string().to_uppercase()
    );
    let sees_q1 = only(&[
        "owner",
        "stranger",
        "assigned",
        "colleague",
        "boss",
        "admin",
    ]);
    let sees_assigned = only(&["assigned", "boss", "admin"]);
    // (method, path, body, allowed, who may see the object, its id, a missing id of its kind)
    type Route<'a> = (
        &'a str,
        String,
        Option<Value>,
        Vec<&'a str>,
        Vec<&'a str>,
        String,
        String,
    );
    let routes: Vec<Route> = vec![
        (
            "GET",
            format!("/api/v1/chats/{chat}"),
            None,
            only(&["owner", "assigned", "colleague", "boss", "admin"]),
            sees_chat.clone(),
            chat.clone(),
            missing_chat.clone(),
        ),
        (
            "GET",
            format!("/api/v1/calls/{call}"),
            None,
            only(&["owner", "assigned", "colleague", "boss", "admin"]),
            sees_chat.clone(),
            call.clone(),
            missing_call.clone(),
        ),
        (
            "GET",
            "/api/v1/queues/q1".into(),
            None,
            sees_q1.clone(),
            sees_q1.clone(),
            "q1".into(),
            "q9".into(),
        ),
        (
            "GET",
            "/api/v1/queues/q1/analysts".into(),
            None,
            only(&["boss", "admin"]),
            sees_q1.clone(),
            "q1".into(),
            "q9".into(),
        ),
        (
            "PATCH",
            "/api/v1/queues/q1".into(),
            Some(json!({"enabled": true})),
            only(&["boss", "admin"]),
            sees_q1.clone(),
            "q1".into(),
            "q9".into(),
        ),
        (
            "PATCH",
            "/api/v1/analysts/assigned".into(),
            Some(json!({"status": "available"})),
            only(&["boss", "admin"]),
            sees_assigned.clone(),
            "assigned".into(),
            "nobody".into(),
        ),
        (
            "GET",
            "/api/v1/analysts/assigned".into(),
            None,
            sees_assigned.clone(),
            sees_assigned.clone(),
            "assigned".into(),
            "nobody".into(),
        ),
    ];
    for (method, path, body, allowed, sees, id, missing_id) in &routes {
        let missing_path = path.replacen(id.as_str(), missing_id, 1);
        for (name, role) in WHO {
            let token = if name == "admin" {
                admin.clone()
            } else {
                app.token(name, role)
            };
            let (status, reply, _) = app.call(method, path, Some(&token), body.clone()).await;
            let permitted = allowed.contains(&name);
            let ok = (200..300).contains(&status);
            if ok != permitted {
                leaks.push(format!("{name} {method} {path}: {status} {reply}"));
            } else if !ok && !sees.contains(&name) {
                // Contract §2: an object the caller may not see answers exactly like a missing one.
                let (missing_status, missing, _) = app
                    .call(method, &missing_path, Some(&token), body.clone())
                    .await;
                let hidden = (status, same_shape(&reply, id, "<id>"));
                let absent = (missing_status, same_shape(&missing, missing_id, "<id>"));
                if hidden != absent {
                    leaks.push(format!(
                        "{name} {method} {path}: hidden {hidden:?} but missing {absent:?}"
                    ));
                }
            } else if !ok && status != 404 && status != 403 {
                leaks.push(format!("{name} {method} {path}: {status} {reply}"));
            }
        }
    }
    // Lists show each caller only what they may see.
    for (name, role) in WHO {
        let token = if name == "admin" {
            admin.clone()
        } else {
            app.token(name, role)
        };
        let (status, list) = app.get("/api/v1/chats?filter=answered", &token).await;
        assert_eq!(status, 200);
        let sees = list["chats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["chat_id"] == json!(chat));
        let should = ["owner", "assigned", "colleague", "boss", "admin"].contains(&name);
        if sees != should {
            leaks.push(format!("{name} chat list: sees={sees}"));
        }
    }
    assert!(leaks.is_empty(), "cross-access:\n{}", leaks.join("\n"));
    let after = chats::Entity::find_by_id(chat.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.state, after.analyst_id),
        (before.state, before.analyst_id),
        "refusals changed nothing"
    );
}

on_both_databases!(matrix_has_no_cross_access);
