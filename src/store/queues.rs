//! Queues: provisioning (create or replace), lookup, and the figures a `QueueView` shows that
//! come from stored chats (waiting, longest wait, active, answered and unanswered today, service level).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entities::{chats, queue_members, queues};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::domain::{ChatState, RoutingMode};
use crate::error::AppResult;

/// A queue's settings as an admin provisions them.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub routing: RoutingMode,
    pub priority: i32,
    pub sla_answer_secs: i32,
    pub max_wait_secs: i32,
    pub offer_timeout_secs: i32,
}

/// A queue's §8 routing rules as stored (checked by the caller).
#[derive(Debug, Clone)]
pub struct QueueRules {
    /// Skill names a chat may ask for (JSON array).
    pub skills: String,
    /// Expansion steps (JSON array).
    pub expansion: String,
    /// Overflow: (after secs, target queue).
    pub overflow: Option<(i32, String)>,
    pub max_waiting: i32,
    /// Business hours (JSON), or none.
    pub schedule: Option<String>,
    /// Wrap-up settings (JSON), or none (off).
    pub wrap_up: Option<String>,
}

impl QueueRules {
    /// No skills, steps, overflow, limit or hours.
    pub fn none() -> Self {
        QueueRules {
            skills: "[]".into(),
            expansion: "[]".into(),
            overflow: None,
            max_waiting: 0,
            schedule: None,
            wrap_up: None,
        }
    }
}

/// Creates or replaces a queue; `true` when it was created. One atomic statement (insert, or
/// update on conflict), so concurrent provisioning never deadlocks on SQLite's write lock.
pub async fn upsert(
    db: &impl ConnectionTrait,
    id: &str,
    spec: QueueSpec,
) -> AppResult<(queues::Model, bool)> {
    upsert_with_rules(db, id, spec, None).await
}

/// Like `upsert`, also replacing the queue's routing rules when given (a new queue without them
/// gets none), in the same one statement.
pub async fn upsert_with_rules(
    db: &impl ConnectionTrait,
    id: &str,
    spec: QueueSpec,
    rules: Option<QueueRules>,
) -> AppResult<(queues::Model, bool)> {
    let created = find(db, id).await?.is_none();
    let now = Utc::now();
    let replace_rules = rules.is_some();
    let r = rules.unwrap_or_else(QueueRules::none);
    let model = queues::ActiveModel {
        id: Set(id.to_string()),
        name: Set(spec.name),
        description: Set(spec.description),
        enabled: Set(spec.enabled),
        routing: Set(spec.routing.as_str().to_string()),
        priority: Set(spec.priority),
        sla_answer_secs: Set(spec.sla_answer_secs),
        max_wait_secs: Set(spec.max_wait_secs),
        offer_timeout_secs: Set(spec.offer_timeout_secs),
        skills: Set(r.skills),
        expansion: Set(r.expansion),
        overflow_after_secs: Set(r.overflow.as_ref().map(|o| o.0)),
        overflow_queue_id: Set(r.overflow.map(|o| o.1)),
        max_waiting: Set(r.max_waiting),
        schedule: Set(r.schedule),
        wrap_up: Set(r.wrap_up),
        created_at: Set(now),
        updated_at: Set(now),
    };
    use queues::Column as C;
    let mut columns = vec![
        C::Name,
        C::Description,
        C::Enabled,
        C::Routing,
        C::Priority,
        C::SlaAnswerSecs,
        C::MaxWaitSecs,
        C::OfferTimeoutSecs,
        C::UpdatedAt,
    ];
    if replace_rules {
        columns.extend([
            C::Skills,
            C::Expansion,
            C::OverflowAfterSecs,
            C::OverflowQueueId,
            C::MaxWaiting,
            C::Schedule,
            C::WrapUp,
        ]);
    }
    queues::Entity::insert(model)
        .on_conflict(OnConflict::column(C::Id).update_columns(columns).to_owned())
        .exec_without_returning(db)
        .await?;
    let saved = find(db, id)
        .await?
        .ok_or_else(|| crate::error::AppError::not_found(format!("queue {id}")))?;
    Ok((saved, created))
}

/// Turns a queue on or off and returns it.
pub async fn set_enabled(
    db: &impl ConnectionTrait,
    id: &str,
    enabled: bool,
) -> AppResult<queues::Model> {
    let found = queues::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .ok_or_else(|| crate::error::AppError::not_found(format!("queue {id}")))?;
    let mut model: queues::ActiveModel = found.into();
    model.enabled = Set(enabled);
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

/// Turns a queue on or off inside the store writer's transaction; a queue that is gone is no
/// error (it would fail everything committed with it).
pub async fn switch(db: &impl ConnectionTrait, id: &str, enabled: bool) -> AppResult<()> {
    queues::Entity::update_many()
        .col_expr(
            queues::Column::Enabled,
            sea_orm::sea_query::Expr::value(enabled),
        )
        .col_expr(
            queues::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(queues::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<queues::Model>> {
    Ok(queues::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Every queue, by id.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<queues::Model>> {
    Ok(queues::Entity::find()
        .order_by_asc(queues::Column::Id)
        .all(db)
        .await?)
}

/// The queues an analyst is a member of (as analyst or manager), by id.
pub async fn list_for_analyst(
    db: &impl ConnectionTrait,
    analyst_id: &str,
) -> AppResult<Vec<queues::Model>> {
    let ids: Vec<String> = queue_members::Entity::find()
        .select_only()
        .column(queue_members::Column::QueueId)
        .filter(queue_members::Column::AnalystId.eq(analyst_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(queues::Entity::find()
        .filter(queues::Column::Id.is_in(ids))
        .order_by_asc(queues::Column::Id)
        .all(db)
        .await?)
}

/// The figures of a queue that come from its stored chats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredFigures {
    pub waiting: u64,
    pub longest_wait_secs: i64,
    pub active_chats: u64,
    pub answered_today: u64,
    pub unanswered_today: u64,
    /// Share of today's answered chats answered within the SLA; `None` when none were answered.
    pub service_level: Option<f64>,
    /// Share of today's ratings that scored 4 or 5; `None` when there were none (§9.4).
    pub csat_today: Option<f64>,
}

/// Computes `StoredFigures` for the given queues at `now` ("today" is the UTC day).
pub async fn figures(
    db: &impl ConnectionTrait,
    queues: &[queues::Model],
    now: DateTime<Utc>,
) -> AppResult<HashMap<String, StoredFigures>> {
    let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    let open: Vec<(String, String, DateTime<Utc>)> = chats::Entity::find()
        .select_only()
        .columns([
            chats::Column::QueueId,
            chats::Column::State,
            chats::Column::CreatedAt,
        ])
        .filter(chats::Column::QueueId.is_in(ids.clone()))
        .filter(chats::Column::State.is_in(
            [ChatState::Waiting, ChatState::Offered, ChatState::Active].map(ChatState::as_str),
        ))
        .into_tuple()
        .all(db)
        .await?;
    let answered: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = chats::Entity::find()
        .select_only()
        .columns([
            chats::Column::QueueId,
            chats::Column::CreatedAt,
            chats::Column::AcceptedAt,
        ])
        .filter(chats::Column::QueueId.is_in(ids.clone()))
        .filter(chats::Column::AcceptedAt.gte(today))
        .into_tuple()
        .all(db)
        .await?;
    let csat = super::ratings::csat_since(db, &ids, today).await?;
    let unanswered: Vec<String> = chats::Entity::find()
        .select_only()
        .column(chats::Column::QueueId)
        .filter(chats::Column::QueueId.is_in(ids))
        .filter(chats::Column::State.eq(ChatState::Unanswered.as_str()))
        .filter(chats::Column::EndedAt.gte(today))
        .into_tuple()
        .all(db)
        .await?;

    let mut out: HashMap<String, StoredFigures> = queues
        .iter()
        .map(|q| (q.id.clone(), StoredFigures::default()))
        .collect();
    for (queue_id, state, created_at) in open {
        let Some(f) = out.get_mut(&queue_id) else {
            continue;
        };
        if state == ChatState::Active.as_str() {
            f.active_chats += 1;
        } else {
            f.waiting += 1;
            f.longest_wait_secs = f.longest_wait_secs.max((now - created_at).num_seconds());
        }
    }
    let sla: HashMap<&str, i64> = queues
        .iter()
        .map(|q| (q.id.as_str(), i64::from(q.sla_answer_secs)))
        .collect();
    let mut within: HashMap<String, u64> = HashMap::new();
    for (queue_id, created_at, accepted_at) in answered {
        let Some(f) = out.get_mut(&queue_id) else {
            continue;
        };
        f.answered_today += 1;
        let waited = accepted_at.map_or(i64::MAX, |a| (a - created_at).num_seconds());
        if waited <= sla.get(queue_id.as_str()).copied().unwrap_or(0) {
            *within.entry(queue_id).or_default() += 1;
        }
    }
    for queue_id in unanswered {
        if let Some(f) = out.get_mut(&queue_id) {
            f.unanswered_today += 1;
        }
    }
    for (queue_id, f) in &mut out {
        f.csat_today = csat.get(queue_id).copied();
        if f.answered_today > 0 {
            let ok = within.get(queue_id).copied().unwrap_or(0);
            f.service_level = Some(ok as f64 / f.answered_today as f64);
        }
    }
    Ok(out)
}
