//! Property tests of the routing core: random sequences of chats, status changes, connections,
//! accepts, declines, requeues and ends, with the router's `route()` after each step, checked
//! against the invariants of contract §4 after every step and at every single decision.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::domain::{AnalystId, QueueId};

const QUEUES: usize = 3;
const ANALYSTS: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Start {
        queue: usize,
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
    End {
        chat: usize,
    },
    Requeue {
        chat: usize,
        queue: usize,
        head: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let status = prop_oneof![
        Just(AnalystStatus::Available),
        Just(AnalystStatus::Busy),
        Just(AnalystStatus::Away),
        Just(AnalystStatus::Offline)
    ];
    prop_oneof![
        3 => (0..QUEUES).prop_map(|queue| Op::Start { queue }),
        2 => (0..ANALYSTS, status).prop_map(|(analyst, status)| Op::Status { analyst, status }),
        1 => (0..ANALYSTS).prop_map(|analyst| Op::Connect { analyst }),
        1 => (0..ANALYSTS).prop_map(|analyst| Op::Disconnect { analyst }),
        2 => (0..ANALYSTS, 0..40usize).prop_map(|(analyst, chat)| Op::Accept { analyst, chat }),
        1 => (0..40usize).prop_map(|chat| Op::Pass { chat }),
        2 => (0..40usize).prop_map(|chat| Op::End { chat }),
        1 => (0..40usize, 0..QUEUES, any::<bool>()).prop_map(|(chat, queue, head)| Op::Requeue { chat, queue, head }),
    ]
}

#[derive(Debug, Clone)]
struct Setup {
    modes: Vec<RoutingMode>,
    priorities: Vec<i32>,
    capacities: Vec<usize>,
    members: Vec<Vec<bool>>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let mode = prop_oneof![
        Just(RoutingMode::Auto),
        Just(RoutingMode::Offer),
        Just(RoutingMode::Manual)
    ];
    (
        proptest::collection::vec(mode, QUEUES),
        proptest::collection::vec(0..3i32, QUEUES),
        proptest::collection::vec(1..4usize, ANALYSTS),
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), ANALYSTS), QUEUES),
    )
        .prop_map(|(modes, priorities, capacities, members)| Setup {
            modes,
            priorities,
            capacities,
            members,
        })
}

fn qid(i: usize) -> QueueId {
    QueueId::from(format!("q{i}"))
}

fn aid(i: usize) -> AnalystId {
    AnalystId::from(format!("a{i}"))
}

fn build(s: &Setup) -> Core {
    let mut core = Core::default();
    for a in 0..ANALYSTS {
        core.upsert_analyst(&aid(a), &aid(a), s.capacities[a]);
    }
    for q in 0..QUEUES {
        core.upsert_queue(QueueConfig {
            id: qid(q),
            name: qid(q).into_string(),
            enabled: true,
            routing: s.modes[q],
            priority: s.priorities[q],
            max_wait_secs: 0,
            offer_timeout_secs: 20,
        });
        let members: BTreeSet<AnalystId> = (0..ANALYSTS)
            .filter(|a| s.members[q][*a])
            .map(aid)
            .collect();
        core.set_members(&qid(q), members);
    }
    core
}

/// Rank of a waiting chat: higher priority first, then its place in the queue.
fn rank(core: &Core, chat: ChatId) -> (i32, i64) {
    let route = &core.chats[&chat];
    (
        -core.queues[&route.queue_id].config.priority,
        route.order_key,
    )
}

/// Waiting (not offered) chats in routed queues that some eligible member has not passed on.
fn routable(core: &Core) -> Vec<(ChatId, AnalystId)> {
    let mut out = Vec::new();
    for route in core.chats.values() {
        if route.state != ChatState::Waiting {
            continue;
        }
        let queue = &core.queues[&route.queue_id];
        if queue.config.routing == RoutingMode::Manual {
            continue;
        }
        for a in core.analysts.values() {
            if a.is_eligible() && queue.members.contains(&a.id) && !route.passed.contains(&a.id) {
                out.push((route.id, a.id.clone()));
            }
        }
    }
    out
}

fn check_state(core: &Core) {
    for route in core.chats.values() {
        for (qid, queue) in &core.queues {
            let listed = queue.waiting.contains(&(route.order_key, route.id));
            let expected = route.state.is_waiting() && *qid == route.queue_id;
            assert_eq!(
                listed, expected,
                "chat {} in exactly one place: {route:?}",
                route.id
            );
        }
        match route.state {
            ChatState::Waiting => assert!(route.analyst.is_none()),
            ChatState::Offered => {
                let a = &core.analysts[route.analyst.as_ref().unwrap()];
                assert_eq!(a.offer, Some(route.id));
            }
            ChatState::Active => {
                let owner = route.analyst.as_ref().unwrap();
                for a in core.analysts.values() {
                    assert_eq!(
                        a.open.contains(&route.id),
                        &a.id == owner,
                        "one analyst per chat"
                    );
                }
            }
            other => panic!("an open chat cannot be {other:?}"),
        }
    }
    let indexed: usize = core.by_user.values().map(BTreeSet::len).sum();
    assert_eq!(
        indexed,
        core.chats.len(),
        "every open chat is indexed by its user once"
    );
    for route in core.chats.values() {
        assert!(core.chats_of_user(&route.user_id).any(|c| c.id == route.id));
    }
    let waiting: usize = core.queues.values().map(|q| q.waiting.len()).sum();
    assert_eq!(
        waiting,
        core.chats.values().filter(|c| c.state.is_waiting()).count()
    );
    for a in core.analysts.values() {
        assert!(a.open.len() <= a.capacity, "load within capacity");
        for chat in &a.open {
            assert_eq!(core.chats[chat].analyst.as_deref(), Some(a.id.as_str()));
        }
        if let Some(chat) = a.offer {
            assert_eq!(core.chats[&chat].state, ChatState::Offered);
        }
    }
}

/// Runs `route()` and checks every decision against a replay on a copy of the state before it.
fn route_checked(core: &mut Core) {
    let mut replay = core.clone();
    let decisions = core.route();
    for d in &decisions {
        let (chat, analyst) = match d {
            Decision::Assign { chat, analyst } | Decision::Offer { chat, analyst } => {
                (*chat, analyst.clone())
            }
        };
        let candidates = routable(&replay);
        assert!(
            candidates.iter().any(|(c, a)| *c == chat && *a == analyst),
            "only eligible analysts, for chats they may take: {d:?}"
        );
        let best = candidates
            .iter()
            .map(|(c, _)| rank(&replay, *c))
            .min()
            .unwrap();
        assert_eq!(
            rank(&replay, chat),
            best,
            "priority, then longest waiting (FIFO)"
        );
        let chosen = &replay.analysts[&analyst];
        let route = &replay.chats[&chat];
        for (c, other) in &candidates {
            if *c == chat && *other != analyst {
                let o = &replay.analysts[other];
                assert!(
                    (chosen.open.len(), chosen.last_assigned) <= (o.open.len(), o.last_assigned),
                    "fewest open chats, then longest idle"
                );
            }
        }
        assert!(!route.passed.contains(&analyst));
        match d {
            Decision::Assign { .. } => replay.activate(chat, &analyst),
            Decision::Offer { .. } => replay.offer_to(chat, &analyst).unwrap(),
        }
    }
    assert!(
        routable(core).is_empty(),
        "no chat waits while an eligible analyst is free"
    );
}

fn nth_chat(core: &Core, n: usize) -> Option<ChatId> {
    let mut ids: Vec<ChatId> = core.chats.keys().copied().collect();
    ids.sort();
    (!ids.is_empty()).then(|| ids[n % ids.len()])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn routing_keeps_its_invariants(s in setup(), ops in proptest::collection::vec(op(), 1..80)) {
        let mut core = build(&s);
        let mut clock = 1_000;
        for op in ops {
            clock += 1;
            match op {
                Op::Start { queue } => {
                    let id = ChatId::from_uuid(uuid::Uuid::from_u128(clock as u128));
                    core.enqueue(id, &qid(queue), "u", clock).unwrap();
                }
                Op::Status { analyst, status } => core.analysts.get_mut(&aid(analyst)).unwrap().status = status,
                Op::Connect { analyst } => core.analysts.get_mut(&aid(analyst)).unwrap().sessions += 1,
                Op::Disconnect { analyst } => {
                    let a = core.analysts.get_mut(&aid(analyst)).unwrap();
                    a.sessions = a.sessions.saturating_sub(1);
                }
                Op::Accept { analyst, chat } => {
                    if let Some(chat) = nth_chat(&core, chat) {
                        let before = core.analysts[&aid(analyst)].open.len();
                        match core.accept(&aid(analyst), chat) {
                            Ok(()) => {
                                prop_assert_eq!(core.chats[&chat].analyst.clone(), Some(aid(analyst)));
                                prop_assert_eq!(core.analysts[&aid(analyst)].open.len(), before + 1);
                            }
                            Err(e) => prop_assert_eq!(core.analysts[&aid(analyst)].open.len(), before, "{:?}", e),
                        }
                    }
                }
                Op::Pass { chat } => {
                    if let Some(chat) = nth_chat(&core, chat)
                        && let Some(a) = core.chats[&chat].analyst.clone()
                        && core.chats[&chat].state == ChatState::Offered
                    {
                        prop_assert!(core.pass(&a, chat));
                    }
                }
                Op::End { chat } => {
                    if let Some(chat) = nth_chat(&core, chat) {
                        core.end(chat);
                        prop_assert!(!core.chats.contains_key(&chat));
                    }
                }
                Op::Requeue { chat, queue, head } => {
                    if let Some(chat) = nth_chat(&core, chat) {
                        let active = core.chats[&chat].state == ChatState::Active;
                        let place = if head { Place::Head } else { Place::ByCreation };
                        let result = core.requeue(chat, &qid(queue), place);
                        prop_assert_eq!(result.is_ok(), active);
                        if active && head {
                            prop_assert_eq!(core.position(chat), Some(1), "requeued at the head");
                        }
                    }
                }
            }
            check_state(&core);
            route_checked(&mut core);
            check_state(&core);
        }
    }
}

#[test]
fn two_accepts_of_one_chat_have_one_winner() {
    let mut core = build(&Setup {
        modes: vec![RoutingMode::Manual; QUEUES],
        priorities: vec![0; QUEUES],
        capacities: vec![2; ANALYSTS],
        members: vec![vec![true; ANALYSTS]; QUEUES],
    });
    let chat = ChatId::from_uuid(uuid::Uuid::from_u128(1));
    core.enqueue(chat, "q0", "u", 1).unwrap();
    assert!(core.accept("a0", chat).is_ok());
    assert_eq!(
        core.accept("a1", chat).unwrap_err().code,
        ErrorCode::Conflict
    );
}

#[test]
fn positions_follow_queue_order() {
    let mut core = build(&Setup {
        modes: vec![RoutingMode::Manual; QUEUES],
        priorities: vec![0; QUEUES],
        capacities: vec![2; ANALYSTS],
        members: vec![vec![true; ANALYSTS]; QUEUES],
    });
    let ids: Vec<ChatId> = (1..=3)
        .map(|n| ChatId::from_uuid(uuid::Uuid::from_u128(n)))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        core.enqueue(*id, "q0", "u", i as i64).unwrap();
    }
    assert_eq!(
        ids.iter().map(|c| core.position(*c)).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(3)]
    );
    core.end(ids[0]);
    assert_eq!(core.position(ids[2]), Some(2));
}

#[test]
fn a_restored_chat_is_back_as_it_was() {
    let mut core = build(&Setup {
        modes: vec![RoutingMode::Manual; QUEUES],
        priorities: vec![0; QUEUES],
        capacities: vec![2; ANALYSTS],
        members: vec![vec![true; ANALYSTS]; QUEUES],
    });
    let ids: Vec<ChatId> = (1..=3)
        .map(|n| ChatId::from_uuid(uuid::Uuid::from_u128(n)))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        core.enqueue(*id, "q0", "u", i as i64).unwrap();
    }
    // An accept that could not be stored: the chat waits again in its place.
    let waiting = core.chats[&ids[1]].clone();
    core.accept("a0", ids[1]).unwrap();
    core.restore(waiting.clone());
    assert_eq!(core.chats[&ids[1]], waiting);
    assert_eq!(core.position(ids[1]), Some(2));
    assert!(core.analysts["a0"].open.is_empty());
    // A requeue that could not be stored: active with its analyst again.
    core.accept("a0", ids[1]).unwrap();
    let active = core.chats[&ids[1]].clone();
    core.requeue(ids[1], "q1", Place::Head).unwrap();
    core.restore(active.clone());
    assert_eq!(core.chats[&ids[1]], active);
    assert!(core.analysts["a0"].open.contains(&ids[1]));
    assert_eq!(core.queues["q1"].waiting_len(), 0);
    // An end that could not be stored: open again.
    let ended = core.end(ids[1]).unwrap();
    core.restore(ended);
    assert_eq!(core.chats[&ids[1]], active);
    check_state(&core);
}
