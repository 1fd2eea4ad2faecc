//! End users: the directory row a chat's user id points at, created on first sight and kept
//! up to date with the display name their token carries.

use chrono::Utc;
use entities::users;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::error::AppResult;

/// Inserts the user, or refreshes their name (and `updated_at`) when they already exist.
pub async fn upsert(db: &impl ConnectionTrait, id: &str, name: &str) -> AppResult<()> {
    upsert_all(db, &[(id, name)]).await
}

/// `upsert` for several users in one statement; each id at most once.
pub async fn upsert_all(db: &impl ConnectionTrait, users: &[(&str, &str)]) -> AppResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let models = users.iter().map(|(id, name)| users::ActiveModel {
        id: Set(id.to_string()),
        name: Set(name.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    });
    users::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(users::Column::Id)
                .update_columns([users::Column::Name, users::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records a user named by their id unless they exist (a call the host opens for someone who
/// has not chatted yet); their first chat gives them their token's name.
pub async fn insert_missing(db: &impl ConnectionTrait, id: &str) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    let model = users::ActiveModel {
        id: Set(id.to_string()),
        name: Set(id.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    users::Entity::insert(model)
        .on_conflict(
            OnConflict::column(users::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Display names of the given users.
pub async fn names(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> AppResult<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = users::Entity::find()
        .select_only()
        .columns([users::Column::Id, users::Column::Name])
        .filter(users::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
