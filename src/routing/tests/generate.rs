//! The generators of the routing property test: queues (modes, priorities, skills, expansion
//! steps, overflow, max_wait, aging), analysts (skills, capacities, some online from the start)
//! and the operations applied to them.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::super::*;
use crate::domain::{AnalystId, QueueId};

pub const QUEUES: usize = 3;
pub const ANALYSTS: usize = 4;
pub const SKILLS: [&str; 3] = ["fr", "de", "vpn"];

#[derive(Debug, Clone)]
pub enum Op {
    Start {
        queue: usize,
        asks: Vec<(usize, u8)>,
    },
    Status {
        analyst: usize,
        status: AnalystStatus,
    },
    Connect {
        analyst: usize,
    },
    Disconnect {
        analyst: usize,
    },
    Accept {
        analyst: usize,
        chat: usize,
    },
    Pass {
        chat: usize,
    },
    OfferTo {
        chat: usize,
        analyst: usize,
    },
    End {
        chat: usize,
    },
    Requeue {
        chat: usize,
        queue: usize,
        head: bool,
    },
    Capacity {
        analyst: usize,
        capacity: usize,
    },
    Member {
        queue: usize,
        analyst: usize,
        member: bool,
    },
    Enabled {
        queue: usize,
        enabled: bool,
    },
    Open {
        queue: usize,
        open: bool,
    },
    Clock {
        secs: i64,
    },
    /// An active chat ends into a wrap-up (§9.1) that holds its analyst's capacity.
    WrapUp {
        chat: usize,
        required: bool,
        timeout_secs: i64,
    },
    /// The analyst completes the n-th pending wrap-up.
    Wrapped {
        n: usize,
    },
    /// The analyst asks for a status once their chats are over (§9.2), or clears it.
    Pending {
        analyst: usize,
        status: Option<AnalystStatus>,
    },
}

pub fn status() -> impl Strategy<Value = AnalystStatus> {
    prop_oneof![
        3 => Just(AnalystStatus::Available),
        1 => Just(AnalystStatus::Busy),
        1 => Just(AnalystStatus::Away),
        1 => Just(AnalystStatus::Offline)
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    let asks = proptest::collection::vec((0..SKILLS.len(), 1..=5u8), 0..3);
    prop_oneof![
        6 => (0..QUEUES, asks).prop_map(|(queue, asks)| Op::Start { queue, asks }),
        2 => (0..ANALYSTS, status()).prop_map(|(analyst, status)| Op::Status { analyst, status }),
        1 => (0..ANALYSTS).prop_map(|analyst| Op::Connect { analyst }),
        1 => (0..ANALYSTS).prop_map(|analyst| Op::Disconnect { analyst }),
        2 => (0..ANALYSTS, 0..40usize).prop_map(|(analyst, chat)| Op::Accept { analyst, chat }),
        1 => (0..40usize).prop_map(|chat| Op::Pass { chat }),
        1 => (0..40usize, 0..ANALYSTS).prop_map(|(chat, analyst)| Op::OfferTo { chat, analyst }),
        2 => (0..40usize).prop_map(|chat| Op::End { chat }),
        1 => (0..40usize, 0..QUEUES, any::<bool>()).prop_map(|(chat, queue, head)| Op::Requeue { chat, queue, head }),
        1 => (0..ANALYSTS, 1..4usize).prop_map(|(analyst, capacity)| Op::Capacity { analyst, capacity }),
        1 => (0..QUEUES, 0..ANALYSTS, any::<bool>()).prop_map(|(queue, analyst, member)| Op::Member { queue, analyst, member }),
        1 => (0..QUEUES, any::<bool>()).prop_map(|(queue, enabled)| Op::Enabled { queue, enabled }),
        1 => (0..QUEUES, any::<bool>()).prop_map(|(queue, open)| Op::Open { queue, open }),
        3 => (1..40i64).prop_map(|secs| Op::Clock { secs }),
        2 => (0..40usize, any::<bool>(), 1..60i64).prop_map(|(chat, required, timeout_secs)| Op::WrapUp { chat, required, timeout_secs }),
        1 => (0..40usize).prop_map(|n| Op::Wrapped { n }),
        1 => (0..ANALYSTS, proptest::option::of(status())).prop_map(|(analyst, status)| Op::Pending { analyst, status }),
    ]
}

#[derive(Debug, Clone)]
pub struct Setup {
    pub modes: Vec<RoutingMode>,
    pub priorities: Vec<i32>,
    pub capacities: Vec<usize>,
    pub members: Vec<Vec<bool>>,
    /// Per analyst: (skill, level) held.
    pub held: Vec<Vec<(usize, u8)>>,
    /// Per analyst: online (available and connected) from the start.
    pub online: Vec<bool>,
    /// Per queue: steps as (after_secs, all?).
    pub steps: Vec<Vec<(u64, bool)>>,
    /// Per queue: overflow after secs to the next queue.
    pub overflow: Vec<Option<u64>>,
    pub max_wait: Vec<i64>,
    pub aging_secs: i64,
}

pub fn setup() -> impl Strategy<Value = Setup> {
    let mode = prop_oneof![
        2 => Just(RoutingMode::Auto),
        2 => Just(RoutingMode::Offer),
        1 => Just(RoutingMode::Manual)
    ];
    let held = proptest::collection::vec((0..SKILLS.len(), 1..=5u8), 0..4);
    let steps = proptest::collection::vec((1..60u64, any::<bool>()), 0..3);
    (
        (
            proptest::collection::vec(mode, QUEUES),
            proptest::collection::vec(0..3i32, QUEUES),
            proptest::collection::vec(1..4usize, ANALYSTS),
            proptest::collection::vec(
                proptest::collection::vec(prop::bool::weighted(0.7), ANALYSTS),
                QUEUES,
            ),
        ),
        (
            proptest::collection::vec(held, ANALYSTS),
            proptest::collection::vec(prop::bool::weighted(0.6), ANALYSTS),
            proptest::collection::vec(steps, QUEUES),
            proptest::collection::vec(proptest::option::weighted(0.4, 1..90u64), QUEUES),
            proptest::collection::vec(prop_oneof![3 => Just(0i64), 1 => 30..200i64], QUEUES),
            prop_oneof![Just(0i64), 1..30i64],
        ),
    )
        .prop_map(
            |(
                (modes, priorities, capacities, members),
                (held, online, steps, overflow, max_wait, aging_secs),
            )| Setup {
                modes,
                priorities,
                capacities,
                members,
                held,
                online,
                steps,
                overflow,
                max_wait,
                aging_secs,
            },
        )
}

pub fn qid(i: usize) -> QueueId {
    QueueId::from(format!("q{i}"))
}

pub fn aid(i: usize) -> AnalystId {
    AnalystId::from(format!("a{i}"))
}

pub fn config(s: &Setup, q: usize) -> QueueConfig {
    let mut steps: Vec<ExpansionStep> = s.steps[q]
        .iter()
        .map(|(after_secs, all)| ExpansionStep {
            after_secs: *after_secs,
            relax: if *all { Relax::All } else { Relax::Level },
        })
        .collect();
    steps.sort_by_key(|s| s.after_secs);
    QueueConfig {
        priority: s.priorities[q],
        max_wait_secs: s.max_wait[q],
        skills: SKILLS.iter().map(|s| s.to_string()).collect(),
        expansion: steps,
        // Overflow flows down the chain q0 → q1 → q2 (the router refuses cycles at PUT).
        overflow: s.overflow[q]
            .filter(|_| q + 1 < QUEUES)
            .map(|after_secs| Overflow {
                after_secs,
                queue_id: qid(q + 1),
            }),
        ..QueueConfig::new(&qid(q), &qid(q), s.modes[q])
    }
}

pub fn build(s: &Setup) -> Core {
    let mut core = Core {
        aging_ms: s.aging_secs * 1000,
        overflow_retry_ms: 5_000,
        ..Core::default()
    };
    for a in 0..ANALYSTS {
        core.upsert_analyst(&aid(a), &aid(a), s.capacities[a]);
        let held = s.held[a]
            .iter()
            .map(|(k, l)| (SKILLS[*k].to_string(), *l))
            .collect();
        core.set_skills(&aid(a), held);
        if s.online[a] {
            let state = core.analysts.get_mut(&aid(a)).unwrap();
            state.status = AnalystStatus::Available;
            state.sessions = 1;
        }
    }
    for q in 0..QUEUES {
        core.upsert_queue(config(s, q));
        let members: BTreeSet<AnalystId> = (0..ANALYSTS)
            .filter(|a| s.members[q][*a])
            .map(aid)
            .collect();
        core.set_members(&qid(q), members);
    }
    core
}
