//! Stored rows as clients see them: a `chat_messages` row (with its files) as a `Message`, a `chats` row as a
//! `ChatSummary` (with the live part from the router when the chat is still open), a `queues`
//! row with its figures as a `QueueView`.

pub mod rules;

use entities::{chat_messages, chats, queues};

use crate::domain::{ChatId, ChatState, EndReason, ParseError, QueueId, Role};
use crate::protocol::{Actor, AttachmentRef, ChatSummary, Message, MessageTag, Person, QueueView};
use crate::store::attachments::AttachmentMeta;
use crate::store::queues::StoredFigures;
use crate::timefmt::{rfc3339, rfc3339_opt};

/// The live part of an open chat's summary, as the router knows it (`LiveChats`).
#[derive(Debug, Clone)]
pub struct LiveChat {
    pub state: ChatState,
    pub position: Option<usize>,
    pub analyst: Option<Person>,
    pub last_seq: i64,
    /// The expansion step in force.
    pub skills_relaxed: usize,
}

/// The live part of a queue's view, as the router knows it (`QueuePresence`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueLiveView {
    pub online: u64,
    pub available: u64,
    pub open_now: bool,
    /// RFC 3339.
    pub next_change_at: Option<String>,
    pub estimated_wait_secs: Option<u64>,
}

/// A stored message, with the files sent in it, as the `message` event carries it.
pub fn message(m: chat_messages::Model, files: Vec<AttachmentMeta>) -> Result<Message, ParseError> {
    Ok(Message {
        kind: MessageTag::Message,
        chat_id: ChatId::parse(&m.chat_id)?,
        seq: m.seq,
        from: Actor {
            role: m.sender_role.parse::<Role>()?,
            id: m.sender_id,
            name: m.sender_name,
        },
        body: m.body,
        at: rfc3339(m.created_at),
        client_msg_id: m.client_msg_id,
        visibility: m.visibility.parse()?,
        attachments: files.into_iter().map(attachment_ref).collect(),
    })
}

/// A stored file as a message lists it.
pub fn attachment_ref(f: AttachmentMeta) -> AttachmentRef {
    AttachmentRef {
        url: AttachmentRef::url_of(&f.id),
        id: f.id,
        name: f.name,
        content_type: f.content_type,
        size: f.size,
    }
}

/// A stored chat as a summary; `live` (from the router) overrides state, position, analyst and
/// last seq while the chat is open.
pub fn chat_summary(
    c: chats::Model,
    user: Person,
    analyst: Option<Person>,
    last_seq: i64,
    live: Option<LiveChat>,
) -> Result<ChatSummary, ParseError> {
    let stored_state: ChatState = c.state.parse()?;
    let end_reason = c
        .end_reason
        .as_deref()
        .map(str::parse::<EndReason>)
        .transpose()?;
    let (state, position, analyst, last_seq, skills_relaxed) = match live {
        Some(l) => (l.state, l.position, l.analyst, l.last_seq, l.skills_relaxed),
        None => (stored_state, None, analyst, last_seq, 0),
    };
    let skills = rules::chat_skills(&c.skills);
    Ok(ChatSummary {
        chat_id: ChatId::parse(&c.id)?,
        queue_id: QueueId::from(c.queue_id),
        state,
        user,
        analyst,
        subject: c.subject,
        call_id: c.call_id,
        created_at: rfc3339(c.created_at),
        accepted_at: rfc3339_opt(c.accepted_at),
        ended_at: rfc3339_opt(c.ended_at),
        end_reason,
        position,
        last_seq,
        skills,
        skills_relaxed,
        wrap_up: crate::protocol::WrapUpState::parse(c.wrap_up.as_deref()),
    })
}

/// A queue with its stored figures and its live part (analysts online and available, hours,
/// estimate; a queue the router does not know yet shows open, with no estimate).
pub fn queue_view(q: queues::Model, f: StoredFigures, live: Option<QueueLiveView>) -> QueueView {
    let live = live.unwrap_or(QueueLiveView {
        open_now: true,
        ..QueueLiveView::default()
    });
    QueueView {
        skills: rules::queue_skills(&q),
        expansion: rules::expansion(&q),
        overflow: rules::overflow(&q),
        schedule: rules::schedule(&q),
        wrap_up: rules::wrap_up(&q),
        max_waiting: q.max_waiting,
        open_now: live.open_now,
        next_change_at: live.next_change_at,
        estimated_wait_secs: live.estimated_wait_secs,
        id: QueueId::from(q.id),
        name: q.name,
        description: q.description,
        enabled: q.enabled,
        routing: q.routing,
        priority: q.priority,
        sla_answer_secs: q.sla_answer_secs,
        max_wait_secs: q.max_wait_secs,
        offer_timeout_secs: q.offer_timeout_secs,
        waiting: f.waiting,
        longest_wait_secs: f.longest_wait_secs,
        analysts_online: live.online,
        analysts_available: live.available,
        active_chats: f.active_chats,
        answered_today: f.answered_today,
        unanswered_today: f.unanswered_today,
        service_level: f.service_level,
        csat_today: f.csat_today,
    }
}
