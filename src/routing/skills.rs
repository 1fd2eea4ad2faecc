//! Skills with levels and timed expansion (contract §8.1): what a chat asks for, what an analyst
//! holds, and which analysts qualify at the chat's current expansion step.

use std::collections::BTreeMap;

/// Lowest and highest skill level.
pub const LEVELS: std::ops::RangeInclusive<u8> = 1..=5;

/// One skill a chat asks for, at a minimum level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkillAsk {
    pub name: String,
    pub level: u8,
}

/// What an expansion step relaxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relax {
    /// Any level ≥ 1 of the requested skills.
    Level,
    /// Skills ignored.
    All,
}

impl Relax {
    pub fn as_str(self) -> &'static str {
        match self {
            Relax::Level => "level",
            Relax::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "level" => Some(Relax::Level),
            "all" => Some(Relax::All),
            _ => None,
        }
    }
}

/// One expansion step of a queue: after `after_secs` in the queue, `relax` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpansionStep {
    pub after_secs: u64,
    pub relax: Relax,
}

/// The widest relaxation among the first `begun` steps (none when no step has begun).
pub fn in_force(steps: &[ExpansionStep], begun: usize) -> Option<Relax> {
    steps.iter().take(begun).map(|s| s.relax).max()
}

/// Whether an analyst holding `held` may be routed a chat asking `asks` under `relax`.
pub fn qualifies(held: &BTreeMap<String, u8>, asks: &[SkillAsk], relax: Option<Relax>) -> bool {
    match relax {
        Some(Relax::All) => true,
        Some(Relax::Level) => asks.iter().all(|ask| held.contains_key(&ask.name)),
        None => asks
            .iter()
            .all(|ask| held.get(&ask.name).is_some_and(|level| *level >= ask.level)),
    }
}

/// The asks whose skill `listed` names (the rest are dropped when a chat changes queue).
pub fn listed(asks: Vec<SkillAsk>, listed: &[String]) -> Vec<SkillAsk> {
    asks.into_iter()
        .filter(|ask| listed.contains(&ask.name))
        .collect()
}
