//! The routing decision core (`routing::Core`) at the scale: 1,000 analysts and 10,000
//! waiting chats in one queue. `drain_backlog` hands all 10,000 waiting chats to 1,000 free
//! analysts (capacity 10) in one `route()` call: its time per element is the cost of one
//! assignment. `one_freed` is the steady state: every analyst is full, 10,000 chats wait, one
//! chat ends and `route()` hands the head of the queue to the analyst who was freed (the work the
//! router does between "capacity freed" and "analyst told"). `one_freed_with_skills` is the same
//! with skills (contract §8.1): 1,000 analysts × 5 skills, 10,000 chats asking 1–2, 3 steps.

// A benchmark, like a test, stops at the first thing that goes wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, VecDeque};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use switchboard::domain::{AnalystId, AnalystStatus, RoutingMode};
use switchboard::routing::{
    ChatId, Core, Decision, Entry, ExpansionStep, QueueConfig, Relax, SkillAsk,
};

const ANALYSTS: usize = 1_000;
const WAITING: usize = 10_000;
const CAPACITY: usize = 10;

fn core_with_free_analysts() -> Core {
    let mut core = Core::default();
    core.upsert_queue(QueueConfig::new("desk", "Desk", RoutingMode::Auto));
    let mut members = BTreeSet::new();
    for i in 0..ANALYSTS {
        let id = format!("analyst-{i:04}");
        core.upsert_analyst(&id, &id, CAPACITY);
        if let Some(a) = core.analysts.get_mut(id.as_str()) {
            a.status = AnalystStatus::Available;
            a.sessions = 1;
        }
        members.insert(AnalystId::from(id));
    }
    core.set_members("desk", members);
    core
}

fn enqueue(core: &mut Core, n: usize, from_ms: i64) {
    for i in 0..n {
        let ms = from_ms + i64::try_from(i).unwrap();
        core.enqueue(ChatId::new(), "desk", &format!("user-{ms}"), ms)
            .unwrap();
    }
}

fn drain_backlog(c: &mut Criterion) {
    let mut core = core_with_free_analysts();
    enqueue(&mut core, WAITING, 0);
    let mut group = c.benchmark_group("routing");
    group.sample_size(20);
    group.throughput(Throughput::Elements(WAITING as u64));
    group.bench_function("drain_backlog_1000_analysts_10000_waiting", |b| {
        b.iter_batched(
            || core.clone(),
            |mut core| {
                let decisions = core.route();
                assert_eq!(decisions.len(), WAITING);
                decisions
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn one_freed(c: &mut Criterion) {
    // Fill every analyst, then leave 10,000 more chats waiting.
    let mut core = core_with_free_analysts();
    enqueue(&mut core, ANALYSTS * CAPACITY, 0);
    let mut active: VecDeque<ChatId> = core
        .route()
        .into_iter()
        .map(|d| match d {
            Decision::Assign { chat, .. } | Decision::Offer { chat, .. } => chat,
        })
        .collect();
    let mut next_ms = i64::try_from(ANALYSTS * CAPACITY).unwrap();
    enqueue(&mut core, WAITING, next_ms);
    next_ms += i64::try_from(WAITING).unwrap();
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_freed_1000_analysts_10000_waiting", |b| {
        b.iter(|| {
            // The oldest active chat ends; the freed analyst gets the head of the queue; a new
            // chat joins the tail so 10,000 keep waiting.
            let ended = active.pop_front().unwrap();
            core.end(ended);
            let decisions = core.route();
            assert_eq!(decisions.len(), 1);
            if let Some(Decision::Assign { chat, .. }) = decisions.first() {
                active.push_back(*chat);
            }
            core.enqueue(ChatId::new(), "desk", "user", next_ms)
                .unwrap();
            next_ms += 1;
        });
    });
    group.finish();
}

/// Skills in the pool; each analyst holds 5 of them, each chat asks 1 or 2.
const SKILL_POOL: usize = 20;

/// A small deterministic generator (the bench needs no crate for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

fn skill(i: usize) -> String {
    format!("skill-{i:02}")
}

fn asks(rng: &mut Lcg) -> Vec<SkillAsk> {
    let first = rng.next(SKILL_POOL);
    let mut asks = vec![SkillAsk {
        name: skill(first),
        level: 1 + rng.next(5) as u8,
    }];
    if rng.next(2) == 1 {
        let second = (first + 1 + rng.next(SKILL_POOL - 1)) % SKILL_POOL;
        asks.push(SkillAsk {
            name: skill(second),
            level: 1 + rng.next(5) as u8,
        });
    }
    asks
}

/// `one_freed` with skills: 1,000 analysts holding 5 of 20 skills (levels 1–5), every one full,
/// 10,000 chats waiting that ask 1–2 skills, and a queue with 3 expansion steps (the waiting
/// chats still at step 0, so the freed analyst must qualify). One chat ends and `route()` finds
/// the oldest waiting chat the freed analyst qualifies for.
fn one_freed_with_skills(c: &mut Criterion) {
    let mut rng = Lcg(42);
    let mut core = Core::default();
    core.upsert_queue(QueueConfig {
        skills: (0..SKILL_POOL).map(skill).collect(),
        expansion: vec![
            ExpansionStep {
                after_secs: 30,
                relax: Relax::Level,
            },
            ExpansionStep {
                after_secs: 60,
                relax: Relax::Level,
            },
            ExpansionStep {
                after_secs: 90,
                relax: Relax::All,
            },
        ],
        ..QueueConfig::new("desk", "Desk", RoutingMode::Auto)
    });
    let mut members = BTreeSet::new();
    for i in 0..ANALYSTS {
        let id = format!("analyst-{i:04}");
        core.upsert_analyst(&id, &id, CAPACITY);
        let held = (0..5)
            .map(|_| (skill(rng.next(SKILL_POOL)), 1 + rng.next(5) as u8))
            .collect();
        core.set_skills(&id, held);
        if let Some(a) = core.analysts.get_mut(id.as_str()) {
            a.status = AnalystStatus::Available;
            a.sessions = 1;
        }
        members.insert(AnalystId::from(id));
    }
    core.set_members("desk", members);
    // Fill every analyst with unskilled chats, then leave 10,000 skilled ones waiting.
    enqueue(&mut core, ANALYSTS * CAPACITY, 0);
    let mut active: VecDeque<ChatId> = core
        .route()
        .into_iter()
        .map(|d| match d {
            Decision::Assign { chat, .. } | Decision::Offer { chat, .. } => chat,
        })
        .collect();
    let mut next_ms = i64::try_from(ANALYSTS * CAPACITY).unwrap();
    let skilled = |core: &mut Core, rng: &mut Lcg, ms: i64| {
        let entry = Entry {
            created_ms: ms,
            entered_ms: ms,
            skills: asks(rng),
        };
        core.enqueue_entry(ChatId::new(), "desk", &format!("user-{ms}"), entry)
            .unwrap();
    };
    for _ in 0..WAITING {
        skilled(&mut core, &mut rng, next_ms);
        next_ms += 1;
    }
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(1));
    group.bench_function(
        "one_freed_skills_1000x5_analysts_10000_waiting_3_steps",
        |b| {
            b.iter(|| {
                let ended = active.pop_front().unwrap();
                core.end(ended);
                let decisions = core.route();
                assert!(decisions.len() <= 1);
                if let Some(Decision::Assign { chat, .. }) = decisions.first() {
                    active.push_back(*chat);
                    skilled(&mut core, &mut rng, next_ms);
                    next_ms += 1;
                }
            });
        },
    );
    group.finish();
}

criterion_group!(benches, drain_backlog, one_freed, one_freed_with_skills);
criterion_main!(benches);
