//! Worked examples of §8 rules in the core: a skilled chat waiting for its step, aging, overflow,
//! and the estimate.

use super::*;

fn online(core: &mut Core, id: &str, capacity: usize, skills: &[(&str, u8)]) {
    core.upsert_analyst(id, id, capacity);
    core.set_skills(
        id,
        skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
    );
    let a = core.analysts.get_mut(id).unwrap();
    a.status = AnalystStatus::Available;
    a.sessions = 1;
}

fn chat(n: u128) -> ChatId {
    ChatId::from_uuid(uuid::Uuid::from_u128(n))
}

fn ask(name: &str, level: u8) -> Vec<SkillAsk> {
    vec![SkillAsk {
        name: name.into(),
        level,
    }]
}

#[test]
fn a_skilled_chat_waits_for_its_step_and_keeps_its_place() {
    let mut core = Core::default();
    core.upsert_queue(QueueConfig {
        skills: vec!["fr".into()],
        expansion: vec![
            ExpansionStep {
                after_secs: 30,
                relax: Relax::Level,
            },
            ExpansionStep {
                after_secs: 90,
                relax: Relax::All,
            },
        ],
        ..QueueConfig::new("q", "Q", RoutingMode::Auto)
    });
    core.set_members("q", ["bob".into()].into());
    let entry = |ms, skills| Entry {
        created_ms: ms,
        entered_ms: ms,
        skills,
    };
    core.enqueue_entry(chat(1), "q", "u1", entry(0, ask("fr", 3)))
        .unwrap();
    core.enqueue_entry(chat(2), "q", "u2", entry(1_000, Vec::new()))
        .unwrap();
    // Bob holds no French: he gets the younger, unskilled chat; the French one waits first.
    online(&mut core, "bob", 1, &[]);
    core.set_members("q", ["bob".into()].into());
    assert_eq!(
        core.route(),
        vec![Decision::Assign {
            chat: chat(2),
            analyst: "bob".into()
        }]
    );
    core.end(chat(2));
    core.enqueue_entry(chat(3), "q", "u3", entry(2_000, Vec::new()))
        .unwrap();
    assert_eq!(
        core.route(),
        vec![Decision::Assign {
            chat: chat(3),
            analyst: "bob".into()
        }]
    );
    core.end(chat(3));
    core.enqueue_entry(chat(4), "q", "u4", entry(3_000, Vec::new()))
        .unwrap();
    // Both wait for Bob's capacity; he is busy for a moment.
    core.analysts.get_mut("bob").unwrap().status = AnalystStatus::Busy;
    assert_eq!(core.next_due(), Some(30_000));
    assert_eq!(
        core.advance(30_000),
        vec![Timed::Expanded {
            chat: chat(1),
            relaxed: 1
        }]
    );
    assert_eq!(core.next_due(), Some(90_000));
    assert_eq!(
        core.advance(90_000),
        vec![Timed::Expanded {
            chat: chat(1),
            relaxed: 2
        }]
    );
    assert_eq!(
        core.position(chat(1)),
        Some(1),
        "still ahead of the younger chat"
    );
    core.analysts.get_mut("bob").unwrap().status = AnalystStatus::Available;
    assert_eq!(
        core.route(),
        vec![Decision::Assign {
            chat: chat(1),
            analyst: "bob".into()
        }]
    );
}

#[test]
fn aging_lets_an_old_low_priority_chat_overtake() {
    let mut core = Core {
        aging_ms: 60_000,
        ..Core::default()
    };
    core.upsert_queue(QueueConfig {
        priority: 0,
        ..QueueConfig::new("low", "Low", RoutingMode::Auto)
    });
    core.upsert_queue(QueueConfig {
        priority: 2,
        ..QueueConfig::new("high", "High", RoutingMode::Auto)
    });
    core.enqueue(chat(1), "low", "u1", 0).unwrap();
    core.enqueue(chat(2), "high", "u2", 150_000).unwrap();
    online(&mut core, "a", 1, &[]);
    core.set_members("low", ["a".into()].into());
    core.set_members("high", ["a".into()].into());
    // 0 − 0 < 150 000 − 2 × 60 000: the old low-priority chat goes first.
    assert_eq!(
        core.route(),
        vec![Decision::Assign {
            chat: chat(1),
            analyst: "a".into()
        }]
    );
    // Without aging, strict priority.
    let mut strict = Core {
        queues: core.queues.clone(),
        ..Core::default()
    };
    strict.upsert_analyst("a", "a", 1);
    online(&mut strict, "a", 1, &[]);
    strict.enqueue(chat(1), "low", "u1", 0).unwrap();
    strict.enqueue(chat(2), "high", "u2", 150_000).unwrap();
    assert_eq!(
        strict.route(),
        vec![Decision::Assign {
            chat: chat(2),
            analyst: "a".into()
        }]
    );
}

#[test]
fn overflow_moves_a_chat_by_age_and_waits_on_a_closed_target() {
    let mut core = Core {
        overflow_retry_ms: 5_000,
        ..Core::default()
    };
    core.upsert_queue(QueueConfig {
        overflow: Some(Overflow {
            after_secs: 60,
            queue_id: "tier2".into(),
        }),
        skills: vec!["vpn".into(), "fr".into()],
        ..QueueConfig::new("tier1", "Tier 1", RoutingMode::Manual)
    });
    core.upsert_queue(QueueConfig {
        skills: vec!["vpn".into()],
        ..QueueConfig::new("tier2", "Tier 2", RoutingMode::Manual)
    });
    core.enqueue(chat(2), "tier2", "u2", 10_000).unwrap();
    let skills = vec![
        SkillAsk {
            name: "fr".into(),
            level: 2,
        },
        SkillAsk {
            name: "vpn".into(),
            level: 1,
        },
    ];
    core.enqueue_entry(
        chat(1),
        "tier1",
        "u1",
        Entry {
            created_ms: 0,
            entered_ms: 0,
            skills,
        },
    )
    .unwrap();
    core.set_open("tier2", false);
    assert!(core.advance(60_000).is_empty(), "never into a closed queue");
    assert_eq!(core.next_due(), Some(65_000));
    core.set_open("tier2", true);
    let timed = core.advance(65_000);
    assert!(
        matches!(&timed[..], [Timed::Overflowed { chat: c, to, .. }] if *c == chat(1) && to.as_str() == "tier2")
    );
    assert_eq!(
        core.position(chat(1)),
        Some(1),
        "ahead of the younger chat there"
    );
    assert_eq!(
        core.chats[&chat(1)].skills,
        ask("vpn", 1),
        "skills tier2 does not list are dropped"
    );
    assert_eq!(core.chats[&chat(1)].entered_ms, 65_000);
}

#[test]
fn the_estimate_follows_position_slots_and_handle_time() {
    let mut core = Core::default();
    core.upsert_queue(QueueConfig::new("q", "Q", RoutingMode::Manual));
    online(&mut core, "a", 2, &[]);
    online(&mut core, "b", 2, &[]);
    core.set_members("q", ["a".into(), "b".into()].into());
    assert_eq!(
        core.estimate_new("q"),
        Some(0),
        "free slots: answered at once"
    );
    for n in 1..=4 {
        core.enqueue(chat(n), "q", "u", n as i64).unwrap();
        core.accept(if n % 2 == 0 { "a" } else { "b" }, chat(n))
            .unwrap();
    }
    assert_eq!(core.estimate_new("q"), None, "no handle time yet");
    core.record_handle("q", 120);
    core.record_handle("q", 120);
    // 4 slots, all busy, 120 s each: the 1st in line waits about (1 − ½) × 120 / 4 = 15 s.
    assert_eq!(core.estimate_new("q"), Some(15));
    for n in 5..=8 {
        core.enqueue(chat(n), "q", "u", n as i64).unwrap();
    }
    assert_eq!(core.estimate(chat(8)), Some(105));
    core.analysts.get_mut("b").unwrap().status = AnalystStatus::Away;
    assert_eq!(
        core.estimate(chat(8)),
        Some(210),
        "fewer slots, longer wait"
    );
    assert!(estimate::worth_telling(Some(100), Some(111)));
    assert!(!estimate::worth_telling(Some(200), Some(190)));
    assert!(estimate::worth_telling(Some(200), Some(184)));
    assert!(estimate::worth_telling(None, Some(3)));
}
