//! A real WebSocket client for tests (awc): connects with a bearer token or a ticket, sends
//! commands with a `ref` and waits for their `ok`/`error`, and keeps every other frame in an
//! inbox so tests can wait for the events they expect, in any order, with a timeout. A command's
//! reply must come before any event about what the command created (contract §3.6): `cmd` fails
//! when one arrived first.

use std::collections::VecDeque;
use std::time::Duration;

use awc::ws::{Codec, Frame, Message};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

use super::TestApp;

type Framed = actix_codec::Framed<awc::BoxedSocket, Codec>;

/// How long a test waits for an expected frame.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct WsClient {
    framed: Framed,
    /// Frames received but not yet looked at.
    pub inbox: VecDeque<Value>,
    /// The hello frame.
    pub hello: Value,
    next_ref: u64,
    /// Why the server closed the connection, once it has.
    pub closed: Option<Option<awc::ws::CloseReason>>,
}

impl TestApp {
    /// Connects with a bearer token and reads hello.
    pub async fn ws(&self, token: &str) -> WsClient {
        self.ws_with(token, None)
            .await
            .unwrap_or_else(|status| panic!("handshake refused: {status}"))
    }

    /// Connects analyst `id` and sets them available.
    pub async fn available(&self, id: &str) -> WsClient {
        let mut ws = self
            .ws(&self.token(id, switchboard::domain::Role::Analyst))
            .await;
        ws.ok(json!({"type": "set_status", "status": "available"}))
            .await;
        ws
    }

    /// Connects with a bearer token and an optional Origin; the HTTP status when refused.
    pub async fn ws_with(&self, token: &str, origin: Option<&str>) -> Result<WsClient, u16> {
        let mut req = awc::Client::new()
            .ws(format!("{}/ws", self.ws_base))
            .bearer_auth(token);
        if let Some(origin) = origin {
            req = req.origin(origin);
        }
        WsClient::open(req).await
    }

    /// Connects with a ticket in the query string.
    pub async fn ws_ticket(&self, ticket: &str) -> Result<WsClient, u16> {
        WsClient::open(awc::Client::new().ws(format!("{}/ws?ticket={ticket}", self.ws_base))).await
    }
}

impl WsClient {
    /// Connects to the server at `ws_base` (another node of a cluster) with a bearer token.
    pub async fn connect_to(ws_base: &str, token: &str) -> Result<WsClient, u16> {
        WsClient::open(
            awc::Client::new()
                .ws(format!("{ws_base}/ws"))
                .bearer_auth(token),
        )
        .await
    }

    /// Connects to the server at `ws_base` with a ticket in the query string.
    pub async fn connect_with_ticket(ws_base: &str, ticket: &str) -> Result<WsClient, u16> {
        WsClient::open(awc::Client::new().ws(format!("{ws_base}/ws?ticket={ticket}"))).await
    }

    async fn open(req: awc::ws::WebsocketsRequest) -> Result<WsClient, u16> {
        let (_, framed) = match req.max_frame_size(1 << 24).connect().await {
            Ok(ok) => ok,
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
                return Err(status.as_u16());
            }
            Err(err) => panic!("websocket connect failed: {err}"),
        };
        let mut client = WsClient {
            framed,
            inbox: VecDeque::new(),
            hello: Value::Null,
            next_ref: 0,
            closed: None,
        };
        client.hello = client.expect("hello").await;
        Ok(client)
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.framed
            .send(Message::Text(text.to_string().into()))
            .await
            .unwrap();
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.framed
            .send(Message::Binary(Bytes::from(bytes)))
            .await
            .unwrap();
    }

    /// Sends a command with a fresh `ref` and returns its `ok` or `error` frame; fails when a frame
    /// about what the command created arrived before its ok.
    pub async fn cmd(&mut self, mut command: Value) -> Value {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        command["ref"] = json!(reference);
        let before = self.inbox.len();
        self.send_text(&command.to_string()).await;
        let reply = self
            .expect_where(|f| {
                f["ref"] == json!(reference)
                    && (f["type"] == "ok" || f["type"] == "error" || f["type"] == "pong")
            })
            .await;
        self.check_ok_came_first(&command, &reply, before);
        reply
    }

    /// Like `cmd`, but `None` when the connection is gone or no reply comes.
    pub async fn try_cmd(&mut self, mut command: Value) -> Option<Value> {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        command["ref"] = json!(reference);
        let before = self.inbox.len();
        self.framed
            .send(Message::Text(command.to_string().into()))
            .await
            .ok()?;
        let pred = move |f: &Value| {
            f["ref"] == json!(reference) && (f["type"] == "ok" || f["type"] == "error")
        };
        let reply = self.wait_for(&pred, WAIT).await?;
        self.check_ok_came_first(&command, &reply, before);
        Some(reply)
    }

    /// Contract §3.6: the ok of a command comes before any event about what it created (the chat
    /// a `start_chat` opened). `before` is the inbox length when the command was sent, so the
    /// frames after it arrived while the reply was awaited.
    fn check_ok_came_first(&self, command: &Value, reply: &Value, before: usize) {
        if reply["type"] != "ok" || command["type"] != "start_chat" {
            return;
        }
        let created = &reply["chat_id"];
        let early: Vec<&Value> = self
            .inbox
            .iter()
            .skip(before)
            .filter(|f| f["chat_id"] == *created || f["chat"]["chat_id"] == *created)
            .collect();
        assert!(
            early.is_empty(),
            "{command} answered {reply} only after events about the chat it created: {early:?}"
        );
    }

    /// A command that must succeed; returns its ok frame.
    pub async fn ok(&mut self, command: Value) -> Value {
        let reply = self.cmd(command.clone()).await;
        assert_eq!(reply["type"], "ok", "{command} answered {reply}");
        reply
    }

    /// A command that must fail with `code`; returns its error frame.
    pub async fn fails(&mut self, command: Value, code: &str) -> Value {
        let reply = self.cmd(command.clone()).await;
        assert_eq!(
            (reply["type"].as_str(), reply["code"].as_str()),
            (Some("error"), Some(code)),
            "{command} answered {reply}"
        );
        reply
    }

    /// Waits for the first frame of `kind` (taking it out of the inbox).
    pub async fn expect(&mut self, kind: &str) -> Value {
        let kind = kind.to_string();
        self.expect_where(move |f| f["type"] == json!(kind)).await
    }

    /// Waits for the first frame matching `pred`.
    pub async fn expect_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        match self.wait_for(&pred, WAIT).await {
            Some(frame) => frame,
            None => panic!(
                "no matching frame within {WAIT:?}; inbox: {:?}; closed: {:?}",
                self.inbox, self.closed
            ),
        }
    }

    /// Waits up to `wait` for the first frame of `kind` (taking it out of the inbox).
    pub async fn expect_within(&mut self, kind: &str, wait: Duration) -> Value {
        match self
            .wait_for(&|f: &Value| f["type"] == json!(kind), wait)
            .await
        {
            Some(frame) => frame,
            None => panic!(
                "no {kind} within {wait:?}; inbox: {:?}; closed: {:?}",
                self.inbox, self.closed
            ),
        }
    }

    /// Whether the server ends the connection (a close frame, or the stream ending) within
    /// `wait`; the frames read meanwhile stay in the inbox.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let start = std::time::Instant::now();
        let _ = self.wait_for(&|_| false, wait).await;
        start.elapsed() < wait
    }

    /// The next frame, if one arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        self.wait_for(&|_| true, wait).await
    }

    /// Asserts that no frame of `kind` arrives within `wait`.
    pub async fn expect_none(&mut self, kind: &str, wait: Duration) {
        let found = self
            .wait_for(&|f: &Value| f["type"] == json!(kind), wait)
            .await;
        assert!(found.is_none(), "unexpected {kind}: {found:?}");
    }

    /// Reads frames until one matches `pred` or `wait` passes.
    async fn wait_for(&mut self, pred: &dyn Fn(&Value) -> bool, wait: Duration) -> Option<Value> {
        if let Some(i) = self.inbox.iter().position(pred) {
            return self.inbox.remove(i);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.framed.next()).await {
                Err(_) | Ok(None) => return None,
                Ok(Some(frame)) => frame,
            };
            match frame {
                Ok(Frame::Text(bytes)) => {
                    let value: Value = serde_json::from_slice(&bytes).unwrap();
                    if pred(&value) {
                        return Some(value);
                    }
                    self.inbox.push_back(value);
                }
                Ok(Frame::Ping(bytes)) => {
                    let _ = self.framed.send(Message::Pong(bytes)).await;
                }
                Ok(Frame::Close(reason)) => {
                    self.closed = Some(reason);
                    return None;
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Waits for the server to close the connection and returns the close code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        let _ = self.wait_for(&|_| false, WAIT).await;
        self.closed.clone().flatten().map(|r| u16::from(r.code))
    }

    /// Closes the connection from the client side.
    pub async fn close(mut self) {
        let _ = self.framed.send(Message::Close(None)).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while self.framed.next().await.is_some() {}
        })
        .await;
    }
}
