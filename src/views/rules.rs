//! The routing rules of contract §8 in their three forms: stored (JSON text columns), sent
//! (`SkillRequest`, `ExpansionRule`, `OverflowRule`, `ScheduleSpec`) and routed (the core's
//! `QueueConfig`, `SkillAsk`, skill maps). Stored values were checked when they were written; one
//! that does not read back is taken as empty and logged.

use std::collections::BTreeMap;

use entities::queues;

use crate::domain::{QueueId, RoutingMode, WrapUpMode};
use crate::protocol::{
    ExpansionRule, OverflowRule, RelaxKind, ScheduleSpec, SkillRequest, WrapUpRule,
};
use crate::routing::{ExpansionStep, Overflow, QueueConfig, Relax, SkillAsk, WrapUpConfig};

fn read<T: serde::de::DeserializeOwned + Default>(json: &str, what: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|err| {
        tracing::warn!(what, error = %err, "stored routing rule unreadable: taken as empty");
        T::default()
    })
}

/// An analyst's stored skills.
pub fn analyst_skills(json: &str) -> BTreeMap<String, u8> {
    read(json, "analyst skills")
}

/// A chat's stored skill requests.
pub fn chat_skills(json: &str) -> Vec<SkillRequest> {
    read(json, "chat skills")
}

/// A queue's skill list.
pub fn queue_skills(q: &queues::Model) -> Vec<String> {
    read(&q.skills, "queue skills")
}

/// A queue's expansion steps.
pub fn expansion(q: &queues::Model) -> Vec<ExpansionRule> {
    read(&q.expansion, "queue expansion")
}

/// A queue's overflow.
pub fn overflow(q: &queues::Model) -> Option<OverflowRule> {
    Some(OverflowRule {
        after_secs: u64::try_from(q.overflow_after_secs?).unwrap_or(1),
        queue_id: QueueId::from(q.overflow_queue_id.clone()?),
    })
}

/// A queue's business hours.
pub fn schedule(q: &queues::Model) -> Option<ScheduleSpec> {
    let json = q.schedule.as_deref()?;
    serde_json::from_str(json)
        .map_err(|err| tracing::warn!(queue = q.id, error = %err, "stored schedule unreadable"))
        .ok()
}

/// A queue's wrap-up settings (§9.1); none stored is `off`.
pub fn wrap_up(q: &queues::Model) -> WrapUpRule {
    q.wrap_up
        .as_deref()
        .map(|json| read::<WrapUpRule>(json, "queue wrap-up"))
        .unwrap_or_default()
}

/// Wrap-up settings as the core routes them: `None` when off.
pub fn wrap_up_config(rule: &WrapUpRule) -> Option<WrapUpConfig> {
    (rule.mode != WrapUpMode::Off).then(|| WrapUpConfig {
        required: rule.mode == WrapUpMode::Required,
        timeout_secs: rule.timeout_secs.max(1),
        codes: rule.codes.clone(),
    })
}

/// Requests as the core routes them.
pub fn asks(requests: &[SkillRequest]) -> Vec<SkillAsk> {
    requests
        .iter()
        .map(|r| SkillAsk {
            name: r.name.clone(),
            level: r.level,
        })
        .collect()
}

/// The core's asks as clients see them.
pub fn requests(asks: &[SkillAsk]) -> Vec<SkillRequest> {
    asks.iter()
        .map(|a| SkillRequest {
            name: a.name.clone(),
            level: a.level,
        })
        .collect()
}

/// Asks as stored.
pub fn asks_json(asks: &[SkillAsk]) -> String {
    serde_json::to_string(&requests(asks)).unwrap_or_else(|_| "[]".into())
}

fn relax(kind: RelaxKind) -> Relax {
    match kind {
        RelaxKind::Level => Relax::Level,
        RelaxKind::All => Relax::All,
    }
}

/// A stored queue as the routing core takes it.
pub fn queue_config(q: &queues::Model) -> QueueConfig {
    QueueConfig {
        id: QueueId::from(q.id.as_str()),
        name: q.name.clone(),
        enabled: q.enabled,
        routing: q.routing.parse().unwrap_or(RoutingMode::Manual),
        priority: q.priority,
        max_wait_secs: i64::from(q.max_wait_secs),
        offer_timeout_secs: u64::try_from(q.offer_timeout_secs).unwrap_or(1).max(1),
        skills: queue_skills(q),
        expansion: expansion(q)
            .into_iter()
            .map(|e| ExpansionStep {
                after_secs: e.after_secs,
                relax: relax(e.relax),
            })
            .collect(),
        overflow: overflow(q).map(|o| Overflow {
            after_secs: o.after_secs,
            queue_id: o.queue_id,
        }),
        max_waiting: usize::try_from(q.max_waiting).unwrap_or(0),
        wrap_up: wrap_up_config(&wrap_up(q)),
    }
}
