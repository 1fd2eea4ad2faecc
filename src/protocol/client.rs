//! What clients send (contract §3.3–§3.5): `ClientFrame`, parsed once at the edge by `decode`.
//! The command names are written once, in the `client_frames!` table below, which yields the
//! enum, `kind()`, `COMMANDS` and the decoder's dispatch.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{AnalystId, AnalystStatus, ChatId, QueueId};
use crate::error::AppError;

/// Longest `ref` a client may attach to a command.
pub const MAX_REF_CHARS: usize = 64;

/// Declares `ClientFrame`, `COMMANDS`, `ClientFrame::kind` and the decoder's dispatch from one
/// table of `Variant(fields) = "type"` rows (a unit variant takes no fields).
macro_rules! client_frames {
    ($($(#[$meta:meta])* $variant:ident $(($cmd:ty))? = $name:literal,)+) => {
        /// A client command.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ClientFrame {
            $($(#[$meta])* $variant $(($cmd))?,)+
        }

        /// Every command `type`.
        pub const COMMANDS: &[&str] = &[$($name),+];

        impl ClientFrame {
            /// The command's `type`, for logs and metrics.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(client_frames!(@pattern $variant $(($cmd))?) => $name,)+
                }
            }
        }

        /// Decodes the fields of a command of type `kind`; `None` for an unknown type.
        fn dispatch(kind: &str, object: Map<String, Value>) -> Option<Result<ClientFrame, AppError>> {
            match kind {
                $($name => Some(client_frames!(@decode object $variant $(($cmd))?)),)+
                _ => None,
            }
        }
    };
    (@pattern $variant:ident ($cmd:ty)) => { ClientFrame::$variant(_) };
    (@pattern $variant:ident) => { ClientFrame::$variant };
    (@decode $object:ident $variant:ident ($cmd:ty)) => { fields::<$cmd>($object).map(ClientFrame::$variant) };
    (@decode $object:ident $variant:ident) => {{
        drop($object);
        Ok(ClientFrame::$variant)
    }};
}

client_frames! {
    /// `ping`: answered with `pong`.
    Ping = "ping",
    /// `send {chat_id, body, client_msg_id, attachments?}`.
    Send(SendCmd) = "send",
    /// `typing {chat_id}`.
    Typing(ChatRef) = "typing",
    /// `close_chat {chat_id}`.
    CloseChat(ChatRef) = "close_chat",
    /// `resume {chat_id, after_seq}`.
    Resume(ResumeCmd) = "resume",
    /// `start_chat {queue_id, subject?, call_id?, call_ref?}` (users).
    StartChat(StartChatCmd) = "start_chat",
    /// `set_status {status, when?}` (staff).
    SetStatus(SetStatusCmd) = "set_status",
    /// `accept {chat_id}` (staff).
    Accept(ChatRef) = "accept",
    /// `decline {chat_id}` (staff).
    Decline(ChatRef) = "decline",
    /// `link_call {chat_id, call_id}` (staff).
    LinkCall(LinkCallCmd) = "link_call",
    /// `transfer {chat_id, queue_id}` or `transfer {chat_id, analyst_id}` (staff).
    Transfer(TransferCmd) = "transfer",
    /// `monitor {chat_id}` (managers of the chat's queue, admins).
    Monitor(ChatRef) = "monitor",
    /// `unmonitor {chat_id}`.
    Unmonitor(ChatRef) = "unmonitor",
    /// `whisper {chat_id, body, client_msg_id}`: a message the user never sees.
    Whisper(SendCmd) = "whisper",
    /// `join {chat_id}` (managers of the chat's queue, admins).
    Join(ChatRef) = "join",
    /// `leave {chat_id}`.
    Leave(ChatRef) = "leave",
    /// `rate {chat_id, score, comment?}` (users, once an answered chat has ended).
    Rate(RateCmd) = "rate",
    /// `wrap_up {chat_id, code, note?}` (staff, after an answered chat ended in wrap-up).
    WrapUp(WrapUpCmd) = "wrap_up",
}

/// `wrap_up`: the after-chat work of an ended chat (contract §9.1).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WrapUpCmd {
    /// The ended chat.
    pub chat_id: ChatId,
    /// One of the codes of its `wrap_up_started`.
    pub code: String,
    /// What the analyst notes, up to 2000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// When a `set_status` applies (contract §9.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusWhen {
    /// At once (the default).
    #[default]
    Now,
    /// Once the analyst holds no chat and no wrap-up; nothing new is routed meanwhile.
    AfterChats,
}

/// `rate`: the end-of-chat survey's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RateCmd {
    /// The ended chat.
    pub chat_id: ChatId,
    /// 1 (poor) to 5 (excellent).
    pub score: i64,
    /// What the user adds, up to 1000 characters.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A command that names one chat (`typing`, `close_chat`, `accept`, `decline`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatRef {
    /// The chat.
    pub chat_id: ChatId,
}

/// `send`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendCmd {
    /// The chat to send to.
    pub chat_id: ChatId,
    /// The text: 1 to `limits.max_body_chars` characters, or empty (or absent) when the
    /// message carries attachments.
    #[serde(default)]
    pub body: String,
    /// The sender's id for it: a repeat in the same chat is stored once.
    #[serde(default)]
    pub client_msg_id: Option<String>,
    /// Ids of files this sender uploaded to this chat and has not sent yet (contract §12).
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// `resume`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResumeCmd {
    /// The chat to catch up on.
    pub chat_id: ChatId,
    /// The last seq the client has; every later one is replayed.
    pub after_seq: i64,
}

/// `start_chat`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StartChatCmd {
    /// The queue to wait in.
    pub queue_id: QueueId,
    /// What it is about (may be absent or empty).
    #[serde(default)]
    pub subject: Option<String>,
    /// An existing call of this user to log the chat for; absent: a new call.
    #[serde(default)]
    pub call_id: Option<String>,
    /// Skills asked for, each from the queue's list (§8.1); absent: none.
    #[serde(default)]
    pub skills: Vec<super::SkillRequest>,
    /// The host's ticket id (`external_ref`, at most 64 characters): the chat goes on this user's
    /// call with that ref, made when there is none. Not together with `call_id`.
    #[serde(default)]
    pub call_ref: Option<String>,
}

/// `set_status`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetStatusCmd {
    /// The analyst's new status.
    pub status: AnalystStatus,
    /// `now` (default) or `after_chats`.
    #[serde(default)]
    pub when: StatusWhen,
}

/// `link_call`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LinkCallCmd {
    /// The chat.
    pub chat_id: ChatId,
    /// The call whose history it is also written to.
    pub call_id: String,
}

/// `transfer`: to a queue or to an analyst.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransferCmd {
    /// The chat.
    pub chat_id: ChatId,
    /// The queue it goes back to waiting in.
    #[serde(default)]
    pub queue_id: Option<QueueId>,
    /// The analyst it is offered to.
    #[serde(default)]
    pub analyst_id: Option<AnalystId>,
}

/// Deserializes a command's fields, naming the path of the first field that does not fit.
fn fields<T: serde::de::DeserializeOwned>(object: Map<String, Value>) -> Result<T, AppError> {
    serde_path_to_error::deserialize(Value::Object(object)).map_err(AppError::from_shape)
}

/// Parses a text frame into its `ref` (echoed on the reply, even to a bad frame when it could be
/// read) and its command. A frame that is not a JSON object, has an unknown `type`, or lacks or
/// mistypes a field is a `bad_request` whose message names the problem.
pub fn decode(text: &str) -> (Option<String>, Result<ClientFrame, AppError>) {
    let mut object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return (
                None,
                Err(AppError::bad_request("a frame must be a JSON object")),
            );
        }
        Err(err) => return (None, Err(AppError::bad_request(format!("not JSON: {err}")))),
    };
    let reference = match object.remove("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r.chars().count() <= MAX_REF_CHARS => Some(r),
        Some(_) => {
            return (
                None,
                Err(AppError::bad_request(
                    "ref must be a string of at most 64 characters",
                )),
            );
        }
    };
    let kind = match object.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => {
            return (
                reference,
                Err(AppError::bad_request("type must be a string")),
            );
        }
        None => {
            return (
                reference,
                Err(AppError::bad_request("missing field `type`")),
            );
        }
    };
    let frame = dispatch(&kind, object).unwrap_or_else(|| {
        Err(AppError::bad_request(format!(
            "unknown type `{}`: expected one of {}",
            kind.chars().take(64).collect::<String>(),
            COMMANDS.join(", ")
        )))
    });
    (reference, frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn commands_parse_with_their_ref() {
        let id = ChatId::new();
        let (r, frame) = decode(&format!(
            r#"{{"type":"send","ref":"r1","chat_id":"{id}","body":"hi","client_msg_id":"c1"}}"#
        ));
        assert_eq!(r.as_deref(), Some("r1"));
        assert_eq!(
            frame.unwrap(),
            ClientFrame::Send(SendCmd {
                chat_id: id,
                body: "hi".into(),
                client_msg_id: Some("c1".into()),
                attachments: Vec::new(),
            })
        );
    }

    #[test]
    fn bad_frames_name_the_problem() {
        let cases = [
            ("nope", "not JSON"),
            ("[1]", "JSON object"),
            (r#"{"ref":"r"}"#, "missing field `type`"),
            (r#"{"type":"dance"}"#, "unknown type `dance`"),
            (r#"{"type":"accept"}"#, "missing field `chat_id`"),
            (r#"{"type":"accept","chat_id":"x"}"#, "chat_id"),
            (
                r#"{"type":"resume","chat_id":"0190b5c8-7b1e-7000-8000-000000000000","after_seq":"1"}"#,
                "after_seq",
            ),
            (r#"{"type":"set_status","status":"asleep"}"#, "status"),
        ];
        for (text, needle) in cases {
            let (_, frame) = decode(text);
            let err = frame.unwrap_err();
            assert_eq!(err.code, ErrorCode::BadRequest, "{text}");
            assert!(err.message.contains(needle), "{text}: {}", err.message);
        }
    }

    proptest::proptest! {
        /// The decoder never panics, whatever arrives: arbitrary text, or arbitrary JSON objects
        /// carrying a real command type.
        #[test]
        fn decoding_never_panics(text in ".{0,200}") {
            let _ = decode(&text);
        }

        #[test]
        fn decoding_arbitrary_commands_never_panics(
            kind in proptest::sample::select(COMMANDS.to_vec()),
            fields in proptest::collection::btree_map("[a-z_]{1,12}", json_value(), 0..6),
        ) {
            let mut object: Map<String, Value> = fields.into_iter().collect();
            object.insert("type".into(), Value::from(kind));
            let (_, frame) = decode(&Value::Object(object).to_string());
            if let Err(err) = frame {
                proptest::prop_assert_eq!(err.code, ErrorCode::BadRequest);
            }
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            Just(Value::from("0190b5c8-7b1e-7000-8000-000000000000")),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
