//! Who supervises a live chat (contract §9.3): managers and admins who `monitor` it or `join` it,
//! one `chat_supervisors` row per chat, principal and kind while it lasts. Written by the store
//! writer only; read when a chat actor starts again after a restart and for a manager's `hello`.

use chrono::{DateTime, Utc};
use entities::{chat_supervisors, chats};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, Set,
};

use crate::domain::ChatState;
use crate::error::AppResult;

/// `monitor` (sees the chat and its whispers) or `join` (takes part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SupervisorKind {
    Monitor,
    Join,
}

impl SupervisorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SupervisorKind::Monitor => "monitor",
            SupervisorKind::Join => "join",
        }
    }
}

/// A supervisor of a chat as stored.
#[derive(Debug, Clone)]
pub struct Supervisor {
    pub chat_id: String,
    pub principal_id: String,
    pub kind: SupervisorKind,
    /// `manager` or `admin`.
    pub role: String,
    pub name: String,
    pub since: DateTime<Utc>,
}

/// Records a supervisor; an existing row for the same chat, principal and kind stays.
pub async fn add(db: &impl ConnectionTrait, s: &Supervisor) -> AppResult<()> {
    let model = chat_supervisors::ActiveModel {
        chat_id: Set(s.chat_id.clone()),
        principal_id: Set(s.principal_id.clone()),
        kind: Set(s.kind.as_str().to_string()),
        role: Set(s.role.clone()),
        name: Set(s.name.clone()),
        since: Set(s.since),
    };
    let result = chat_supervisors::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                chat_supervisors::Column::ChatId,
                chat_supervisors::Column::PrincipalId,
                chat_supervisors::Column::Kind,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec(db)
        .await;
    match result {
        Ok(_) | Err(DbErr::RecordNotInserted) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Removes a supervisor (nothing to remove is fine).
pub async fn remove(
    db: &impl ConnectionTrait,
    chat_id: &str,
    principal_id: &str,
    kind: SupervisorKind,
) -> AppResult<()> {
    chat_supervisors::Entity::delete_many()
        .filter(chat_supervisors::Column::ChatId.eq(chat_id))
        .filter(chat_supervisors::Column::PrincipalId.eq(principal_id))
        .filter(chat_supervisors::Column::Kind.eq(kind.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Every supervisor of a chat, oldest first.
pub async fn of_chat(db: &impl ConnectionTrait, chat_id: &str) -> AppResult<Vec<Supervisor>> {
    let rows = chat_supervisors::Entity::find()
        .filter(chat_supervisors::Column::ChatId.eq(chat_id))
        .order_by_asc(chat_supervisors::Column::Since)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Supervisor {
            kind: if r.kind == "join" {
                SupervisorKind::Join
            } else {
                SupervisorKind::Monitor
            },
            chat_id: r.chat_id,
            principal_id: r.principal_id,
            role: r.role,
            name: r.name,
            since: r.since,
        })
        .collect())
}

/// The open chats `principal_id` monitors, oldest first (a manager's `hello`).
pub async fn monitoring(db: &impl ConnectionTrait, principal_id: &str) -> AppResult<Vec<String>> {
    let ended = [ChatState::Closed.as_str(), ChatState::Unanswered.as_str()];
    Ok(chat_supervisors::Entity::find()
        .select_only()
        .column(chat_supervisors::Column::ChatId)
        .join(JoinType::InnerJoin, chat_supervisors::Relation::Chats.def())
        .filter(chat_supervisors::Column::PrincipalId.eq(principal_id))
        .filter(chat_supervisors::Column::Kind.eq(SupervisorKind::Monitor.as_str()))
        .filter(chats::Column::State.is_not_in(ended))
        .order_by_asc(chat_supervisors::Column::Since)
        .into_tuple()
        .all(db)
        .await?)
}
