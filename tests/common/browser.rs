//! A small WebDriver client for browser tests: starts Debian's `chromedriver` on a free port,
//! opens headless Chromium sessions (each with a fresh profile), and finds controls by their
//! accessible role and name as Chromium computes them (WebDriver's computed role and label).
//! Without a browser the tests skip with a message locally and fail when `CI` is set. Finding
//! controls by role and name, and waiting for what a page shows, live in `browser_find`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use awc::Client;
use serde_json::{Value, json};

/// The key WebDriver uses for element references.
pub(super) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for something to appear may take before the test fails.
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
    base: String,
    client: Client,
    /// Sessions not yet quit, with their profiles: a failing test's browsers are closed on drop.
    open: std::sync::Mutex<Vec<(String, PathBuf)>>,
}

impl Driver {
    /// Starts chromedriver, or `None` (with a message) when Chromium is not installed locally.
    pub fn start() -> Option<Driver> {
        let (Some(driver), Some(_)) = (
            which("chromedriver"),
            which("chromium").or_else(|| which("chromium-browser")),
        ) else {
            assert!(
                std::env::var("CI").is_err(),
                "chromium and chromedriver are required on CI (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping browser test: chromium or chromedriver is not installed");
            return None;
        };
        // With --port=0 chromedriver picks a port for IPv6 and then tries the same one on IPv4,
        // which may be taken: it then exits, and a new attempt picks another port.
        let (child, port) = (0..20)
            .find_map(|_| spawn_driver(&driver))
            .expect("chromedriver starts and reports its port");
        let client = Client::builder().timeout(Duration::from_secs(120)).finish();
        Some(Driver {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            client,
            open: std::sync::Mutex::new(Vec::new()),
        })
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        let mut res = match body {
            Some(b) => req.send_json(&b).await,
            None => req.send().await,
        }
        .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let bytes = res.body().limit(64 << 20).await.unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !res.status().is_success() {
            panic!("webdriver {method} {path}: {} {v}", res.status());
        }
        v["value"].clone()
    }

    async fn try_call(&self, method: &str, path: &str) -> Option<Value> {
        let req = self
            .client
            .request(method.parse().ok()?, format!("{}{path}", self.base));
        let mut res = req.send().await.ok()?;
        let bytes = res.body().limit(64 << 20).await.ok()?;
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        res.status().is_success().then(|| v["value"].clone())
    }

    /// A new headless Chromium with its own fresh profile, at phone-or-desktop `width`.
    pub async fn browser(&self, width: u32) -> Browser<'_> {
        let profile = std::env::temp_dir().join(format!(
            "switchboard-chromium-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},900"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": args},
        }}});
        let v = self.call("POST", "/session", Some(caps)).await;
        let session = v["sessionId"].as_str().unwrap().to_string();
        self.open
            .lock()
            .unwrap()
            .push((session.clone(), profile.clone()));
        Browser {
            driver: self,
            session,
            profile,
        }
    }
}

/// One attempt at starting chromedriver on a port of its choosing: the child and its port.
fn spawn_driver(driver: &std::path::Path) -> Option<(Child, u16)> {
    let mut child = Command::new(driver)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs");
    // chromedriver prints its port on stdout; a thread keeps reading so it never blocks.
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                let _ = tx.send(rest.trim_end_matches('.').trim().to_string());
            }
        }
    });
    match rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .and_then(|p| p.parse().ok())
    {
        Some(port) => Some((child, port)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Drop cannot await: a plain blocking request ends each session left open.
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        for (session, profile) in open {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::Write;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                let _ = write!(
                    stream,
                    "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = read_response(&mut stream);
            }
            let _ = std::fs::remove_dir_all(profile);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one HTTP response (headers and a `Content-Length` body); chromedriver keeps the
/// connection open, so reading to the end would wait for its timeout.
fn read_response(stream: &mut std::net::TcpStream) -> std::io::Result<()> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Ok(());
            }
        }
    }
}

/// An element reference.
#[derive(Debug, Clone)]
pub struct El(pub(super) String);

/// One browser session.
pub struct Browser<'d> {
    driver: &'d Driver,
    session: String,
    profile: PathBuf,
}

impl Browser<'_> {
    /// A command whose failure (say, an element gone stale while the page re-renders) is
    /// expected and handled by the caller.
    pub(super) async fn try_cmd(&self, method: &str, path: &str) -> Option<Value> {
        self.driver
            .try_call(method, &format!("/session/{}{path}", self.session))
            .await
    }

    pub(super) async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn refresh(&self) {
        self.cmd("POST", "/refresh", Some(json!({}))).await;
    }

    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    pub(super) fn el_json(el: &El) -> Value {
        json!({ ELEMENT: el.0 })
    }

    pub(super) async fn body(&self) -> El {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": "body"})),
            )
            .await;
        El(v[ELEMENT].as_str().unwrap().to_string())
    }

    pub async fn click(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/click", el.0), Some(json!({})))
            .await;
    }

    /// Types `text` into a field (a trailing "\u{E007}" presses Enter).
    pub async fn type_into(&self, el: &El, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The text an element shows.
    pub async fn text(&self, el: &El) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The visible text of the selected option of a select.
    pub async fn selected(&self, select: &El) -> String {
        self.script(
            "const s = arguments[0]; return s.options[s.selectedIndex].textContent.trim();",
            json!([Self::el_json(select)]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    pub async fn is_checked(&self, el: &El) -> bool {
        self.cmd("GET", &format!("/element/{}/selected", el.0), None)
            .await
            .as_bool()
            .unwrap_or(false)
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Ends the session and removes its profile.
    pub async fn quit(self) {
        self.cmd("DELETE", "", None).await;
        self.driver
            .open
            .lock()
            .unwrap()
            .retain(|(s, _)| *s != self.session);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
