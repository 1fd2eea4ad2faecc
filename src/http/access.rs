//! Who may see or change which queue, chat and call over HTTP. What a caller may not see answers
//! `not_found`, exactly like what does not exist (contract §2).

use entities::chats;

use crate::domain::{MemberRole, Role};
use crate::error::AppResult;
use crate::http::caller::Caller;
use crate::state::AppState;
use crate::store;

/// The queues a staff caller belongs to (`None` for admins: every queue).
pub async fn staff_queues(state: &AppState, caller: &Caller) -> AppResult<Option<Vec<String>>> {
    if caller.is_admin() {
        return Ok(None);
    }
    let memberships = store::analysts::memberships(&state.db, caller.id()).await?;
    Ok(Some(memberships.into_iter().map(|m| m.queue_id).collect()))
}

/// Admins, and managers of the queue.
pub async fn may_manage_queue(
    state: &AppState,
    caller: &Caller,
    queue_id: &str,
) -> AppResult<bool> {
    Ok(match caller.role() {
        Role::Admin => true,
        Role::Analyst | Role::Manager => {
            store::analysts::membership(&state.db, queue_id, caller.id()).await?
                == Some(MemberRole::Manager)
        }
        Role::User | Role::Service => false,
    })
}

/// The chat's user, analysts of its queue, the analyst who had it, and admins.
pub async fn may_see_chat(
    state: &AppState,
    caller: &Caller,
    chat: &chats::Model,
) -> AppResult<bool> {
    Ok(match caller.role() {
        // `service` reaches only the calls, webhooks and attachment routes, where it reads what
        // an admin reads.
        Role::Admin | Role::Service => true,
        Role::User => chat.user_id == caller.id(),
        Role::Analyst | Role::Manager => {
            chat.analyst_id.as_deref() == Some(caller.id())
                || store::analysts::membership(&state.db, &chat.queue_id, caller.id())
                    .await?
                    .is_some()
        }
    })
}
