//! Who may link a chat to which call (`link_call`, contract §3.5; README "Who may link a chat to a
//! call"), over real WebSockets on SQLite and PostgreSQL: the chat's analyst while it is active, a
//! manager of its queue (open or ended chat), only to calls of the chat's own user. Everyone else
//! is refused (`forbidden` when they may see the chat, `not_found` when they may not), another
//! user's call answers `not_found` like a call that does not exist, and a refusal writes neither a
//! link nor a history entry: the other user's call never shows the transcript. Also `start_chat`
//! naming another user's call, the other way a transcript could reach a call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::TestApp;
use common::ws::WsClient;
use entities::{call_history, chat_links};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use switchboard::domain::Role;

/// Queue `q1` (auto): analysts `alice` (takes the chats) and `carol`, manager `boss`. Queue `q2`:
/// analyst `otto`, manager `otherboss`. Queue `side` (manual, nobody in it) makes spare calls.
async fn provision(app: &TestApp) {
    app.provision(
        "q1",
        "auto",
        &[
            ("alice", "analyst"),
            ("carol", "analyst"),
            ("boss", "manager"),
        ],
        3,
    )
    .await;
    app.provision(
        "q2",
        "auto",
        &[("otto", "analyst"), ("otherboss", "manager")],
        3,
    )
    .await;
    app.provision("side", "manual", &[], 3).await;
}

async fn connect(app: &TestApp, id: &str, role: Role) -> WsClient {
    app.ws(&app.token(id, role)).await
}

/// A call of `user`'s own, made by a chat in `side` that is closed at once.
async fn spare_call(app: &TestApp, user: &str) -> String {
    let mut ws = connect(app, user, Role::User).await;
    let started = ws
        .ok(json!({"type": "start_chat", "queue_id": "side", "subject": "spare"}))
        .await;
    ws.ok(json!({"type": "close_chat", "chat_id": started["chat_id"]}))
        .await;
    started["call_id"].as_str().unwrap().to_string()
}

/// Emma's chat in `q1`, assigned to Alice, with one message each; returns (chat, its call).
async fn emma_talks_to_alice(emma: &mut WsClient, alice: &mut WsClient) -> (String, String) {
    alice
        .ok(json!({"type": "set_status", "status": "available"}))
        .await;
    let started = emma
        .ok(json!({"type": "start_chat", "queue_id": "q1", "subject": "VPN down"}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    alice.expect("chat_assigned").await;
    emma.ok(json!({"type": "send", "chat_id": chat, "body": "my secret vpn password"}))
        .await;
    alice
        .ok(json!({"type": "send", "chat_id": chat, "body": "never share it"}))
        .await;
    (chat, started["call_id"].as_str().unwrap().to_string())
}

fn link(chat: &str, call: &str) -> Value {
    json!({"type": "link_call", "chat_id": chat, "call_id": call})
}

/// The calls the chat is linked to, in the database.
async fn links(app: &TestApp, chat: &str) -> Vec<String> {
    let mut calls: Vec<String> = chat_links::Entity::find()
        .filter(chat_links::Column::ChatId.eq(chat))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.call_id)
        .collect();
    calls.sort();
    calls
}

/// The calls whose stored history holds an entry for the chat.
async fn history_calls(app: &TestApp, chat: &str) -> Vec<String> {
    let mut calls: Vec<String> = call_history::Entity::find()
        .filter(call_history::Column::ChatId.eq(chat))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.call_id)
        .collect();
    calls.sort();
    calls
}

/// `GET /api/v1/calls/{call}` as `reader` (a user): the history entry for `chat`, if any.
async fn entry_read_by(app: &TestApp, reader: &str, call: &str, chat: &str) -> Option<Value> {
    let (status, body) = app
        .get(
            &format!("/api/v1/calls/{call}"),
            &app.token(reader, Role::User),
        )
        .await;
    assert_eq!(status, 200, "{reader} reads {call}: {body}");
    body["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["chat_id"] == json!(chat))
        .cloned()
}

/// Waits until the chat's history has been written onto `call` (in the database).
async fn wait_for_entry(app: &TestApp, call: &str, chat: &str) {
    for _ in 0..50 {
        if history_calls(app, chat).await.iter().any(|c| c == call) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chat {chat} never reached the history of {call}");
}

async fn the_active_analyst_links_only_the_users_own_calls(app: TestApp) {
    provision(&app).await;
    let emmas_other = spare_call(&app, "emma").await;
    let freds = spare_call(&app, "fred").await;
    let mut alice = connect(&app, "alice", Role::Analyst).await;
    let mut emma = connect(&app, "emma", Role::User).await;
    let (chat, call) = emma_talks_to_alice(&mut emma, &mut alice).await;

    // Another user's call is refused exactly like a call that does not exist.
    let foreign = alice.fails(link(&chat, &freds), "not_found").await;
    let missing = alice.fails(link(&chat, "CALL-NOPE"), "not_found").await;
    assert_eq!(
        foreign["message"].as_str().unwrap().replace(&freds, "?"),
        missing["message"]
            .as_str()
            .unwrap()
            .replace("CALL-NOPE", "?"),
    );

    // Who may see the chat but not link it: forbidden. Who may not see it: not_found, exactly
    // like a chat that does not exist.
    let nowhere = uuid::Uuid::now_v7().to_string();
    let mut carol = connect(&app, "carol", Role::Analyst).await;
    carol.fails(link(&chat, &emmas_other), "forbidden").await;
    emma.fails(link(&chat, &emmas_other), "forbidden").await;
    for (id, role) in [("otto", Role::Analyst), ("otherboss", Role::Manager)] {
        let mut outsider = connect(&app, id, role).await;
        let hidden = outsider.fails(link(&chat, &emmas_other), "not_found").await;
        let absent = outsider
            .fails(link(&nowhere, &emmas_other), "not_found")
            .await;
        assert_eq!(
            hidden["message"].as_str().unwrap().replace(&chat, "?"),
            absent["message"].as_str().unwrap().replace(&nowhere, "?"),
            "{id}"
        );
    }
    assert_eq!(
        links(&app, &chat).await,
        Vec::<String>::new(),
        "refusals link nothing"
    );

    // The user's own other call: linked.
    let linked = alice.ok(link(&chat, &emmas_other)).await;
    assert_eq!(linked["call_id"], emmas_other);
    assert_eq!(links(&app, &chat).await, vec![emmas_other.clone()]);

    emma.ok(json!({"type": "close_chat", "chat_id": chat}))
        .await;
    wait_for_entry(&app, &emmas_other, &chat).await;
    wait_for_entry(&app, &call, &chat).await;
    let mut expected = vec![call.clone(), emmas_other.clone()];
    expected.sort();
    assert_eq!(history_calls(&app, &chat).await, expected);
    let entry = entry_read_by(&app, "emma", &emmas_other, &chat)
        .await
        .expect("emma's other call holds the chat");
    let contents = entry["contents"].as_str().unwrap();
    assert!(
        contents.contains("my secret vpn password") && contents.contains("never share it"),
        "{contents}"
    );
    // Fred's call never got Emma's transcript.
    assert_eq!(entry_read_by(&app, "fred", &freds, &chat).await, None);
}

async fn on_an_ended_chat_only_a_manager_of_its_queue_links(app: TestApp) {
    provision(&app).await;
    let emmas_other = spare_call(&app, "emma").await;
    let freds = spare_call(&app, "fred").await;
    let mut alice = connect(&app, "alice", Role::Analyst).await;
    let mut emma = connect(&app, "emma", Role::User).await;
    let (chat, call) = emma_talks_to_alice(&mut emma, &mut alice).await;
    alice
        .ok(json!({"type": "close_chat", "chat_id": chat}))
        .await;
    wait_for_entry(&app, &call, &chat).await;

    // The former analyst, a colleague and the user may see the chat: forbidden.
    alice.fails(link(&chat, &emmas_other), "forbidden").await;
    let mut carol = connect(&app, "carol", Role::Analyst).await;
    carol.fails(link(&chat, &emmas_other), "forbidden").await;
    emma.fails(link(&chat, &emmas_other), "forbidden").await;
    // Out of the queue, the former analyst still sees the chat she had: still forbidden.
    let (status, body, _) = app
        .call(
            "DELETE",
            "/api/v1/queues/q1/members/alice",
            Some(&app.admin()),
            None,
        )
        .await;
    assert!((200..300).contains(&status), "{status} {body}");
    alice.fails(link(&chat, &emmas_other), "forbidden").await;
    // Staff of another queue may not see it: not_found.
    for (id, role) in [("otto", Role::Analyst), ("otherboss", Role::Manager)] {
        let mut outsider = connect(&app, id, role).await;
        outsider.fails(link(&chat, &emmas_other), "not_found").await;
    }
    // Admins send no chat commands on /ws: their role is refused before the chat is looked at.
    let mut admin = connect(&app, "admin", Role::Admin).await;
    admin.fails(link(&chat, &emmas_other), "forbidden").await;
    // The queue's manager, with another user's call: not_found, and nothing written.
    let mut boss = connect(&app, "boss", Role::Manager).await;
    boss.fails(link(&chat, &freds), "not_found").await;
    assert_eq!(
        links(&app, &chat).await,
        Vec::<String>::new(),
        "refusals link nothing"
    );
    assert_eq!(history_calls(&app, &chat).await, vec![call.clone()]);
    assert_eq!(entry_read_by(&app, "fred", &freds, &chat).await, None);

    // The queue's manager, with the user's own call: linked and written at once.
    boss.ok(link(&chat, &emmas_other)).await;
    assert_eq!(links(&app, &chat).await, vec![emmas_other.clone()]);
    let mut expected = vec![call.clone(), emmas_other.clone()];
    expected.sort();
    assert_eq!(history_calls(&app, &chat).await, expected);
    let entry = entry_read_by(&app, "emma", &emmas_other, &chat)
        .await
        .expect("emma's other call holds the chat");
    assert!(
        entry["contents"]
            .as_str()
            .unwrap()
            .contains("my secret vpn password")
    );
    assert_eq!(entry_read_by(&app, "fred", &freds, &chat).await, None);
}

async fn start_chat_with_another_users_call_gets_a_call_of_its_own(app: TestApp) {
    provision(&app).await;
    let emmas = spare_call(&app, "emma").await;
    let mut fred = connect(&app, "fred", Role::User).await;
    let started = fred
        .ok(json!({"type": "start_chat", "queue_id": "side", "call_id": emmas}))
        .await;
    let chat = started["chat_id"].as_str().unwrap().to_string();
    let freds = started["call_id"].as_str().unwrap().to_string();
    assert_ne!(freds, emmas);
    fred.ok(json!({"type": "send", "chat_id": chat, "body": "fred's words"}))
        .await;
    fred.ok(json!({"type": "close_chat", "chat_id": chat}))
        .await;
    wait_for_entry(&app, &freds, &chat).await;
    assert_eq!(history_calls(&app, &chat).await, vec![freds.clone()]);
    assert_eq!(entry_read_by(&app, "emma", &emmas, &chat).await, None);
    assert!(entry_read_by(&app, "fred", &freds, &chat).await.is_some());
}

on_both_databases!(
    the_active_analyst_links_only_the_users_own_calls,
    on_an_ended_chat_only_a_manager_of_its_queue_links,
    start_chat_with_another_users_call_gets_a_call_of_its_own,
);
