//! The WebSocket wire protocol (contract §3): `ClientFrame` (commands, parsed once at the edge) and
//! the shapes the server sends (`ok`, `error`, events). Frames are serialized once and shared by
//! every session that receives them.

use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::{AnalystStatus, Role};
use crate::error::{AppError, ErrorCode};

/// Longest `ref` a client may attach to a command.
pub const MAX_REF_CHARS: usize = 64;

/// A client command.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Ping,
    Send(SendCmd),
    Typing(ChatRef),
    CloseChat(ChatRef),
    Resume(ResumeCmd),
    StartChat(StartChatCmd),
    SetStatus(SetStatusCmd),
    Accept(ChatRef),
    Decline(ChatRef),
    LinkCall(LinkCallCmd),
    Transfer(TransferCmd),
}

/// A command that names one chat (`typing`, `close_chat`, `accept`, `decline`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatRef {
    pub chat_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SendCmd {
    pub chat_id: Uuid,
    pub body: String,
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResumeCmd {
    pub chat_id: Uuid,
    pub after_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StartChatCmd {
    pub queue_id: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub call_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetStatusCmd {
    pub status: AnalystStatus,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LinkCallCmd {
    pub chat_id: Uuid,
    pub call_id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransferCmd {
    pub chat_id: Uuid,
    #[serde(default)]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub analyst_id: Option<String>,
}

/// Every command `type`.
pub const COMMANDS: &[&str] = &[
    "ping",
    "send",
    "typing",
    "close_chat",
    "resume",
    "start_chat",
    "set_status",
    "accept",
    "decline",
    "link_call",
    "transfer",
];

impl ClientFrame {
    /// The command's `type`, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientFrame::Ping => "ping",
            ClientFrame::Send(_) => "send",
            ClientFrame::Typing(_) => "typing",
            ClientFrame::CloseChat(_) => "close_chat",
            ClientFrame::Resume(_) => "resume",
            ClientFrame::StartChat(_) => "start_chat",
            ClientFrame::SetStatus(_) => "set_status",
            ClientFrame::Accept(_) => "accept",
            ClientFrame::Decline(_) => "decline",
            ClientFrame::LinkCall(_) => "link_call",
            ClientFrame::Transfer(_) => "transfer",
        }
    }
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
    let frame = match kind.as_str() {
        "ping" => Ok(ClientFrame::Ping),
        "send" => fields(object).map(ClientFrame::Send),
        "typing" => fields(object).map(ClientFrame::Typing),
        "close_chat" => fields(object).map(ClientFrame::CloseChat),
        "resume" => fields(object).map(ClientFrame::Resume),
        "start_chat" => fields(object).map(ClientFrame::StartChat),
        "set_status" => fields(object).map(ClientFrame::SetStatus),
        "accept" => fields(object).map(ClientFrame::Accept),
        "decline" => fields(object).map(ClientFrame::Decline),
        "link_call" => fields(object).map(ClientFrame::LinkCall),
        "transfer" => fields(object).map(ClientFrame::Transfer),
        other => Err(AppError::bad_request(format!(
            "unknown type `{}`: expected one of {}",
            other.chars().take(64).collect::<String>(),
            COMMANDS.join(", ")
        ))),
    };
    (reference, frame)
}

/// `{"id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: String,
    pub name: String,
}

/// Who did something: `{"role","id","name"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Actor {
    pub role: Role,
    pub id: String,
    pub name: String,
}

/// A chat as clients see it (contract §3.1).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatSummary {
    pub chat_id: Uuid,
    pub queue_id: String,
    pub state: crate::domain::ChatState,
    pub user: Person,
    pub analyst: Option<Person>,
    pub subject: String,
    pub call_id: String,
    pub created_at: String,
    pub accepted_at: Option<String>,
    pub ended_at: Option<String>,
    pub end_reason: Option<crate::domain::EndReason>,
    pub position: Option<usize>,
    pub last_seq: i64,
}

/// A stored chat message (contract §3.1); its `type` is always `message`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: MessageTag,
    pub chat_id: Uuid,
    pub seq: i64,
    pub from: Actor,
    pub body: String,
    pub at: String,
    pub client_msg_id: Option<String>,
}

/// The constant `"message"` tag of `Message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageTag {
    Message,
}

/// Serializes any frame once, for every session that receives it.
pub fn encode(frame: &impl Serialize) -> ByteString {
    ByteString::from(serde_json::to_string(frame).unwrap_or_else(|err| {
        tracing::error!(error = %err, "frame did not serialize");
        r#"{"type":"error","code":"internal","message":"frame did not serialize"}"#.into()
    }))
}

/// `{"type":"ok","ref":..., ...result}`; `result` must be a JSON object (or null).
pub fn ok_frame(reference: Option<&str>, result: Value) -> ByteString {
    let mut object = match result {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.insert("type".into(), Value::from("ok"));
    if let Some(r) = reference {
        object.insert("ref".into(), Value::from(r));
    }
    encode(&object)
}

/// `{"type":"error","ref":...,"code":...,"message":...}`.
pub fn error_frame(reference: Option<&str>, err: &AppError) -> ByteString {
    #[derive(Serialize)]
    struct ErrorFrame<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<&'a str>,
        code: ErrorCode,
        message: &'a str,
    }
    encode(&ErrorFrame {
        kind: "error",
        reference,
        code: err.code,
        message: &err.message,
    })
}

/// Builds an event frame: `{"type": kind, ...fields}`.
pub fn event(kind: &str, fields: Value) -> ByteString {
    let mut object = match fields {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    object.insert("type".into(), Value::from(kind));
    encode(&object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_their_ref() {
        let id = Uuid::now_v7();
        let (r, frame) = decode(&format!(
            r#"{{"type":"send","ref":"r1","chat_id":"{id}","body":"hi","client_msg_id":"c1"}}"#
        ));
        assert_eq!(r.as_deref(), Some("r1"));
        assert_eq!(
            frame.unwrap(),
            ClientFrame::Send(SendCmd {
                chat_id: id,
                body: "hi".into(),
                client_msg_id: Some("c1".into())
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

    #[test]
    fn ok_and_error_frames_echo_the_ref() {
        let ok = ok_frame(Some("r9"), serde_json::json!({"seq": 3}));
        let v: Value = serde_json::from_str(&ok).unwrap();
        assert_eq!(v, serde_json::json!({"type": "ok", "ref": "r9", "seq": 3}));
        let err = error_frame(Some("r9"), &AppError::conflict("taken"));
        let v: Value = serde_json::from_str(&err).unwrap();
        assert_eq!(v["code"], "conflict");
        assert_eq!(v["ref"], "r9");
    }
}
