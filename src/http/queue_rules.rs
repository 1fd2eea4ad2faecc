//! Checks a queue's §8 routing rules at `PUT /queues/{id}` (a bad value is `bad_request` naming
//! the field, nothing stored) and turns them into what the store keeps: skill names in the id
//! syntax, expansion steps in increasing `after_secs`, an overflow to another existing queue that
//! forms no cycle, a schedule that compiles, and wrap-up settings (§9.1) whose timeout is in range
//! and whose codes are distinct ids, never the reserved `timeout`.

use std::collections::{BTreeSet, HashMap};

use super::PutQueue;
use crate::actors::router::TIMEOUT_CODE;
use crate::domain::{WrapUpMode, is_valid_id};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::protocol::WrapUpRule;
use crate::routing::hours::Schedule;
use crate::state::AppState;
use crate::store;
use crate::store::queues::QueueRules;

/// Longest `after_secs` of an expansion step or overflow: a week.
const MAX_AFTER_SECS: u64 = 7 * 24 * 3600;
/// Most skills a queue lists.
const MAX_SKILLS: usize = 100;

fn json<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))
}

/// The rules of `b`, checked, as stored.
pub async fn check(state: &AppState, id: &str, b: &PutQueue) -> AppResult<QueueRules> {
    if b.skills.len() > MAX_SKILLS {
        return Err(AppError::bad_request(format!(
            "skills: at most {MAX_SKILLS}"
        )));
    }
    let mut seen = BTreeSet::new();
    for (i, name) in b.skills.iter().enumerate() {
        if !is_valid_id(name) {
            return Err(AppError::bad_request(format!(
                "skills[{i}]: {name:?} is not a skill name (letters, digits, . _ @ -; up to 64)"
            )));
        }
        if !seen.insert(name) {
            return Err(AppError::bad_request(format!(
                "skills[{i}]: {name:?} listed twice"
            )));
        }
    }
    let mut previous = None;
    for (i, step) in b.expansion.iter().enumerate() {
        if step.after_secs > MAX_AFTER_SECS {
            return Err(AppError::bad_request(format!(
                "expansion[{i}].after_secs: at most {MAX_AFTER_SECS}"
            )));
        }
        if previous.is_some_and(|p| step.after_secs <= p) {
            return Err(AppError::bad_request(format!(
                "expansion[{i}].after_secs: steps must be in increasing after_secs"
            )));
        }
        previous = Some(step.after_secs);
    }
    let overflow = match &b.overflow {
        None => None,
        Some(o) => {
            if !(1..=MAX_AFTER_SECS).contains(&o.after_secs) {
                return Err(AppError::bad_request(format!(
                    "overflow.after_secs: must be 1 to {MAX_AFTER_SECS}"
                )));
            }
            check_no_cycle(state, id, o.queue_id.as_str()).await?;
            let after = i32::try_from(o.after_secs).unwrap_or(i32::MAX);
            Some((after, o.queue_id.to_string()))
        }
    };
    let schedule = match &b.schedule {
        None => None,
        Some(spec) => {
            Schedule::compile(spec).map_err(AppError::bad_request)?;
            Some(json(spec)?)
        }
    };
    let wrap_up = match &b.wrap_up {
        None => None,
        Some(rule) => {
            check_wrap_up(rule)?;
            Some(json(rule)?)
        }
    };
    Ok(QueueRules {
        skills: json(&b.skills)?,
        expansion: json(&b.expansion)?,
        overflow,
        max_waiting: b.max_waiting,
        schedule,
        wrap_up,
    })
}

/// Longest wrap-up timeout: a day.
const MAX_WRAP_UP_SECS: u64 = 24 * 3600;
/// Most wrap-up codes a queue lists.
const MAX_WRAP_UP_CODES: usize = 50;

fn check_wrap_up(rule: &WrapUpRule) -> AppResult<()> {
    if !(1..=MAX_WRAP_UP_SECS).contains(&rule.timeout_secs) {
        return Err(AppError::bad_request(format!(
            "wrap_up.timeout_secs: must be 1 to {MAX_WRAP_UP_SECS}"
        )));
    }
    if rule.codes.len() > MAX_WRAP_UP_CODES {
        return Err(AppError::bad_request(format!(
            "wrap_up.codes: at most {MAX_WRAP_UP_CODES}"
        )));
    }
    if rule.mode != WrapUpMode::Off && rule.codes.is_empty() {
        return Err(AppError::bad_request(
            "wrap_up.codes: at least one code unless mode is off",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, code) in rule.codes.iter().enumerate() {
        if !is_valid_id(code) {
            return Err(AppError::bad_request(format!(
                "wrap_up.codes[{i}]: {code:?} is not a code (letters, digits, . _ @ -; up to 64)"
            )));
        }
        if code == TIMEOUT_CODE {
            return Err(AppError::bad_request(format!(
                "wrap_up.codes[{i}]: {TIMEOUT_CODE:?} is reserved for a wrap-up that timed out"
            )));
        }
        if !seen.insert(code) {
            return Err(AppError::bad_request(format!(
                "wrap_up.codes[{i}]: {code:?} listed twice"
            )));
        }
    }
    Ok(())
}

/// The target must exist and following overflows from it must never come back to `id`.
async fn check_no_cycle(state: &AppState, id: &str, target: &str) -> AppResult<()> {
    let queues = store::queues::list(&state.db).await?;
    let next: HashMap<&str, &str> = queues
        .iter()
        .filter_map(|q| Some((q.id.as_str(), q.overflow_queue_id.as_deref()?)))
        .collect();
    if !queues.iter().any(|q| q.id == target) {
        return Err(AppError::bad_request(format!(
            "overflow.queue_id: there is no queue {target}"
        )));
    }
    let mut at = target;
    let mut path = vec![id.to_string()];
    for _ in 0..=queues.len() {
        path.push(at.to_string());
        if at == id {
            return Err(AppError::bad_request(format!(
                "overflow.queue_id: {} would form a cycle",
                path.join(" → ")
            )));
        }
        match next.get(at) {
            Some(n) => at = n,
            None => return Ok(()),
        }
    }
    Ok(())
}
