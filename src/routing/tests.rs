//! Property tests of the routing core: random queues (modes, priorities, skills, expansion steps,
//! overflow, max_wait, priority aging) and analysts (skills, capacities, starting online or not),
//! then random sequences of chats, status changes, connections, accepts, declines, direct offers,
//! requeues, ends, capacity and membership changes, queues disabled and closed, and the clock
//! moving. After every step the state is checked against the invariants of contract §4 and §8,
//! and every routing decision against a reference computed from raw fields (not the core's own
//! helpers): eligibility at the chat's current expansion step, rank, the analyst chosen, assign
//! versus offer by the queue's mode, and the indexed choice against the walk it replaced
//! (`choice`). Coverage is counted, so generators that stop reaching the
//! hard cases fail the test.

mod choice;
mod generate;
mod reference;

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;
use generate::*;
use reference::*;

fn nth_chat(core: &Core, n: usize) -> Option<ChatId> {
    let mut ids: Vec<ChatId> = core.chats.keys().copied().collect();
    ids.sort();
    (!ids.is_empty()).then(|| ids[n % ids.len()])
}

/// What the generated cases reached, counted over a run.
#[derive(Default)]
struct Coverage {
    cases: AtomicUsize,
    /// Cases where an analyst was full while chats waited for them.
    filled_while_waiting: AtomicUsize,
    /// Cases with a decision made thanks to an expansion step.
    expanded_decisions: AtomicUsize,
    overflows: AtomicUsize,
    expiries: AtomicUsize,
    offers: AtomicUsize,
    /// Cases where an analyst free but for a wrap-up held a chat back.
    held_by_wrap_up: AtomicUsize,
    /// Cases where a pending status was applied.
    settled: AtomicUsize,
}

fn run_case(s: &Setup, ops: &[Op], cov: &Coverage) -> Result<(), TestCaseError> {
    let mut core = build(s);
    let mut now = 1_000_000i64;
    let mut next_id = 1u128;
    let (mut filled, mut expanded, mut overflowed, mut expired, mut offered) =
        (false, false, false, false, false);
    let (mut held, mut settled) = (false, false);
    for op in ops {
        match op.clone() {
            Op::Start { queue, asks } => {
                let id = ChatId::from_uuid(uuid::Uuid::from_u128(next_id));
                next_id += 1;
                let mut skills: Vec<SkillAsk> = asks
                    .iter()
                    .map(|(k, level)| SkillAsk {
                        name: SKILLS[*k].to_string(),
                        level: *level,
                    })
                    .collect();
                skills.sort();
                skills.dedup_by(|a, b| a.name == b.name);
                let entry = Entry {
                    created_ms: now,
                    entered_ms: now,
                    skills,
                };
                core.enqueue_entry(id, &qid(queue), "u", entry).unwrap();
            }
            Op::Status { analyst, status } => {
                core.analysts.get_mut(&aid(analyst)).unwrap().status = status
            }
            Op::Connect { analyst } => core.analysts.get_mut(&aid(analyst)).unwrap().sessions += 1,
            Op::Disconnect { analyst } => {
                let a = core.analysts.get_mut(&aid(analyst)).unwrap();
                a.sessions = a.sessions.saturating_sub(1);
            }
            Op::Accept { analyst, chat } => {
                if let Some(chat) = nth_chat(&core, chat) {
                    let allowed = may_accept(&core, &aid(analyst), chat);
                    let before = core.analysts[&aid(analyst)].open.len();
                    let holding = ref_load(&core.analysts[&aid(analyst)])
                        >= core.analysts[&aid(analyst)].capacity
                        && core.analysts[&aid(analyst)].open.len()
                            < core.analysts[&aid(analyst)].capacity;
                    let result = core.accept(&aid(analyst), chat);
                    prop_assert_eq!(result.is_ok(), allowed, "accept: {:?}", result);
                    held |= holding && result.is_err();
                    if result.is_ok() {
                        prop_assert_eq!(core.chats[&chat].analyst.clone(), Some(aid(analyst)));
                        prop_assert_eq!(core.analysts[&aid(analyst)].open.len(), before + 1);
                    } else {
                        prop_assert_eq!(core.analysts[&aid(analyst)].open.len(), before);
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
            Op::OfferTo { chat, analyst } => {
                if let Some(chat) = nth_chat(&core, chat) {
                    let a = &core.analysts[&aid(analyst)];
                    let allowed = core.chats[&chat].state == ChatState::Waiting
                        && a.sessions > 0
                        && a.offer.is_none()
                        && ref_load(a) < a.capacity;
                    prop_assert_eq!(core.offer_to(chat, &aid(analyst)).is_ok(), allowed);
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
                    let result = core.requeue(chat, &qid(queue), place, now);
                    prop_assert_eq!(result.is_ok(), active);
                    if active && head {
                        prop_assert_eq!(core.position(chat), Some(1), "requeued at the head");
                    }
                }
            }
            Op::Capacity { analyst, capacity } => {
                core.upsert_analyst(&aid(analyst), &aid(analyst), capacity)
            }
            Op::Member {
                queue,
                analyst,
                member,
            } => {
                let mut members = core.queues[&qid(queue)].members.clone();
                if member {
                    members.insert(aid(analyst));
                } else {
                    members.remove(&aid(analyst));
                }
                core.set_members(&qid(queue), members);
            }
            Op::Enabled { queue, enabled } => {
                let mut c = core.queues[&qid(queue)].config.clone();
                c.enabled = enabled;
                core.upsert_queue(c);
            }
            Op::Open { queue, open } => {
                core.set_open(&qid(queue), open);
            }
            Op::Clock { secs } => now += secs * 1000,
            Op::WrapUp {
                chat,
                required,
                timeout_secs,
            } => {
                if let Some(chat) = nth_chat(&core, chat)
                    && core.chats[&chat].state == ChatState::Active
                {
                    let route = core.end(chat).unwrap();
                    let analyst = route.analyst.unwrap();
                    let load = ref_load(&core.analysts[&analyst]);
                    let hold = Hold {
                        deadline_ms: now + timeout_secs * 1000,
                        required,
                        codes: vec!["resolved".into()],
                        completing: false,
                    };
                    core.hold(&analyst, chat, hold);
                    prop_assert_eq!(
                        ref_load(&core.analysts[&analyst]),
                        load + 1,
                        "the ended chat's capacity is held"
                    );
                }
            }
            Op::Wrapped { n } => {
                let mut pending: Vec<ChatId> = core.holders.keys().copied().collect();
                pending.sort();
                if !pending.is_empty() {
                    let chat = pending[n % pending.len()];
                    core.set_completing(chat, true);
                    prop_assert!(!core.due_wrap_ups(i64::MAX).contains(&chat));
                    let (analyst, _) = core.release(chat).unwrap();
                    prop_assert!(!core.analysts[&analyst].wrap_ups.contains_key(&chat));
                }
            }
            Op::Pending { analyst, status } => core.set_pending_status(&aid(analyst), status),
        }
        // Wrap-ups past their deadline end (code `timeout`), as the router's clock does.
        for chat in core.due_wrap_ups(now) {
            prop_assert!(core.wrap_up(chat).unwrap().1.deadline_ms <= now);
            core.release(chat);
        }
        prop_assert!(core.next_wrap_up_due().is_none_or(|at| at > now));
        for (analyst, status) in core.settled() {
            let a = core.analysts.get_mut(&analyst).unwrap();
            prop_assert_eq!(ref_load(a), 0, "a pending status waits for the last chat");
            prop_assert!(a.pending_status.is_none());
            a.status = status;
            settled = true;
        }
        for a in core.analysts.values() {
            prop_assert!(
                a.pending_status.is_none() || ref_load(a) > 0 || a.offer.is_some(),
                "a pending status applies once nothing is held"
            );
        }
        check_state(&core, now)?;
        let timed = advance_checked(&mut core, now)?;
        for t in &timed {
            match t {
                Timed::Expired { chat } => {
                    expired = true;
                    core.end(*chat);
                }
                Timed::Overflowed { .. } => overflowed = true,
                Timed::Expanded { .. } => {}
            }
        }
        check_state(&core, now)?;
        let stats = route_checked(&mut core, now)?;
        expanded |= stats.expanded;
        offered |= stats.offered;
        check_state(&core, now)?;
        filled |= core.analysts.values().any(|a| {
            a.open.len() >= a.capacity
                && core.queues_of(&a.id).any(|q| q.waiting().next().is_some())
        });
    }
    cov.cases.fetch_add(1, Ordering::Relaxed);
    for (hit, counter) in [
        (filled, &cov.filled_while_waiting),
        (expanded, &cov.expanded_decisions),
        (overflowed, &cov.overflows),
        (expired, &cov.expiries),
        (offered, &cov.offers),
        (held, &cov.held_by_wrap_up),
        (settled, &cov.settled),
    ] {
        if hit {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

#[test]
fn routing_keeps_its_invariants() {
    let cov = Coverage::default();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        ..Config::default()
    });
    let strategy = (setup(), proptest::collection::vec(op(), 1..100));
    runner
        .run(&strategy, |(s, ops)| run_case(&s, &ops, &cov))
        .unwrap();
    let cases = cov.cases.load(Ordering::Relaxed);
    let share = |c: &AtomicUsize| c.load(Ordering::Relaxed) * 100 / cases.max(1);
    assert!(
        share(&cov.filled_while_waiting) >= 30,
        "only {}% of cases filled an analyst while chats waited",
        share(&cov.filled_while_waiting)
    );
    assert!(
        share(&cov.expanded_decisions) >= 5,
        "expansion rarely decided a route"
    );
    assert!(share(&cov.overflows) >= 5, "overflow rarely happened");
    assert!(share(&cov.expiries) >= 5, "max_wait rarely ended a chat");
    assert!(share(&cov.offers) >= 20, "offers rarely made");
    // Random cases: about 3 % hold a wrap-up, and a run of 400 has seen 2 %; at least one in a
    // hundred shows the holds are exercised without failing on the draw.
    assert!(
        share(&cov.held_by_wrap_up) >= 1,
        "a wrap-up rarely held capacity back ({}%)",
        share(&cov.held_by_wrap_up)
    );
    assert!(share(&cov.settled) >= 10, "a pending status rarely applied");
}

fn manual_core() -> Core {
    let s = Setup {
        modes: vec![RoutingMode::Manual; QUEUES],
        priorities: vec![0; QUEUES],
        capacities: vec![2; ANALYSTS],
        members: vec![vec![true; ANALYSTS]; QUEUES],
        held: vec![Vec::new(); ANALYSTS],
        online: vec![false; ANALYSTS],
        steps: vec![Vec::new(); QUEUES],
        overflow: vec![None; QUEUES],
        max_wait: vec![0; QUEUES],
        aging_secs: 0,
    };
    build(&s)
}

#[test]
fn two_accepts_of_one_chat_have_one_winner() {
    let mut core = manual_core();
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
    let mut core = manual_core();
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
    let mut core = manual_core();
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
    core.requeue(ids[1], "q1", Place::Head, 10).unwrap();
    core.restore(active.clone());
    assert_eq!(core.chats[&ids[1]], active);
    assert!(core.analysts["a0"].open.contains(&ids[1]));
    assert_eq!(core.queues["q1"].waiting_len(), 0);
    // An end that could not be stored: open again.
    let ended = core.end(ids[1]).unwrap();
    core.restore(ended);
    assert_eq!(core.chats[&ids[1]], active);
    check_state(&core, 10).unwrap();
}

mod examples;
