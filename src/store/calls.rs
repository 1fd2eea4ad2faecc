//! Calls (service-desk tickets) that chats belong to: creation with an opaque readable id, the
//! first-contact stamp, the history entries written onto a call, and the host's ticket on it
//! (`external_ref`, unique across calls, and `external_url`; contract §10.2): look-up by ref, and
//! the creation and edit of `POST`/`PATCH /api/v1/calls`, run in the store writer's transaction.

use chrono::{DateTime, Utc};
use entities::{call_history, calls};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::error::{AppError, AppResult};

/// A fresh call id: `CALL-` and a whole UUID v7 in upper-case hex (time-ordered, never reused).
fn new_call_id() -> String {
    format!(
        "CALL-{}",
        uuid::Uuid::now_v7()
            .simple()
            .to_string()
            .to_ascii_uppercase()
    )
}

/// Opens a new call for a user's chat (source `Chat`, status `open`, no first contact yet).
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: &str,
    summary: &str,
    at: DateTime<Utc>,
) -> AppResult<calls::Model> {
    Ok(new_call(user_id, summary, at).1.insert(db).await?)
}

/// A fresh call id and the row of the new call.
pub fn new_call(user_id: &str, summary: &str, at: DateTime<Utc>) -> (String, calls::ActiveModel) {
    let id = new_call_id();
    let model = calls::ActiveModel {
        id: Set(id.clone()),
        user_id: Set(user_id.to_string()),
        summary: Set(summary.to_string()),
        source: Set("Chat".to_string()),
        status: Set("open".to_string()),
        created_at: Set(at),
        first_contact_at: Set(None),
        external_ref: Set(None),
        external_url: Set(None),
    };
    (id, model)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<calls::Model>> {
    Ok(calls::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Stamps each call's first contact, `(call, at)`, unless it already has one: one conditional
/// UPDATE per 500; the first stamp given for a call wins.
pub async fn record_first_contacts(
    db: &impl ConnectionTrait,
    stamps: &[(&str, DateTime<Utc>)],
) -> AppResult<()> {
    for chunk in stamps.chunks(500) {
        let mut first = CaseStatement::new();
        for &(id, at) in chunk {
            first = first.case(calls::Column::Id.eq(id), Expr::val(at));
        }
        calls::Entity::update_many()
            .col_expr(calls::Column::FirstContactAt, first.into())
            .filter(calls::Column::Id.is_in(chunk.iter().map(|c| c.0)))
            .filter(calls::Column::FirstContactAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The history entries written onto a call, oldest first.
pub async fn history(
    db: &impl ConnectionTrait,
    call_id: &str,
) -> AppResult<Vec<call_history::Model>> {
    Ok(call_history::Entity::find()
        .filter(call_history::Column::CallId.eq(call_id))
        .order_by_asc(call_history::Column::StartedAt)
        .order_by_asc(call_history::Column::Id)
        .all(db)
        .await?)
}

/// The call whose `external_ref` is `external_ref`, if any.
pub async fn find_by_ref(
    db: &impl ConnectionTrait,
    external_ref: &str,
) -> AppResult<Option<calls::Model>> {
    Ok(calls::Entity::find()
        .filter(calls::Column::ExternalRef.eq(external_ref))
        .one(db)
        .await?)
}

/// A call the host opens (`POST /api/v1/calls`), its fields already checked.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub user_id: String,
    pub summary: String,
    pub external_ref: Option<String>,
    pub external_url: Option<String>,
    pub at: DateTime<Utc>,
}

/// An edit of a call (`PATCH /api/v1/calls/{id}`): each `Some` replaces the field; an inner
/// `None` clears the ref or URL.
#[derive(Debug, Clone, Default)]
pub struct CallPatch {
    pub summary: Option<String>,
    pub external_ref: Option<Option<String>>,
    pub external_url: Option<Option<String>>,
}

/// What a call write answers: the call's id, or why nothing was written (`conflict`: the ref is
/// another call's; `not_found`: no such call). A database error is the outer `Err`.
pub type CallOutcome = Result<String, AppError>;

fn ref_taken(external_ref: &str) -> AppError {
    AppError::conflict(format!(
        "external_ref {external_ref} is already another call's"
    ))
}

/// Opens the call, recording its user (named by their id) when new. Nothing is written when the
/// ref is taken.
pub async fn create_external(
    db: &impl ConnectionTrait,
    call: &NewCall,
) -> Result<CallOutcome, sea_orm::DbErr> {
    if let Some(external_ref) = &call.external_ref
        && ref_owner(db, external_ref).await?.is_some()
    {
        return Ok(Err(ref_taken(external_ref)));
    }
    super::users::insert_missing(db, &call.user_id).await?;
    let (id, mut model) = new_call(&call.user_id, &call.summary, call.at);
    model.external_ref = Set(call.external_ref.clone());
    model.external_url = Set(call.external_url.clone());
    calls::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(Ok(id))
}

/// Applies an edit. Nothing is written when the call is missing or the new ref is another call's.
pub async fn update_external(
    db: &impl ConnectionTrait,
    id: &str,
    patch: &CallPatch,
) -> Result<CallOutcome, sea_orm::DbErr> {
    let Some(existing) = calls::Entity::find_by_id(id.to_string()).one(db).await? else {
        return Ok(Err(AppError::not_found(format!("call {id}"))));
    };
    if let Some(Some(external_ref)) = &patch.external_ref
        && ref_owner(db, external_ref)
            .await?
            .is_some_and(|owner| owner != existing.id)
    {
        return Ok(Err(ref_taken(external_ref)));
    }
    let mut model: calls::ActiveModel = existing.into();
    if let Some(summary) = &patch.summary {
        model.summary = Set(summary.clone());
    }
    if let Some(external_ref) = &patch.external_ref {
        model.external_ref = Set(external_ref.clone());
    }
    if let Some(external_url) = &patch.external_url {
        model.external_url = Set(external_url.clone());
    }
    model.update(db).await?;
    Ok(Ok(id.to_string()))
}

/// The id of the call holding `external_ref`.
async fn ref_owner(
    db: &impl ConnectionTrait,
    external_ref: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    calls::Entity::find()
        .select_only()
        .column(calls::Column::Id)
        .filter(calls::Column::ExternalRef.eq(external_ref))
        .into_tuple()
        .one(db)
        .await
}
