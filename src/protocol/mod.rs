//! The WebSocket wire protocol (contract §3): what clients send (`client`: `ClientFrame`, parsed
//! once at the edge), what the server sends (`server`: `ServerFrame`; `results`: what each
//! command's `ok` carries), and the shapes both are made of (`shapes`). Frames are serialized once
//! and shared by every session that receives them.

mod client;
mod results;
mod server;
mod shapes;

use bytestring::ByteString;
use serde::Serialize;
use serde_json::Value;

pub use client::*;
pub use results::*;
pub use server::*;
pub use shapes::*;

/// Serializes any frame once, for every session that receives it.
pub fn encode(frame: &impl Serialize) -> ByteString {
    ByteString::from(serde_json::to_string(frame).unwrap_or_else(|err| {
        tracing::error!(error = %err, "frame did not serialize");
        r#"{"type":"error","code":"internal","message":"frame did not serialize"}"#.into()
    }))
}

/// `{"type":"ok","ref":..., ...result}`; `result` must be a JSON object (or null).
///
/// Goes once the router, the chat lifecycle and the archive are converted: use
/// `ServerFrame::ok(reference, OkResult::…).encode()` (or `Reply::ok`).
pub fn ok_frame(reference: Option<&str>, result: Value) -> ByteString {
    ServerFrame::ok(reference, result).encode()
}

/// Builds an event frame from JSON: `{"type": kind, ...fields}`.
///
/// Goes once the router, the chat lifecycle and the archive are converted: use the
/// `ServerFrame` variant, e.g. `ServerFrame::ChatQueued { chat }.encode()`.
pub fn event(kind: &str, fields: Value) -> ByteString {
    let mut object = match fields {
        Value::Object(object) => object,
        _ => serde_json::Map::new(),
    };
    object.insert("type".into(), Value::from(kind));
    encode(&object)
}
