//! Protocol encode/decode: what the engine does once per frame on the hot path. `decode_send`
//! parses a client's `send` command (`protocol::decode`), `encode_message` serializes the
//! `message` event relayed to the peer, `ok_frame` builds the sender's acknowledgement (a typed
//! `OkResult::Sent`, as `Reply::ok` does).

// A benchmark, like a test, stops at the first thing that goes wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use switchboard::domain::{ChatId, Role};
use switchboard::protocol::{self, Actor, Message, MessageTag, OkResult, ServerFrame};

fn bench(c: &mut Criterion) {
    let chat = ChatId::new();
    let body = "x".repeat(64);
    let send = format!(
        r#"{{"type":"send","ref":"s123456789","chat_id":"{chat}","body":"{body}","client_msg_id":"123456789.42"}}"#
    );
    let message = Message {
        kind: MessageTag::Message,
        chat_id: chat,
        seq: 42,
        from: Actor {
            role: Role::User,
            id: "load-u1-42".into(),
            name: "Load User 42".into(),
        },
        body: body.clone(),
        at: "2026-11-25T11:20:56.123Z".into(),
        client_msg_id: Some("123456789.42".into()),
        visibility: switchboard::domain::Visibility::All,
        attachments: Vec::new(),
    };
    let mut group = c.benchmark_group("protocol");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_send", |b| {
        b.iter(|| {
            let (reference, frame) = protocol::decode(std::hint::black_box(&send));
            assert!(reference.is_some() && frame.is_ok());
        });
    });
    group.bench_function("encode_message", |b| {
        b.iter(|| protocol::encode(std::hint::black_box(&message)));
    });
    group.bench_function("ok_frame", |b| {
        b.iter(|| {
            let sent = OkResult::Sent {
                chat_id: chat,
                seq: 42,
                at: Some("2026-11-25T11:20:56.123Z".into()),
            };
            ServerFrame::ok(Some("s123456789"), std::hint::black_box(sent)).encode()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
