//! A real webhook receiver for tests: an actix-web server on port 0 that checks every delivery's
//! Standard Webhooks signature with the endpoint's secret, records what it got, and answers
//! with the status codes it is scripted to (then 200). It can be stopped and started again on
//! the same port, to play a host that is down.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Got {
    pub id: String,
    pub timestamp: i64,
    /// Whether `webhook-signature` matched the HMAC of `{id}.{timestamp}.{body}`.
    pub signed: bool,
    pub body: Value,
    /// What the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Shared {
    got: Vec<Got>,
    /// Status codes to answer, in order; 200 once empty.
    script: VecDeque<u16>,
    /// The HMAC key (the secret's decoded bytes).
    key: Vec<u8>,
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    handle: Option<ServerHandle>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (addr, handle) = serve(shared.clone(), "127.0.0.1:0".parse().unwrap());
        Receiver {
            addr,
            shared,
            handle: Some(handle),
        }
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Verifies signatures with `secret` (`whsec_…`) from now on.
    pub fn secret(&self, secret: &str) {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .expect("base64 secret");
        assert!(key.len() >= 24, "a secret holds at least 24 bytes");
        self.shared.lock().unwrap().key = key;
    }

    /// Answers the next deliveries with these statuses.
    pub fn script(&self, statuses: &[u16]) {
        self.shared.lock().unwrap().script.extend(statuses);
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Got> {
        self.shared.lock().unwrap().got.clone()
    }

    /// Waits until `done` holds for what was received (up to `wait`), and returns it.
    pub async fn wait_for(&self, wait: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let got = self.got();
            if done(&got) || tokio::time::Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until an answered-200 delivery of each of `types` has arrived.
    pub async fn wait_delivered(&self, types: &[&str]) -> Vec<Got> {
        let got = self
            .wait_for(Duration::from_secs(30), |got| {
                types.iter().all(|t| {
                    got.iter()
                        .any(|g| g.answered == 200 && g.body["type"] == *t)
                })
            })
            .await;
        for t in types {
            assert!(
                got.iter()
                    .any(|g| g.answered == 200 && g.body["type"] == *t),
                "{t} never delivered; got {:?}",
                got.iter()
                    .map(|g| g.body["type"].clone())
                    .collect::<Vec<_>>()
            );
        }
        got
    }

    /// Stops listening (the host is down).
    pub async fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let (_, handle) = serve(self.shared.clone(), self.addr);
        self.handle = Some(handle);
    }
}

fn serve(shared: Arc<Mutex<Shared>>, addr: SocketAddr) -> (SocketAddr, ServerHandle) {
    let data = web::Data::from(shared);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .expect("receiver binds");
    let bound = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (bound, handle)
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Mutex<Shared>>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let text = String::from_utf8_lossy(&body).to_string();
    let mut shared = shared.lock().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&shared.key).unwrap();
    mac.update(format!("{id}.{timestamp}.{text}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    // The header may list several space-separated signatures.
    let signed = !shared.key.is_empty() && signature.split(' ').any(|s| s == expected);
    let answered = shared.script.pop_front().unwrap_or(200);
    shared.got.push(Got {
        id,
        timestamp: timestamp.parse().unwrap_or(0),
        signed,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}
