//! Chats: creation, the lifecycle transitions (waiting → active → ended, or back to waiting),
//! the open chats the engine reloads on start, and the keyset-paged listings.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};

use entities::{calls, chats};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::domain::{ChatState, EndReason};
use crate::error::{AppError, AppResult};

/// The states of a chat that is not over yet.
const OPEN_STATES: [ChatState; 3] = [ChatState::Waiting, ChatState::Offered, ChatState::Active];

/// A chat about to be stored; it starts `waiting` with no messages.
#[derive(Debug, Clone)]
pub struct NewChat {
    pub id: String,
    pub queue_id: String,
    pub user_id: String,
    pub call_id: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, chat: NewChat) -> AppResult<chats::Model> {
    Ok(new_chat(chat, "[]".into()).insert(db).await?)
}

/// The row of a new, waiting chat asking `skills` (JSON).
fn new_chat(chat: NewChat, skills: String) -> chats::ActiveModel {
    chats::ActiveModel {
        id: Set(chat.id),
        queue_id: Set(chat.queue_id),
        user_id: Set(chat.user_id),
        analyst_id: Set(None),
        call_id: Set(chat.call_id),
        subject: Set(chat.subject),
        state: Set(ChatState::Waiting.as_str().to_string()),
        created_at: Set(chat.created_at),
        accepted_at: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
        last_seq: Set(0),
        skills: Set(skills),
        queued_at: Set(Some(chat.created_at)),
        wrap_up: Set(None),
    }
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> AppResult<Option<chats::Model>> {
    Ok(chats::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Applies `changes` to one chat; `not_found` when there is no such chat.
async fn update_one(
    db: &impl ConnectionTrait,
    id: &str,
    changes: chats::ActiveModel,
) -> AppResult<()> {
    let result = chats::Entity::update_many()
        .set(changes)
        .filter(chats::Column::Id.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::not_found(format!("chat {id}")));
    }
    Ok(())
}

/// Analysts accepted these chats, `(chat, analyst, accepted at)`: one statement per 500 (the
/// store writer's batches of assignments); `not_found` if one of them does not exist.
pub async fn mark_all_active(
    db: &impl ConnectionTrait,
    chats: &[(&str, &str, DateTime<Utc>)],
) -> AppResult<()> {
    for chunk in chats.chunks(500) {
        let mut analyst = CaseStatement::new();
        let mut accepted = CaseStatement::new();
        for &(id, analyst_id, at) in chunk {
            analyst = analyst.case(chats::Column::Id.eq(id), Expr::val(analyst_id));
            accepted = accepted.case(chats::Column::Id.eq(id), Expr::val(at));
        }
        let result = chats::Entity::update_many()
            .col_expr(chats::Column::State, Expr::val(ChatState::Active.as_str()))
            .col_expr(chats::Column::AnalystId, analyst.into())
            .col_expr(chats::Column::AcceptedAt, accepted.into())
            .filter(chats::Column::Id.is_in(chunk.iter().map(|c| c.0)))
            .exec(db)
            .await?;
        if result.rows_affected < chunk.len() as u64 {
            return Err(AppError::not_found("a chat given to an analyst"));
        }
    }
    Ok(())
}

/// The chat goes back to waiting (in `queue_id`, maybe a transfer) without an analyst;
/// `accepted_at` keeps the first acceptance.
pub async fn mark_waiting(db: &impl ConnectionTrait, id: &str, queue_id: &str) -> AppResult<()> {
    mark_requeued(db, id, queue_id, Utc::now(), None).await
}

/// Back to waiting in `queue_id`, entered at `queued_at`, asking `skills` (JSON) when given.
pub async fn mark_requeued(
    db: &impl ConnectionTrait,
    id: &str,
    queue_id: &str,
    queued_at: DateTime<Utc>,
    skills: Option<&str>,
) -> AppResult<()> {
    let changes = chats::ActiveModel {
        state: Set(ChatState::Waiting.as_str().to_string()),
        queue_id: Set(queue_id.to_string()),
        analyst_id: Set(None),
        queued_at: Set(Some(queued_at)),
        skills: skills.map_or(sea_orm::ActiveValue::NotSet, |s| Set(s.to_string())),
        ..Default::default()
    };
    update_one(db, id, changes).await
}

/// The chat ended (`closed` or `unanswered`) with `last_seq` messages.
pub async fn mark_ended(
    db: &impl ConnectionTrait,
    id: &str,
    state: ChatState,
    reason: EndReason,
    ended_at: DateTime<Utc>,
    last_seq: i64,
) -> AppResult<()> {
    let changes = chats::ActiveModel {
        state: Set(state.as_str().to_string()),
        end_reason: Set(Some(reason.as_str().to_string())),
        ended_at: Set(Some(ended_at)),
        last_seq: Set(last_seq),
        ..Default::default()
    };
    update_one(db, id, changes).await
}

/// Every chat that is not over (waiting, offered or active), oldest first.
pub async fn open(db: &impl ConnectionTrait) -> AppResult<Vec<chats::Model>> {
    Ok(chats::Entity::find()
        .filter(chats::Column::State.is_in(OPEN_STATES.map(ChatState::as_str)))
        .order_by_asc(chats::Column::CreatedAt)
        .order_by_asc(chats::Column::Id)
        .all(db)
        .await?)
}

/// A user's chats that are not over, oldest first.
pub async fn open_for_user(
    db: &impl ConnectionTrait,
    user_id: &str,
) -> AppResult<Vec<chats::Model>> {
    Ok(chats::Entity::find()
        .filter(chats::Column::UserId.eq(user_id))
        .filter(chats::Column::State.is_in(OPEN_STATES.map(ChatState::as_str)))
        .order_by_asc(chats::Column::CreatedAt)
        .order_by_asc(chats::Column::Id)
        .all(db)
        .await?)
}

/// Which chats a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    /// Waiting or offered, in queue order (oldest first).
    Waiting,
    /// Ended without an analyst, newest first.
    Unanswered,
    /// Active or closed, newest first.
    Answered,
}

impl ListFilter {
    fn states(self) -> &'static [ChatState] {
        match self {
            ListFilter::Waiting => &[ChatState::Waiting, ChatState::Offered],
            ListFilter::Unanswered => &[ChatState::Unanswered],
            ListFilter::Answered => &[ChatState::Active, ChatState::Closed],
        }
    }

    fn ascending(self) -> bool {
        self == ListFilter::Waiting
    }
}

/// One page of a chat listing.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: ListFilter,
    /// Only chats in these queues (`None`: any queue).
    pub queue_ids: Option<Vec<String>>,
    /// Only this user's chats.
    pub user_id: Option<String>,
    /// Page size (at least 1 is used).
    pub limit: u64,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The opaque cursor pointing just after `chat`.
fn encode_cursor(chat: &chats::Model) -> String {
    let at = chat.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    URL_SAFE_NO_PAD.encode(format!("{at}|{}", chat.id))
}

fn decode_cursor(cursor: &str) -> AppResult<(DateTime<Utc>, String)> {
    let invalid = || AppError::bad_request("cursor is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    if id.is_empty() {
        return Err(invalid());
    }
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| invalid())?;
    Ok((at.with_timezone(&Utc), id.to_string()))
}

/// One page of chats and the cursor of the next page (`None` on the last page).
///
/// Keyset paging over `(created_at, id)`: ascending for `Waiting`, descending otherwise. The
/// cursor is compared as a timestamp value, so SQLite (text) and PostgreSQL agree.
pub async fn list(
    db: &impl ConnectionTrait,
    query: &ListQuery,
) -> AppResult<(Vec<chats::Model>, Option<String>)> {
    let limit = query.limit.max(1);
    let asc = query.filter.ascending();
    let states: Vec<&str> = query.filter.states().iter().map(|s| s.as_str()).collect();
    let mut select = chats::Entity::find().filter(chats::Column::State.is_in(states));
    if let Some(queue_ids) = &query.queue_ids {
        select = select.filter(chats::Column::QueueId.is_in(queue_ids.iter().cloned()));
    }
    if let Some(user_id) = &query.user_id {
        select = select.filter(chats::Column::UserId.eq(user_id.as_str()));
    }
    if let Some(cursor) = &query.cursor {
        let (at, id) = decode_cursor(cursor)?;
        let after = if asc {
            Condition::any().add(chats::Column::CreatedAt.gt(at)).add(
                Condition::all()
                    .add(chats::Column::CreatedAt.eq(at))
                    .add(chats::Column::Id.gt(id)),
            )
        } else {
            Condition::any().add(chats::Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(chats::Column::CreatedAt.eq(at))
                    .add(chats::Column::Id.lt(id)),
            )
        };
        select = select.filter(after);
    }
    select = if asc {
        select
            .order_by_asc(chats::Column::CreatedAt)
            .order_by_asc(chats::Column::Id)
    } else {
        select
            .order_by_desc(chats::Column::CreatedAt)
            .order_by_desc(chats::Column::Id)
    };
    let mut rows = select.limit(limit.saturating_add(1)).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    Ok((rows, next))
}

/// A chat to create for `start_chat`: the user (created, or renamed), the call (the user's own
/// `call_id` if given and theirs; with `call_ref`, the user's call with that `external_ref`, made
/// when there is none; else a new call), and the waiting chat.
#[derive(Debug)]
pub struct ChatToStart {
    pub chat_id: String,
    pub queue_id: String,
    pub user_id: String,
    pub user_name: String,
    pub subject: String,
    pub call_id: Option<String>,
    /// The host's ticket id to file the chat under (never together with `call_id`).
    pub call_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Skills asked for, as JSON (`[{"name","level"}]`).
    pub skills: String,
}

/// Stores a batch of `start_chat`s in one transaction (all or, on error, none) with multi-row
/// statements; returns each chat's call id, in order, or why that one start was refused (a
/// `call_ref` that is another user's call: `not_found`, and nothing stored for it). One commit
/// for a whole burst of starts. At most 500 starts (the chat rows' bind parameters stay under
/// SQLite's limit).
pub async fn start_all(
    db: &DatabaseConnection,
    starts: &[ChatToStart],
) -> AppResult<Vec<super::calls::CallOutcome>> {
    start_all_reported(db, starts, |_| Vec::new()).await
}

/// The call a stored start was put on, and whether it was opened for it (with its ref).
#[derive(Debug, Clone)]
pub struct StartedCall {
    pub call_id: String,
    pub created: bool,
    pub external_ref: Option<String>,
}

/// `start_all`, with the webhook events `report` makes of the stored starts written to the
/// outbox in the same transaction; `report` gets one entry per start, in order (`None` for a
/// start that was refused).
pub async fn start_all_reported(
    db: &impl TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
    starts: &[ChatToStart],
    report: impl FnOnce(&[Option<StartedCall>]) -> Vec<super::webhooks::OutboxEvent>,
) -> AppResult<Vec<super::calls::CallOutcome>> {
    if starts.is_empty() {
        return Ok(Vec::new());
    }
    let txn = db.begin().await?;
    let by_ref = ref_calls(&txn, starts).await?;
    // One row per user (PostgreSQL refuses to upsert a row twice in one statement).
    let users: HashMap<&str, &str> = starts
        .iter()
        .filter(|s| by_ref.get(s.chat_id.as_str()) != Some(&RefCall::Refused))
        .map(|s| (s.user_id.as_str(), s.user_name.as_str()))
        .collect();
    let users: Vec<(&str, &str)> = users.into_iter().collect();
    super::users::upsert_all(&txn, &users).await?;
    let given: Vec<String> = starts.iter().filter_map(|s| s.call_id.clone()).collect();
    let existing: Vec<(String, String)> = if given.is_empty() {
        Vec::new()
    } else {
        calls::Entity::find()
            .select_only()
            .columns([calls::Column::Id, calls::Column::UserId])
            .filter(calls::Column::Id.is_in(given))
            .into_tuple()
            .all(&txn)
            .await?
    };
    let mut new_calls = Vec::new();
    // Calls made in this batch for a ref, so two starts naming one new ref share it.
    let mut made_for_ref: HashMap<&str, (&str, String)> = HashMap::new();
    let mut outcomes = Vec::with_capacity(starts.len());
    for s in starts {
        // The user's own call, if they named one; else a new call.
        let own = s.call_id.as_ref().filter(|id| {
            existing
                .iter()
                .any(|(call, user)| call == *id && *user == s.user_id)
        });
        let call_ref = s.call_ref.as_deref();
        let outcome = match (own, by_ref.get(s.chat_id.as_str()), call_ref) {
            (_, Some(RefCall::Existing(id)), _) => Ok(id.clone()),
            (_, Some(RefCall::Refused), Some(r)) => Err(ref_hidden(r)),
            (_, _, Some(r)) => match made_for_ref.get(r) {
                Some((user, id)) if *user == s.user_id => Ok(id.clone()),
                Some(_) => Err(ref_hidden(r)),
                None => {
                    let (id, mut call) = new_call_for(s);
                    call.external_ref = sea_orm::Set(Some(r.to_string()));
                    new_calls.push(call);
                    made_for_ref.insert(r, (s.user_id.as_str(), id.clone()));
                    Ok(id)
                }
            },
            (Some(id), _, None) => Ok(id.clone()),
            (None, _, None) => {
                let (id, call) = new_call_for(s);
                new_calls.push(call);
                Ok(id)
            }
        };
        outcomes.push(outcome);
    }
    let opened: HashMap<String, Option<String>> = new_calls
        .iter()
        .filter_map(|c| match (&c.id, &c.external_ref) {
            (sea_orm::ActiveValue::Set(id), sea_orm::ActiveValue::Set(r)) => {
                Some((id.clone(), r.clone()))
            }
            (sea_orm::ActiveValue::Set(id), _) => Some((id.clone(), None)),
            _ => None,
        })
        .collect();
    if !new_calls.is_empty() {
        calls::Entity::insert_many(new_calls)
            .exec_without_returning(&txn)
            .await?;
    }
    let chats: Vec<_> = starts
        .iter()
        .zip(&outcomes)
        .filter_map(|(s, outcome)| {
            let call_id = outcome.as_ref().ok()?;
            Some(new_chat(
                NewChat {
                    id: s.chat_id.clone(),
                    queue_id: s.queue_id.clone(),
                    user_id: s.user_id.clone(),
                    call_id: call_id.clone(),
                    subject: s.subject.clone(),
                    created_at: s.created_at,
                },
                s.skills.clone(),
            ))
        })
        .collect();
    if !chats.is_empty() {
        chats::Entity::insert_many(chats)
            .exec_without_returning(&txn)
            .await?;
    }
    let started: Vec<Option<StartedCall>> = outcomes
        .iter()
        .map(|outcome| {
            let call_id = outcome.as_ref().ok()?;
            Some(StartedCall {
                call_id: call_id.clone(),
                created: opened.contains_key(call_id),
                external_ref: opened.get(call_id).cloned().flatten(),
            })
        })
        .collect();
    super::webhooks::insert_outbox(&txn, &report(&started)).await?;
    txn.commit().await?;
    Ok(outcomes)
}

/// What a start's `call_ref` found among the stored calls.
#[derive(Debug, PartialEq, Eq)]
enum RefCall {
    /// The user's own call with that ref.
    Existing(String),
    /// Another user's call holds the ref.
    Refused,
}

/// The stored calls the batch's `call_ref`s name, keyed by the start's chat id.
async fn ref_calls<'a>(
    txn: &impl sea_orm::ConnectionTrait,
    starts: &'a [ChatToStart],
) -> AppResult<HashMap<&'a str, RefCall>> {
    let refs: Vec<&str> = starts
        .iter()
        .filter_map(|s| s.call_ref.as_deref())
        .collect();
    if refs.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(String, String, Option<String>)> = calls::Entity::find()
        .select_only()
        .columns([
            calls::Column::Id,
            calls::Column::UserId,
            calls::Column::ExternalRef,
        ])
        .filter(calls::Column::ExternalRef.is_in(refs))
        .into_tuple()
        .all(txn)
        .await?;
    let mut by_start = HashMap::new();
    for s in starts {
        let Some(r) = s.call_ref.as_deref() else {
            continue;
        };
        if let Some((id, user, _)) = found.iter().find(|(_, _, x)| x.as_deref() == Some(r)) {
            let call = if *user == s.user_id {
                RefCall::Existing(id.clone())
            } else {
                RefCall::Refused
            };
            by_start.insert(s.chat_id.as_str(), call);
        }
    }
    Ok(by_start)
}

/// A ref held by another user's call answers like a call that does not exist.
fn ref_hidden(external_ref: &str) -> crate::error::AppError {
    crate::error::AppError::not_found(format!("call {external_ref}"))
}

/// A new call for a start, summarised by its subject.
fn new_call_for(s: &ChatToStart) -> (String, calls::ActiveModel) {
    let summary = if s.subject.is_empty() {
        "Chat"
    } else {
        &s.subject
    };
    super::calls::new_call(&s.user_id, summary, s.created_at)
}
