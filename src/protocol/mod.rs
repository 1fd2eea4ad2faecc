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
