//! The analyst directory: analysts, their capacity and stored status, and queue membership.

use chrono::Utc;
use entities::{analysts, queue_members};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::domain::{AnalystRole, AnalystStatus, MemberRole};
use crate::error::{AppError, AppResult};

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<analysts::Model>> {
    Ok(analysts::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Creates or replaces an analyst's name, capacity and role (their skills and status is kept); `true` when
/// created. One atomic statement, so concurrent provisioning never deadlocks on SQLite's lock.
pub async fn upsert(
    db: &impl ConnectionTrait,
    id: &str,
    name: String,
    capacity: i32,
    role: AnalystRole,
) -> AppResult<(analysts::Model, bool)> {
    upsert_with_skills(db, id, name, capacity, role, None).await
}

/// Like `upsert`, also replacing the analyst's skills (JSON, checked by the caller) when given,
/// in the same one statement.
pub async fn upsert_with_skills(
    db: &impl ConnectionTrait,
    id: &str,
    name: String,
    capacity: i32,
    role: AnalystRole,
    skills: Option<String>,
) -> AppResult<(analysts::Model, bool)> {
    let replace_skills = skills.is_some();
    let created = find(db, id).await?.is_none();
    let now = Utc::now();
    let model = analysts::ActiveModel {
        id: Set(id.to_string()),
        name: Set(name),
        capacity: Set(capacity),
        role: Set(role.as_str().to_string()),
        status: Set(AnalystStatus::Offline.as_str().to_string()),
        skills: Set(skills.unwrap_or_else(|| "{}".into())),
        pending_status: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    use analysts::Column as C;
    analysts::Entity::insert(model)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns(
                    [C::Name, C::Capacity, C::Role, C::UpdatedAt]
                        .into_iter()
                        .chain(replace_skills.then_some(C::Skills)),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let saved = find(db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("analyst {id}")))?;
    Ok((saved, created))
}

/// An analyst's memberships, by queue id.
pub async fn memberships(
    db: &impl ConnectionTrait,
    analyst_id: &str,
) -> AppResult<Vec<queue_members::Model>> {
    Ok(queue_members::Entity::find()
        .filter(queue_members::Column::AnalystId.eq(analyst_id))
        .order_by_asc(queue_members::Column::QueueId)
        .all(db)
        .await?)
}

/// The analyst's role in a queue, if they are a member.
pub async fn membership(
    db: &impl ConnectionTrait,
    queue_id: &str,
    analyst_id: &str,
) -> AppResult<Option<MemberRole>> {
    let found = queue_members::Entity::find_by_id((queue_id.to_string(), analyst_id.to_string()))
        .one(db)
        .await?;
    Ok(found.and_then(|m| m.role.parse().ok()))
}

/// Adds an analyst to a queue or changes their role there; `true` when the membership is new.
pub async fn upsert_member(
    db: &impl ConnectionTrait,
    queue_id: &str,
    analyst_id: &str,
    role: MemberRole,
) -> AppResult<(queue_members::Model, bool)> {
    let key = (queue_id.to_string(), analyst_id.to_string());
    let created = queue_members::Entity::find_by_id(key.clone())
        .one(db)
        .await?
        .is_none();
    let model = queue_members::ActiveModel {
        queue_id: Set(queue_id.to_string()),
        analyst_id: Set(analyst_id.to_string()),
        role: Set(role.as_str().to_string()),
        created_at: Set(Utc::now()),
    };
    use queue_members::Column as C;
    queue_members::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([C::QueueId, C::AnalystId])
                .update_column(C::Role)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let saved = queue_members::Entity::find_by_id(key)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("membership of {analyst_id} in {queue_id}")))?;
    Ok((saved, created))
}

/// Removes a membership; `false` when there was none.
pub async fn delete_member(
    db: &impl ConnectionTrait,
    queue_id: &str,
    analyst_id: &str,
) -> AppResult<bool> {
    let result =
        queue_members::Entity::delete_by_id((queue_id.to_string(), analyst_id.to_string()))
            .exec(db)
            .await?;
    Ok(result.rows_affected > 0)
}

/// Every analyst, by id.
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<analysts::Model>> {
    Ok(analysts::Entity::find()
        .order_by_asc(analysts::Column::Id)
        .all(db)
        .await?)
}

/// Every membership of every queue.
pub async fn all_members(db: &impl ConnectionTrait) -> AppResult<Vec<queue_members::Model>> {
    Ok(queue_members::Entity::find().all(db).await?)
}

/// Stores an analyst's status (it survives a restart for the reconnect grace period).
/// Sets (or clears) the status an analyst asked for once their chats are over (§9.2).
pub async fn set_pending_status(
    db: &impl ConnectionTrait,
    id: &str,
    pending: Option<AnalystStatus>,
) -> AppResult<()> {
    analysts::Entity::update_many()
        .col_expr(
            analysts::Column::PendingStatus,
            sea_orm::sea_query::Expr::value(pending.map(|s| s.as_str().to_string())),
        )
        .filter(analysts::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_status(
    db: &impl ConnectionTrait,
    id: &str,
    status: AnalystStatus,
) -> AppResult<()> {
    analysts::Entity::update_many()
        .col_expr(
            analysts::Column::Status,
            sea_orm::sea_query::Expr::value(status.as_str()),
        )
        .col_expr(
            analysts::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(analysts::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
