//! The WebSocket wire protocol (contract §3): what clients send (`client`: `ClientFrame`, parsed
//! once at the edge), what the server sends (`server`: `ServerFrame`; `results`: what each
//! command's `ok` carries), and the shapes both are made of (`shapes`, `calls`); `webhooks` holds what a webhook delivery
//! carries. Frames are serialized once
//! and shared by every session that receives them.

mod calls;
mod client;
mod results;
mod server;
mod shapes;
mod webhooks;

use bytestring::ByteString;
use serde::Serialize;

pub use calls::*;
pub use client::*;
pub use results::*;
pub use server::*;
pub use shapes::*;
pub use webhooks::*;

/// Serializes any frame once, for every session that receives it.
pub fn encode(frame: &impl Serialize) -> ByteString {
    ByteString::from(serde_json::to_string(frame).unwrap_or_else(|err| {
        tracing::error!(error = %err, "frame did not serialize");
        r#"{"type":"error","code":"internal","message":"frame did not serialize"}"#.into()
    }))
}
