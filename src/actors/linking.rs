//! Who may link a chat to which call (`link_call`, contract §3.5; README "Who may link a chat to a
//! call"), the one check both the open chat's actor and the ended-chat archive apply before they
//! write a link or a history entry. The chat: its analyst while it is active, a manager of its
//! queue (open or ended), an admin. The call: only one of the chat's own user. A caller who may
//! see the chat but not link it gets `forbidden`; one who may not see it gets `not_found` for the
//! chat, and any call that is not the chat user's answers `not_found`, like one that does not exist.

use sea_orm::ConnectionTrait;

use crate::domain::{ChatId, MemberRole, Role};
use crate::error::{AppError, AppResult};
use crate::protocol::Actor as ActorRef;
use crate::store;

/// The facts about a chat the rule looks at.
pub struct LinkTarget<'a> {
    pub chat_id: ChatId,
    pub queue_id: &'a str,
    /// The chat's user: the only owner of calls it may be linked to.
    pub user_id: &'a str,
    /// Its analyst, while the chat is active.
    pub active_analyst: Option<&'a str>,
    /// The analyst who had it (an ended chat's former analyst), who may still see it.
    pub former_analyst: Option<&'a str>,
}

/// `Ok` when `who` may link the chat to `call_id`; nothing is read beyond the caller's membership
/// and the call, and nothing is written.
pub async fn check(
    db: &impl ConnectionTrait,
    who: &ActorRef,
    chat: &LinkTarget<'_>,
    call_id: &str,
) -> AppResult<()> {
    may_link_chat(db, who, chat).await?;
    let call = store::calls::find(db, call_id).await?;
    if call.is_none_or(|c| c.user_id != chat.user_id) {
        return Err(AppError::not_found(format!("call {call_id}")));
    }
    Ok(())
}

/// The chat half of the rule.
async fn may_link_chat(
    db: &impl ConnectionTrait,
    who: &ActorRef,
    chat: &LinkTarget<'_>,
) -> AppResult<()> {
    let refused = || {
        AppError::forbidden(
            "only the chat's analyst or a manager of its queue may link it to a call",
        )
    };
    let hidden = || AppError::not_found(format!("chat {}", chat.chat_id));
    match who.role {
        Role::Admin => Ok(()),
        Role::Service => Err(hidden()),
        Role::User if who.id == chat.user_id => Err(refused()),
        Role::User => Err(hidden()),
        Role::Analyst | Role::Manager => {
            if chat.active_analyst == Some(who.id.as_str()) {
                return Ok(());
            }
            match store::analysts::membership(db, chat.queue_id, &who.id).await? {
                Some(MemberRole::Manager) => Ok(()),
                Some(MemberRole::Analyst) => Err(refused()),
                None if chat.former_analyst == Some(who.id.as_str()) => Err(refused()),
                None => Err(hidden()),
            }
        }
    }
}
