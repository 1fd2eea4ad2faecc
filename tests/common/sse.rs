//! A real Server-Sent Events client for tests (awc): opens `/api/v1/events` with a token, a
//! ticket or a `Last-Event-ID`, parses the stream into events, and waits (with a timeout) for
//! the one a test expects.

use std::collections::VecDeque;
use std::time::Duration;

use awc::ClientResponse;
use futures_util::StreamExt;
use serde_json::Value;

use super::TestApp;
use super::ws::WAIT;

/// One parsed event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

pub struct SseClient {
    res: ClientResponse,
    buf: String,
    pub events: VecDeque<SseEvent>,
    /// Comment lines seen (`heartbeat`, `connected`).
    pub comments: Vec<String>,
}

impl TestApp {
    /// Opens the event stream; the status and problem body when refused.
    pub async fn sse(
        &self,
        token: Option<&str>,
        query: &str,
        last_event_id: Option<&str>,
    ) -> Result<SseClient, (u16, Value)> {
        let mut req = awc::Client::new().get(format!("{}/api/v1/events{query}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            req = req.insert_header(("Last-Event-ID", id));
        }
        let mut res = req.send().await.unwrap();
        if res.status().as_u16() != 200 {
            let body = res.body().await.unwrap();
            return Err((
                res.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or(Value::Null),
            ));
        }
        let ct = res.headers().get("content-type").unwrap().to_str().unwrap();
        assert!(ct.starts_with("text/event-stream"), "content-type {ct}");
        Ok(SseClient {
            res,
            buf: String::new(),
            events: VecDeque::new(),
            comments: Vec::new(),
        })
    }
}

impl SseClient {
    /// Reads more of the stream (up to `wait`), parsing complete events.
    async fn read(&mut self, wait: Duration) -> bool {
        match actix_web::rt::time::timeout(wait, self.res.next()).await {
            Ok(Some(Ok(chunk))) => {
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
                while let Some(end) = self.buf.find("\n\n") {
                    let block: String = self.buf.drain(..end + 2).collect();
                    self.parse_block(&block);
                }
                true
            }
            Ok(Some(Err(e))) => panic!("stream error: {e}"),
            _ => false,
        }
    }

    fn parse_block(&mut self, block: &str) {
        let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
        for line in block.lines() {
            if let Some(c) = line.strip_prefix(':') {
                self.comments.push(c.trim().to_string());
            } else if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
        if !data.is_empty() {
            let data = serde_json::from_str(&data).unwrap();
            self.events.push_back(SseEvent { id, event, data });
        }
    }

    /// Waits for the first event of `kind` matching `pred` (taking it out; others stay).
    pub async fn expect(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> SseEvent {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(pos) = self
                .events
                .iter()
                .position(|e| e.event == kind && pred(&e.data))
            {
                return self.events.remove(pos).unwrap();
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !self.read(left).await && std::time::Instant::now() >= deadline {
                panic!("no {kind} event within {WAIT:?}; got {:?}", self.events);
            }
        }
    }

    /// Reads until the stream has been quiet for `quiet` (everything sent so far is parsed).
    pub async fn settle(&mut self, quiet: Duration) {
        while self.read(quiet).await {}
    }

    /// Waits for a comment line (e.g. `heartbeat`).
    pub async fn expect_comment(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        while !self.comments.iter().any(|c| c == text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            assert!(!left.is_zero(), "no `: {text}` within {WAIT:?}");
            self.read(left).await;
        }
    }
}
