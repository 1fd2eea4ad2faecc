//! The authorisation matrix: every WebSocket command and HTTP route about one chat, its call, its
//! queue and its analyst, tried by the chat's user, another user, the analyst who has the chat, a
//! colleague in the same queue, an analyst of another queue, the queue's manager, another queue's
//! manager, and an admin. Only the expected callers get through; the rest learn nothing
//! (`not_found`, or `forbidden` for a command their role never sends or, for `link_call`, a chat
//! they may see but not link), and nothing changes.
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
    let mut leaks = Vec::new();
    for (command, allowed) in harmless.iter().chain(changing.iter()) {
        let harmless_command = harmless.iter().any(|(c, _)| c == command);
        for (name, _) in WHO {
            let permitted = allowed.contains(&name);
            if permitted && !harmless_command {
                continue;
            }
            let reply = clients.get_mut(name).unwrap().cmd(command.clone()).await;
            let ok = reply["type"] == "ok";
            let refusal = ["not_found", "forbidden", "conflict"]
                .contains(&reply["code"].as_str().unwrap_or(""));
            if ok != permitted || (!ok && !refusal) {
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
    let routes: Vec<(&str, String, Option<Value>, Vec<&str>)> = vec![
        (
            "GET",
            format!("/api/v1/chats/{chat}"),
            None,
            only(&["owner", "assigned", "colleague", "boss", "admin"]),
        ),
        (
            "GET",
            format!("/api/v1/calls/{call}"),
            None,
            only(&["owner", "assigned", "colleague", "boss", "admin"]),
        ),
        (
            "GET",
            "/api/v1/queues/q1".into(),
            None,
            only(&[
                "owner",
                "stranger",
                "assigned",
                "colleague",
                "boss",
                "admin",
            ]),
        ),
        (
            "GET",
            "/api/v1/queues/q1/analysts".into(),
            None,
            only(&["boss", "admin"]),
        ),
        (
            "PATCH",
            "/api/v1/queues/q1".into(),
            Some(json!({"enabled": true})),
            only(&["boss", "admin"]),
        ),
        (
            "PATCH",
            "/api/v1/analysts/assigned".into(),
            Some(json!({"status": "available"})),
            only(&["boss", "admin"]),
        ),
        (
            "GET",
            "/api/v1/analysts/assigned".into(),
            None,
            only(&["assigned", "boss", "admin"]),
        ),
    ];
    for (method, path, body, allowed) in &routes {
        for (name, role) in WHO {
            let token = if name == "admin" {
                admin.clone()
            } else {
                app.token(name, role)
            };
            let (status, reply, _) = app.call(method, path, Some(&token), body.clone()).await;
            let permitted = allowed.contains(&name);
            let ok = (200..300).contains(&status);
            if ok != permitted || (!ok && status != 404 && status != 403) {
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
