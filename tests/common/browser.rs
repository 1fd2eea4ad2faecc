//! Browser tests' WebDriver sessions, through the `fantoccini` client: starts Debian's
//! `chromedriver` on a free port, opens headless Chromium sessions (each with a fresh profile),
//! and closes the sessions a failing test left open when the driver is dropped. Without a
//! browser, build.rs sets `switchboard_no_browser` and the tests are reported as ignored (never on
//! CI, where a missing browser fails them). Finding controls by
//! accessible role and name, and waiting for what a page shows, live in `browser_find`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::{Element, ElementRef};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// An element on a page (it carries its session, so it can act on its own).
pub type El = Element;

/// The key WebDriver uses for element references in script results.
pub(super) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for something to appear may take before the test fails.
pub(super) const PATIENCE: Duration = Duration::from_secs(30);

/// The result of a WebDriver command that must succeed; `what` names it in the panic.
pub(super) fn must<T>(what: &str, r: Result<T, fantoccini::error::CmdError>) -> T {
    r.unwrap_or_else(|e| panic!("webdriver {what}: {e}"))
}

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
    url: String,
    /// Sessions not yet quit, with their profiles: a failing test's browsers are closed on drop.
    open: std::sync::Mutex<Vec<(String, PathBuf)>>,
}

impl Driver {
    /// Starts chromedriver; panics (failing the test) when Chromium or chromedriver is missing.
    pub fn start() -> Driver {
        let (Some(driver), Some(_)) = (
            which("chromedriver"),
            which("chromium").or_else(|| which("chromium-browser")),
        ) else {
            panic!(
                "chromium and chromedriver are required (apt-get install chromium chromium-driver); \
                 without them build.rs marks the browser tests ignored, except on CI"
            );
        };
        // With --port=0 chromedriver picks a port for IPv6 and then tries the same one on IPv4,
        // which may be taken: it then exits, and a new attempt picks another port.
        let (child, port) = (0..20)
            .find_map(|_| spawn_driver(&driver))
            .expect("chromedriver starts and reports its port");
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}/"),
            open: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A new headless Chromium with its own fresh profile, at phone-or-desktop `width`.
    pub async fn browser(&self, width: u32) -> Browser<'_> {
        let profile = std::env::temp_dir().join(format!(
            "switchboard-chromium-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let args = [
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
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), json!({ "args": args }));
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver opens a Chromium session: {e}"));
        let session = must("session id", client.session_id().await).expect("a session id");
        self.open
            .lock()
            .unwrap()
            .push((session.clone(), profile.clone()));
        Browser {
            driver: self,
            client,
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
        // Drop cannot await, and the test's runtime may be unwinding: a helper thread with its
        // own runtime reattaches to each session left open and ends it.
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        if !open.is_empty() {
            let url = self.url.clone();
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        for (session, _) in &open {
                            let Ok(client) =
                                Client::with_existing_session(&url, session, HttpConnector::new())
                                    .await
                            else {
                                continue;
                            };
                            let _ =
                                tokio::time::timeout(Duration::from_secs(20), client.close()).await;
                        }
                    });
                }
                for (_, profile) in open {
                    let _ = std::fs::remove_dir_all(profile);
                }
            })
            .join();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser<'d> {
    driver: &'d Driver,
    pub(super) client: Client,
    session: String,
    profile: PathBuf,
}

impl Browser<'_> {
    pub async fn goto(&self, url: &str) {
        must("goto", self.client.goto(url).await);
    }

    pub async fn refresh(&self) {
        must("refresh", self.client.refresh().await);
    }

    /// Runs `script` with `args` (a JSON array; elements as `Self::el_json` gives them).
    pub async fn script(&self, script: &str, args: Value) -> Value {
        let args = match args {
            Value::Array(args) => args,
            Value::Null => Vec::new(),
            arg => vec![arg],
        };
        must("execute", self.client.execute(script, args).await)
    }

    /// An element as a script argument (fantoccini serialises it as a WebDriver reference).
    pub(super) fn el_json(el: &El) -> Value {
        serde_json::to_value(el).expect("an element serialises")
    }

    /// The element a script returned, if it returned one.
    pub(super) fn el_from(&self, v: &Value) -> Option<El> {
        let id = v[ELEMENT].as_str()?;
        Some(Element::from_element_id(
            self.client.clone(),
            ElementRef::from(id.to_string()),
        ))
    }

    pub(super) async fn body(&self) -> El {
        must("find body", self.client.find(Locator::Css("body")).await)
    }

    pub async fn click(&self, el: &El) {
        must("click", el.click().await);
    }

    /// Types `text` into a field (a trailing "\u{E007}" presses Enter).
    pub async fn type_into(&self, el: &El, text: &str) {
        must("send keys", el.send_keys(text).await);
    }

    /// The text an element shows.
    pub async fn text(&self, el: &El) -> String {
        must("text", el.text().await)
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
        must("selected", el.is_selected().await)
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = must("screenshot", self.client.screenshot().await);
        std::fs::write(path, png).unwrap();
    }

    /// Ends the session and removes its profile.
    pub async fn quit(self) {
        must("delete session", self.client.close().await);
        self.driver
            .open
            .lock()
            .unwrap()
            .retain(|(s, _)| *s != self.session);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
