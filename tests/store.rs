//! The repository functions of `switchboard::store` called directly against a fresh SQLite file
//! and a fresh PostgreSQL database: users, calls, chats and their paged listings, batched
//! message writes, and call history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Db, TestDb};
use entities::{calls as call_rows, chat_messages, chats, users};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};
use switchboard::domain::{AnalystRole, ChatState, EndReason, RoutingMode};
use switchboard::error::ErrorCode;
use switchboard::store::chats::{ChatToStart, ListFilter, ListQuery, NewChat};
use switchboard::store::history::HistoryEntry;
use switchboard::store::messages::NewMessage;
use switchboard::store::queues::QueueSpec;
use switchboard::store::{self, analysts, calls, history, messages, queues, users as user_store};

/// A migrated database with queues `service-desk` and `network`, user `emma` and analyst `alice`.
struct Store {
    db: DatabaseConnection,
    _test_db: TestDb,
}

async fn open_store(kind: Db) -> Store {
    let test_db = TestDb::create(kind).await.unwrap();
    let settings = common::test_settings(&test_db.url, &[]);
    let db = store::connect(&settings.database).await.unwrap();
    store::migrate(&db).await.unwrap();
    for queue in ["service-desk", "network"] {
        queues::upsert(
            &db,
            queue,
            QueueSpec {
                name: common::display_name(queue),
                description: String::new(),
                enabled: true,
                routing: RoutingMode::Auto,
                priority: 0,
                sla_answer_secs: 60,
                max_wait_secs: 0,
                offer_timeout_secs: 20,
            },
        )
        .await
        .unwrap();
    }
    user_store::upsert(&db, "emma", "Emma Wilson")
        .await
        .unwrap();
    analysts::upsert(&db, "alice", "Alice Test".into(), 3, AnalystRole::Analyst)
        .await
        .unwrap();
    Store {
        db,
        _test_db: test_db,
    }
}

/// 2026-11-25 11:20:56 UTC plus `micros` microseconds (PostgreSQL keeps microseconds).
fn at(micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 11, 20, 56).unwrap() + Duration::microseconds(micros)
}

async fn new_chat(
    db: &DatabaseConnection,
    queue: &str,
    user: &str,
    created_at: DateTime<Utc>,
) -> chats::Model {
    let call = calls::create(db, user, "Printer on fire", created_at)
        .await
        .unwrap();
    store::chats::insert(
        db,
        NewChat {
            id: uuid::Uuid::now_v7().to_string(),
            queue_id: queue.into(),
            user_id: user.into(),
            call_id: call.id,
            subject: "Printer on fire".into(),
            created_at,
        },
    )
    .await
    .unwrap()
}

fn message(chat_id: &str, seq: i64, client_msg_id: Option<String>) -> NewMessage {
    NewMessage {
        chat_id: chat_id.into(),
        seq,
        sender_role: "user".into(),
        sender_id: "emma".into(),
        sender_name: "Emma Wilson".into(),
        body: format!("message {seq}"),
        client_msg_id,
        visibility: switchboard::domain::Visibility::All,
        created_at: at(seq * 1000),
        attachments: Vec::new(),
    }
}

async fn user_upsert_inserts_then_renames(s: Store) {
    let first = users::Entity::find_by_id("emma")
        .one(&s.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.name, "Emma Wilson");
    user_store::upsert(&s.db, "emma", "Emma W. Wilson")
        .await
        .unwrap();
    let second = users::Entity::find_by_id("emma")
        .one(&s.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.name, "Emma W. Wilson");
    assert_eq!(second.created_at, first.created_at, "created_at is kept");
    assert!(second.updated_at >= first.updated_at);
    assert_eq!(users::Entity::find().count(&s.db).await.unwrap(), 1);
}

async fn call_gets_a_unique_id_and_one_first_contact(s: Store) {
    let call = calls::create(&s.db, "emma", "VPN drops", at(0))
        .await
        .unwrap();
    let hex = call.id.strip_prefix("CALL-").expect("CALL- prefix");
    assert_eq!(hex.len(), 32, "{}", call.id);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)),
        "{}",
        call.id
    );
    assert_eq!(
        (call.source.as_str(), call.status.as_str()),
        ("Chat", "open")
    );
    assert_eq!(call.first_contact_at, None);
    let other = calls::create(&s.db, "emma", "VPN drops", at(0))
        .await
        .unwrap();
    assert_ne!(other.id, call.id);

    calls::record_first_contacts(&s.db, &[(&call.id, at(5_000_000))])
        .await
        .unwrap();
    calls::record_first_contacts(&s.db, &[(&call.id, at(9_000_000))])
        .await
        .unwrap();
    let found = calls::find(&s.db, &call.id).await.unwrap().unwrap();
    assert_eq!(
        found.first_contact_at,
        Some(at(5_000_000)),
        "the first stamp stays"
    );
    assert_eq!(found.summary, "VPN drops");
    assert!(calls::find(&s.db, "CALL-NOPE").await.unwrap().is_none());
    assert!(calls::history(&s.db, &call.id).await.unwrap().is_empty());
}

async fn chat_lifecycle_is_stored(s: Store) {
    let chat = new_chat(&s.db, "service-desk", "emma", at(123_456)).await;
    assert_eq!(chat.state, "waiting");
    assert_eq!(chat.last_seq, 0);
    assert_eq!(chat.created_at, at(123_456));
    assert_eq!(store::chats::open(&s.db).await.unwrap().len(), 1);

    store::chats::mark_all_active(&s.db, &[(&chat.id, "alice", at(2_000_000))])
        .await
        .unwrap();
    let active = store::chats::find(&s.db, &chat.id).await.unwrap().unwrap();
    assert_eq!(active.state, "active");
    assert_eq!(active.analyst_id.as_deref(), Some("alice"));
    assert_eq!(active.accepted_at, Some(at(2_000_000)));

    store::chats::mark_waiting(&s.db, &chat.id, "network")
        .await
        .unwrap();
    let back = store::chats::find(&s.db, &chat.id).await.unwrap().unwrap();
    assert_eq!(back.state, "waiting");
    assert_eq!(back.queue_id, "network");
    assert_eq!(back.analyst_id, None);
    assert_eq!(back.accepted_at, Some(at(2_000_000)), "accepted_at is kept");

    store::chats::mark_all_active(&s.db, &[(&chat.id, "alice", at(3_000_000))])
        .await
        .unwrap();
    store::chats::mark_ended(
        &s.db,
        &chat.id,
        ChatState::Closed,
        EndReason::ClosedByAnalyst,
        at(9_000_000),
        7,
    )
    .await
    .unwrap();
    let ended = store::chats::find(&s.db, &chat.id).await.unwrap().unwrap();
    assert_eq!(ended.state, "closed");
    assert_eq!(ended.end_reason.as_deref(), Some("closed_by_analyst"));
    assert_eq!(ended.ended_at, Some(at(9_000_000)));
    assert_eq!(ended.last_seq, 7);
    assert!(store::chats::open(&s.db).await.unwrap().is_empty());
    assert!(
        store::chats::open_for_user(&s.db, "emma")
            .await
            .unwrap()
            .is_empty()
    );

    let missing = store::chats::mark_waiting(&s.db, "no-such-chat", "network")
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
    assert!(
        store::chats::find(&s.db, "no-such-chat")
            .await
            .unwrap()
            .is_none()
    );
}

async fn open_chats_come_oldest_first(s: Store) {
    user_store::upsert(&s.db, "noah", "Noah Test")
        .await
        .unwrap();
    let c = new_chat(&s.db, "network", "emma", at(3)).await;
    let a = new_chat(&s.db, "service-desk", "noah", at(1)).await;
    let b = new_chat(&s.db, "service-desk", "emma", at(2)).await;
    let d = new_chat(&s.db, "service-desk", "emma", at(4)).await;
    store::chats::mark_all_active(&s.db, &[(&b.id, "alice", at(10))])
        .await
        .unwrap();
    store::chats::mark_ended(
        &s.db,
        &d.id,
        ChatState::Unanswered,
        EndReason::UserLeft,
        at(20),
        0,
    )
    .await
    .unwrap();
    let open: Vec<String> = store::chats::open(&s.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(open, [a.id.clone(), b.id.clone(), c.id.clone()]);
    let emma: Vec<String> = store::chats::open_for_user(&s.db, "emma")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(emma, [b.id, c.id]);
}

/// Pages through `query` with its limit and returns the chat ids and page sizes.
async fn page_through(db: &DatabaseConnection, mut query: ListQuery) -> (Vec<String>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let (rows, next) = store::chats::list(db, &query).await.unwrap();
        sizes.push(rows.len());
        ids.extend(rows.into_iter().map(|c| c.id));
        match next {
            Some(cursor) => query.cursor = Some(cursor),
            None => return (ids, sizes),
        }
        assert!(sizes.len() < 20, "paging does not end");
    }
}

async fn listings_page_through_every_chat_once_in_order(s: Store) {
    // Five chats per filter; created_at pairs tie so the id breaks them, and fractions of a
    // second matter.
    let mut expected: Vec<(ListFilter, Vec<chats::Model>)> = Vec::new();
    for (n, filter) in [
        ListFilter::Waiting,
        ListFilter::Unanswered,
        ListFilter::Answered,
    ]
    .into_iter()
    .enumerate()
    {
        let mut made = Vec::new();
        for i in 0..5i64 {
            let queue = if i % 2 == 0 {
                "service-desk"
            } else {
                "network"
            };
            let created = at(n as i64 * 10_000_000 + (i / 2) * 250_001);
            let chat = new_chat(&s.db, queue, "emma", created).await;
            match (filter, i % 2) {
                (ListFilter::Waiting, 0) => {}
                (ListFilter::Waiting, _) => {
                    chats::Entity::update(chats::ActiveModel {
                        id: Set(chat.id.clone()),
                        state: Set("offered".into()),
                        ..Default::default()
                    })
                    .exec(&s.db)
                    .await
                    .unwrap();
                }
                (ListFilter::Unanswered, _) => {
                    store::chats::mark_ended(
                        &s.db,
                        &chat.id,
                        ChatState::Unanswered,
                        EndReason::MaxWait,
                        at(99_000_000),
                        0,
                    )
                    .await
                    .unwrap();
                }
                (ListFilter::Answered, parity) => {
                    store::chats::mark_all_active(&s.db, &[(&chat.id, "alice", at(50_000_000))])
                        .await
                        .unwrap();
                    if parity == 1 {
                        store::chats::mark_ended(
                            &s.db,
                            &chat.id,
                            ChatState::Closed,
                            EndReason::ClosedByUser,
                            at(99_000_000),
                            3,
                        )
                        .await
                        .unwrap();
                    }
                }
            }
            made.push(chat);
        }
        expected.push((filter, made));
    }

    for (filter, mut made) in expected {
        made.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        if filter != ListFilter::Waiting {
            made.reverse();
        }
        let want: Vec<String> = made.iter().map(|c| c.id.clone()).collect();
        let query = ListQuery {
            filter,
            queue_ids: None,
            user_id: None,
            limit: 2,
            cursor: None,
        };
        let (ids, sizes) = page_through(&s.db, query.clone()).await;
        assert_eq!(ids, want, "{filter:?}");
        assert_eq!(sizes, [2, 2, 1], "{filter:?}");
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 5);

        let (all, next) = store::chats::list(
            &s.db,
            &ListQuery {
                limit: 5,
                ..query.clone()
            },
        )
        .await
        .unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(next, None, "no cursor when nothing more exists");

        let in_queue: Vec<String> = made
            .iter()
            .filter(|c| c.queue_id == "service-desk")
            .map(|c| c.id.clone())
            .collect();
        let (ids, _) = page_through(
            &s.db,
            ListQuery {
                queue_ids: Some(vec!["service-desk".into()]),
                ..query.clone()
            },
        )
        .await;
        assert_eq!(ids, in_queue, "{filter:?} in service-desk");

        let (ids, _) = page_through(
            &s.db,
            ListQuery {
                user_id: Some("noah".into()),
                ..query.clone()
            },
        )
        .await;
        assert!(ids.is_empty());
    }

    for bad in [
        "not base64 at all!".to_string(),
        URL_SAFE_NO_PAD.encode("no separator"),
        URL_SAFE_NO_PAD.encode("yesterday|some-id"),
        URL_SAFE_NO_PAD.encode("2026-11-25T11:20:56Z|"),
    ] {
        let err = store::chats::list(
            &s.db,
            &ListQuery {
                filter: ListFilter::Answered,
                queue_ids: None,
                user_id: None,
                limit: 2,
                cursor: Some(bad.clone()),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest, "{bad}");
        assert_eq!(err.message, "cursor is not valid");
    }
}

async fn message_batches_are_stored_and_read_back(s: Store) {
    let chat = new_chat(&s.db, "service-desk", "emma", at(0)).await;
    let quiet = new_chat(&s.db, "service-desk", "emma", at(1)).await;
    messages::insert_batch(&s.db, &[]).await.unwrap();

    let rows: Vec<NewMessage> = (1..=2500)
        .map(|seq| message(&chat.id, seq, (seq % 10 == 0).then(|| format!("c-{seq}"))))
        .collect();
    messages::insert_batch(&s.db, &rows).await.unwrap();

    let all = messages::transcript(&s.db, &chat.id, 0, 10_000)
        .await
        .unwrap();
    assert_eq!(all.len(), 2500);
    assert!(all.iter().zip(1..).all(|(m, seq)| m.seq == seq));
    assert_eq!(all[41].body, "message 42");
    assert_eq!(all[41].created_at, at(42_000));
    let page = messages::transcript(&s.db, &chat.id, 2400, 50)
        .await
        .unwrap();
    assert_eq!(page.first().map(|m| m.seq), Some(2401));
    assert_eq!(page.last().map(|m| m.seq), Some(2450));

    let seqs = messages::last_seqs(&s.db, &[chat.id.clone(), quiet.id.clone(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(seqs.len(), 1);
    assert_eq!(seqs.get(&chat.id), Some(&2500));
    assert!(messages::last_seqs(&s.db, &[]).await.unwrap().is_empty());

    let ids = messages::client_ids(&s.db, &chat.id).await.unwrap();
    assert_eq!(ids.len(), 250);
    assert_eq!(ids[0], ("emma".to_string(), "c-10".to_string(), 10));
    assert!(
        messages::client_ids(&s.db, &quiet.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_failing_batch_stores_nothing(s: Store) {
    let chat = new_chat(&s.db, "service-desk", "emma", at(0)).await;
    let other = new_chat(&s.db, "service-desk", "emma", at(1)).await;
    messages::insert_batch(&s.db, &[message(&chat.id, 1, None)])
        .await
        .unwrap();

    // 1500 rows (a transaction of two inserts): the first 1000-row insert succeeds, the second
    // hits a seq the chat already has.
    let mut rows: Vec<NewMessage> = (1..=1499)
        .map(|seq| message(&other.id, seq, None))
        .collect();
    rows.push(message(&chat.id, 1, None));
    assert!(messages::insert_batch(&s.db, &rows).await.is_err());
    let stored = chat_messages::Entity::find().count(&s.db).await.unwrap();
    assert_eq!(stored, 1, "nothing of the failed batch is stored");

    // A small batch is one statement: a duplicate in it fails the whole of it the same way.
    let twice = [
        message(&other.id, 1, None),
        message(&other.id, 2, None),
        message(&other.id, 1, None),
    ];
    assert!(messages::insert_batch(&s.db, &twice).await.is_err());
    assert_eq!(
        chat_messages::Entity::find()
            .filter(chat_messages::Column::ChatId.eq(other.id.as_str()))
            .count(&s.db)
            .await
            .unwrap(),
        0
    );
}

async fn history_is_written_once_with_the_transcript(s: Store) {
    let chat = new_chat(&s.db, "service-desk", "emma", at(0)).await;
    let mut hello = message(&chat.id, 1, None);
    hello.body = "hello".into();
    hello.created_at = Utc.with_ymd_and_hms(2026, 11, 25, 11, 20, 56).unwrap();
    let mut reply = message(&chat.id, 2, None);
    reply.sender_role = "analyst".into();
    reply.sender_id = "alice".into();
    reply.sender_name = "Alice Test".into();
    reply.body = "Try this:\n1. restart\n2. log in".into();
    reply.created_at =
        Utc.with_ymd_and_hms(2026, 11, 25, 11, 21, 3).unwrap() + Duration::milliseconds(900);
    messages::insert_batch(&s.db, &[hello, reply])
        .await
        .unwrap();

    let transcript = messages::transcript(&s.db, &chat.id, 0, 100).await.unwrap();
    let text = history::transcript_text(&transcript, &Default::default());
    assert_eq!(
        text,
        "[2026-11-25 11:20:56 UTC] Emma Wilson: hello\n\
         [2026-11-25 11:21:03 UTC] Alice Test: Try this:\n  1. restart\n  2. log in"
    );
    assert_eq!(history::transcript_text(&[], &Default::default()), "");

    let entry = HistoryEntry {
        call_id: chat.call_id.clone(),
        chat_id: chat.id.clone(),
        started_at: at(0),
        ended_at: at(60_000_000),
        contents: text.clone(),
    };
    history::write(&s.db, entry.clone()).await.unwrap();
    history::write(
        &s.db,
        HistoryEntry {
            contents: "again".into(),
            ..entry
        },
    )
    .await
    .unwrap();
    let written = calls::history(&s.db, &chat.call_id).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].kind, "chat");
    assert_eq!(written[0].chat_id, chat.id);
    assert_eq!(written[0].link, format!("/chats/{}", chat.id));
    assert_eq!(written[0].contents, text, "the first write stays");
    assert_eq!(
        (written[0].started_at, written[0].ended_at),
        (at(0), at(60_000_000))
    );

    let extra = calls::create(&s.db, "emma", "Follow-up", at(5))
        .await
        .unwrap();
    assert!(history::link(&s.db, &chat.id, &extra.id).await.unwrap());
    assert!(!history::link(&s.db, &chat.id, &extra.id).await.unwrap());
    assert!(
        history::linked_calls(&s.db, &extra.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        history::linked_calls(&s.db, &chat.id).await.unwrap(),
        [extra.id]
    );
}

/// One `#[actix_web::test]` per database for each `async fn name(s: Store)` given.
async fn a_batch_of_starts_is_stored_in_one_go(s: Store) {
    calls::create(&s.db, "emma", "Earlier", at(0))
        .await
        .unwrap();
    let earlier = call_rows::Entity::find()
        .one(&s.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let start = |chat: &str, user: &str, queue: &str, call_id: Option<&str>| ChatToStart {
        chat_id: chat.into(),
        queue_id: queue.into(),
        user_id: user.into(),
        user_name: format!("{user} renamed"),
        subject: String::new(),
        call_id: call_id.map(Into::into),
        call_ref: None,
        created_at: at(1),
        skills: "[]".into(),
    };
    // Noah twice (two queues) in one statement; Emma in her own call; Fred naming Emma's call.
    let batch = [
        start("c1", "noah", "service-desk", None),
        start("c2", "noah", "network", None),
        start("c3", "emma", "service-desk", Some(&earlier)),
        start("c4", "fred", "service-desk", Some(&earlier)),
    ];
    let call_ids: Vec<String> = store::chats::start_all(&s.db, &batch)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_ne!(call_ids[0], call_ids[1]);
    assert_eq!(call_ids[2], earlier);
    assert_ne!(call_ids[3], earlier);
    let noah = users::Entity::find_by_id("noah")
        .one(&s.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(noah.name, "noah renamed");
    for (chat, call) in ["c1", "c2", "c3", "c4"].iter().zip(&call_ids) {
        let row = chats::Entity::find_by_id(*chat)
            .one(&s.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&row.call_id, row.state.as_str()), (call, "waiting"));
    }
    // The store writer's batch of assignments: one statement, each chat its own analyst and time;
    // a call stamped twice keeps the first stamp.
    analysts::upsert(&s.db, "bob", "Bob Test".into(), 3, AnalystRole::Analyst)
        .await
        .unwrap();
    store::chats::mark_all_active(&s.db, &[("c1", "alice", at(7)), ("c2", "bob", at(8))])
        .await
        .unwrap();
    for (chat, analyst, when) in [("c1", "alice", at(7)), ("c2", "bob", at(8))] {
        let row = chats::Entity::find_by_id(chat)
            .one(&s.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, "active");
        assert_eq!(
            (row.analyst_id.as_deref(), row.accepted_at),
            (Some(analyst), Some(when))
        );
    }
    let stamps = [
        (call_ids[0].as_str(), at(9)),
        (call_ids[0].as_str(), at(11)),
    ];
    calls::record_first_contacts(&s.db, &stamps).await.unwrap();
    let call = call_rows::Entity::find_by_id(call_ids[0].clone())
        .one(&s.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.first_contact_at, Some(at(9)));
    let missing =
        store::chats::mark_all_active(&s.db, &[("c3", "alice", at(9)), ("nope", "alice", at(9))])
            .await;
    assert!(missing.is_err(), "a chat that does not exist is an error");

    // A batch that cannot be stored leaves nothing behind.
    let again = [
        start("c5", "zoe", "service-desk", None),
        start("c1", "zoe", "network", None),
    ];
    assert!(store::chats::start_all(&s.db, &again).await.is_err());
    assert!(
        users::Entity::find_by_id("zoe")
            .one(&s.db)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(chats::Entity::find().count(&s.db).await.unwrap(), 4);
}

macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name(super::open_store(super::Db::Sqlite).await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                #[cfg_attr(switchboard_no_pg, ignore = "needs PostgreSQL: built with SWITCHBOARD_TEST_PG=0; run with it unset or a postgres:// URL")]
                async fn $name() {
                    super::$name(super::open_store(super::Db::Postgres).await).await;
                }
            )+
        }
    };
}

on_both_databases!(
    user_upsert_inserts_then_renames,
    call_gets_a_unique_id_and_one_first_contact,
    chat_lifecycle_is_stored,
    open_chats_come_oldest_first,
    listings_page_through_every_chat_once_in_order,
    message_batches_are_stored_and_read_back,
    a_failing_batch_stores_nothing,
    history_is_written_once_with_the_transcript,
    a_batch_of_starts_is_stored_in_one_go,
);
