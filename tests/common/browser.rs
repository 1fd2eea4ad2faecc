//! A small WebDriver client for browser tests: starts Debian's `chromedriver` on a free port,
//! opens headless Chromium sessions (each with a fresh profile), and finds controls by their
//! accessible role and name as Chromium computes them (WebDriver's computed role and label).
//! Without a browser the tests skip with a message locally and fail when `CI` is set.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use awc::Client;
use serde_json::{Value, json};

/// The key WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long a wait for something to appear may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

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
    base: String,
    client: Client,
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
        let mut child = Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().unwrap();
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("started successfully on port ").nth(1) {
                port = Some(rest.trim_end_matches('.').trim().to_string());
                break;
            }
        }
        let port = port.expect("chromedriver reports its port");
        let client = Client::builder().timeout(Duration::from_secs(120)).finish();
        Some(Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client,
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
        Browser {
            driver: self,
            session: v["sessionId"].as_str().unwrap().to_string(),
            profile,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An element reference.
#[derive(Debug, Clone)]
pub struct El(String);

/// One browser session.
pub struct Browser<'d> {
    driver: &'d Driver,
    session: String,
    profile: PathBuf,
}

/// CSS for the elements that may carry each role (the browser then confirms role and name).
fn candidates(role: &str) -> &'static str {
    match role {
        "button" => "button, [role=button], input[type=submit], input[type=button]",
        "combobox" => "select, [role=combobox]",
        "textbox" => "textarea, input[type=text], input:not([type]), [role=textbox]",
        "checkbox" => "input[type=checkbox], [role=checkbox]",
        "tab" => "[role=tab]",
        "region" => "section, [role=region]",
        "link" => "a[href]",
        "status" => "[role=status], output",
        "columnheader" => "th, [role=columnheader]",
        _ => "*",
    }
}

impl Browser<'_> {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
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

    fn el_json(el: &El) -> Value {
        json!({ ELEMENT: el.0 })
    }

    /// Elements with `role` and accessible `name` inside `scope` (or the page), visible ones only.
    async fn by_role(&self, scope: Option<&El>, role: &str, name: &str) -> Vec<El> {
        let found = self
            .script(
                "const root = arguments[0] || document; \
                 return [...root.querySelectorAll(arguments[1])].filter(e => e.getClientRects().length > 0);",
                json!([scope.map(Self::el_json), candidates(role)]),
            )
            .await;
        let mut out = Vec::new();
        for e in found.as_array().cloned().unwrap_or_default() {
            let id = e[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("not an element: {e}"))
                .to_string();
            let got_role = self
                .cmd("GET", &format!("/element/{id}/computedrole"), None)
                .await;
            if got_role.as_str() != Some(role) {
                continue;
            }
            let label = self
                .cmd("GET", &format!("/element/{id}/computedlabel"), None)
                .await;
            if label.as_str().map(str::trim) == Some(name) {
                out.push(El(id));
            }
        }
        out
    }

    /// Waits for a control with `role` and accessible `name`, inside `scope` when given.
    pub async fn find_in(&self, scope: Option<&El>, role: &str, name: &str) -> El {
        let start = Instant::now();
        loop {
            if let Some(el) = self.by_role(scope, role, name).await.into_iter().next() {
                return el;
            }
            if start.elapsed() > PATIENCE {
                let text = self.text(&self.body().await).await;
                panic!("no {role} named {name:?} appeared; the page says:\n{text}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn find(&self, role: &str, name: &str) -> El {
        self.find_in(None, role, name).await
    }

    /// How many controls with `role` and `name` are shown right now.
    pub async fn count(&self, scope: Option<&El>, role: &str, name: &str) -> usize {
        self.by_role(scope, role, name).await.len()
    }

    async fn body(&self) -> El {
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

    /// Picks the option with visible text `label` in a select (as a person would, by clicking).
    pub async fn choose(&self, select: &El, label: &str) {
        let v = self
            .script(
                "return [...arguments[0].options].find(o => o.textContent.trim() === arguments[1]) || null;",
                json!([Self::el_json(select), label]),
            )
            .await;
        let option = v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no option {label:?}"));
        self.click(&El(option.to_string())).await;
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

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, el: &El, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.text(el).await;
            if text.contains(needle) {
                return text;
            }
            if start.elapsed() > PATIENCE {
                panic!("{needle:?} never appeared; the element says:\n{text}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until the page's text contains `needle`.
    pub async fn wait_page_text(&self, needle: &str) -> String {
        let body = self.body().await;
        self.wait_text(&body, needle).await
    }

    /// Waits until the selected option of `select` reads `label`.
    pub async fn wait_selected(&self, select: &El, label: &str) {
        let start = Instant::now();
        loop {
            let now = self.selected(select).await;
            if now == label {
                return;
            }
            if start.elapsed() > PATIENCE {
                panic!("select never showed {label:?}; it shows {now:?}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The table row (inside `scope`) whose text contains `text`.
    pub async fn row_with(&self, scope: &El, text: &str) -> El {
        let start = Instant::now();
        loop {
            let v = self
                .script(
                    "return [...arguments[0].querySelectorAll('tr')].find(r => r.textContent.includes(arguments[1])) || null;",
                    json!([Self::el_json(scope), text]),
                )
                .await;
            if let Some(id) = v[ELEMENT].as_str() {
                return El(id.to_string());
            }
            if start.elapsed() > PATIENCE {
                panic!("no row with {text:?} appeared");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
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
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
