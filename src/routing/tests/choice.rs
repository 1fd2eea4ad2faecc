//! The indexed routing decision held to the straightforward walk it replaced: `walk_pair` takes
//! every queue's waiting chats in order, and the indexed `best_pair_within` must make the same
//! decision for every walk budget, after every step of the routing property test and on random
//! waiting lines here; `ref_need` is what the index must file each chat under, from raw fields.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::super::*;
use super::generate::*;
use super::reference::check_state;

/// What a waiting chat requires of an analyst now, from raw fields: nothing past an `all` step,
/// its skills at any level (0) past a `level` step, else each at its asked level; sorted by
/// skill, the highest level where a skill is asked twice.
pub fn ref_need(core: &Core, route: &ChatRoute) -> Vec<(String, u8)> {
    let steps = &core.queues[&route.queue_id].config.expansion;
    let begun = &steps[..route.relaxed.min(steps.len())];
    if begun.iter().any(|s| s.relax == Relax::All) {
        return Vec::new();
    }
    let mut need: Vec<(String, u8)> = Vec::new();
    for ask in &route.skills {
        let level = if begun.is_empty() { ask.level } else { 0 };
        match need.iter_mut().find(|(s, _)| *s == ask.name) {
            Some((_, l)) => *l = (*l).max(level),
            None => need.push((ask.name.clone(), level)),
        }
    }
    need.sort();
    need
}

/// The straightforward decision: every non-manual queue's waiting chats walked in order until
/// one that an eligible member (not passed on it, qualified at its step) may take; the first such
/// chat by (rank, id) over all queues; its analyst the first such member by (load, last
/// assignment, id).
pub fn walk_pair(core: &Core) -> Option<(ChatId, AnalystId, RoutingMode)> {
    let mut eligible: Vec<&AnalystState> =
        core.analysts.values().filter(|a| a.is_eligible()).collect();
    eligible.sort_by_key(|a| (a.load(), a.last_assigned, a.id.clone()));
    let takes = |a: &AnalystState, route: &ChatRoute, queue: &QueueState| {
        let relax = skills::in_force(&queue.config.expansion, route.relaxed);
        queue.members.contains(&a.id)
            && !route.passed.contains(&a.id)
            && skills::qualifies(&a.skills, &route.skills, relax)
    };
    let mut best: Option<((i64, i64), ChatId, &QueueState)> = None;
    for queue in core.queues.values() {
        if queue.config.routing == RoutingMode::Manual {
            continue;
        }
        for &(key, chat) in &queue.waiting {
            let route = &core.chats[&chat];
            if route.state != ChatState::Waiting {
                continue;
            }
            if eligible.iter().any(|a| takes(a, route, queue)) {
                let rank = core.rank(queue.config.priority, key);
                if best
                    .as_ref()
                    .is_none_or(|(b, c, _)| (rank, chat) < (*b, *c))
                {
                    best = Some((rank, chat, queue));
                }
                break;
            }
        }
    }
    let (_, chat, queue) = best?;
    let route = &core.chats[&chat];
    let a = eligible.iter().find(|a| takes(a, route, queue))?;
    Some((chat, a.id.clone(), queue.config.routing))
}

/// The indexed decision equals the walk's, whatever the walk budget before the index.
pub fn choices_agree(core: &Core) -> Result<(), TestCaseError> {
    let walk = walk_pair(core);
    for budget in [0, 1, 3, choose::WALK_BUDGET] {
        prop_assert_eq!(
            core.best_pair_within(budget),
            walk.clone(),
            "the indexed choice (walk budget {}) is the walk's",
            budget
        );
    }
    Ok(())
}

/// A random waiting line: per chat its queue, its asks (levels 0–5, a skill possibly twice), how
/// long ago it joined (ties included), who passed on it, and whether it is offered to someone.
type Line = Vec<(usize, Vec<(usize, u8)>, i64, Vec<bool>, bool)>;

fn line() -> impl Strategy<Value = Line> {
    let chat = (
        0..QUEUES,
        proptest::collection::vec((0..SKILLS.len(), 0..=5u8), 0..4),
        0..120i64,
        proptest::collection::vec(prop::bool::weighted(0.2), ANALYSTS),
        prop::bool::weighted(0.15),
    );
    proptest::collection::vec(chat, 0..80)
}

/// Routes one decision at a time, checking each against the walk, until nothing is left to route.
fn drain(core: &mut Core) -> Result<usize, TestCaseError> {
    let mut made = 0;
    loop {
        choices_agree(core)?;
        match core.best_pair_within(choose::WALK_BUDGET) {
            Some((chat, analyst, RoutingMode::Offer)) => {
                prop_assert!(core.offer_to(chat, &analyst).is_ok())
            }
            Some((chat, analyst, _)) => core.activate(chat, &analyst),
            None => return Ok(made),
        }
        made += 1;
    }
}

fn run_line(s: &Setup, line: &Line) -> Result<(), TestCaseError> {
    let mut core = build(s);
    let now = 1_000_000i64;
    for (n, (queue, asks, ago, passed, offered)) in line.iter().enumerate() {
        let id = ChatId::from_uuid(uuid::Uuid::from_u128(n as u128 + 1));
        let at = now - ago * 1000;
        let skills = asks
            .iter()
            .map(|(k, level)| SkillAsk {
                name: SKILLS[*k].to_string(),
                level: *level,
            })
            .collect();
        let entry = Entry {
            created_ms: at,
            entered_ms: at,
            skills,
        };
        core.enqueue_entry(id, &qid(*queue), "u", entry).unwrap();
        // Who passed plays no part in the index: set it directly.
        let route = core.chats.get_mut(&id).unwrap();
        for (a, _) in passed.iter().enumerate().filter(|(_, p)| **p) {
            route.passed.insert(aid(a));
        }
        if *offered && let Some(a) = (0..ANALYSTS).find(|a| core.check_offer(&aid(*a)).is_ok()) {
            core.offer_to(id, &aid(a)).unwrap();
        }
    }
    // The steps due by now begin (and some chats overflow or expire).
    for t in core.advance(now) {
        if let Timed::Expired { chat } = t {
            core.end(chat);
        }
    }
    drain(&mut core)?;
    check_state(&core, now)?;
    // Capacity frees one chat at a time, and the freed analysts are routed again.
    let mut active: Vec<ChatId> = core
        .chats
        .values()
        .filter(|c| c.state == ChatState::Active)
        .map(|c| c.id)
        .collect();
    active.sort();
    for chat in active {
        core.end(chat);
        drain(&mut core)?;
        check_state(&core, now)?;
    }
    Ok(())
}

#[test]
fn indexed_choice_matches_the_walk() {
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&(setup(), line()), |(s, line)| run_line(&s, &line))
        .unwrap();
}
