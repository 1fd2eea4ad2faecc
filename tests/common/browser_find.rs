//! Browser tests: finding controls by the accessible role and name Chromium computes (WebDriver's
//! computed role and label) and waiting, with a generous limit, for what a page shows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::json;

use super::browser::{Browser, El, PATIENCE};

/// WebDriver's Get Computed Role or Get Computed Label of an element, which fantoccini has no
/// method for: `what` is the endpoint, `computedrole` or `computedlabel`.
#[derive(Debug)]
struct Computed {
    element: String,
    what: &'static str,
}

impl WebDriverCompatibleCommand for Computed {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session.unwrap_or_default();
        base.join(&format!(
            "session/{session}/element/{}/{}",
            self.element, self.what
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
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
    /// The element's computed role or label (see `Computed`); `None` when it has gone stale.
    async fn computed(&self, el: &El, what: &'static str) -> Option<String> {
        let cmd = Computed {
            element: el.element_id().to_string(),
            what,
        };
        let v = self.client.issue_cmd(cmd).await.ok()?;
        v.as_str().map(str::to_string)
    }

    /// Elements with `role` and accessible `name` inside `scope` (or the page; a shadow host's
    /// open shadow root), visible ones only.
    async fn by_role(&self, scope: Option<&El>, role: &str, name: &str) -> Vec<El> {
        let found = self
            .script(
                "const s = arguments[0]; const root = s ? (s.shadowRoot || s) : document; \
                 return [...root.querySelectorAll(arguments[1])].filter(e => e.getClientRects().length > 0);",
                json!([scope.map(Self::el_json), candidates(role)]),
            )
            .await;
        let mut out = Vec::new();
        for e in found.as_array().cloned().unwrap_or_default() {
            let el = self
                .el_from(&e)
                .unwrap_or_else(|| panic!("not an element: {e}"));
            // An element that went stale meanwhile is skipped; the caller looks again.
            if self.computed(&el, "computedrole").await.as_deref() != Some(role) {
                continue;
            }
            let label = self.computed(&el, "computedlabel").await;
            if label.as_deref().map(str::trim) == Some(name) {
                out.push(el);
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
        let start = Instant::now();
        loop {
            let text = self
                .script(
                    "return document.body ? document.body.innerText : '';",
                    json!([]),
                )
                .await
                .as_str()
                .unwrap_or_default()
                .to_string();
            if text.contains(needle) {
                return text;
            }
            if start.elapsed() > PATIENCE {
                panic!("{needle:?} never appeared; the page says:\n{text}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits until `script` returns true.
    pub async fn wait_true(&self, script: &str) {
        let start = Instant::now();
        while self.script(script, json!([])).await != serde_json::Value::Bool(true) {
            if start.elapsed() > PATIENCE {
                panic!("never true: {script}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page at `path` has loaded (after a click that navigates).
    pub async fn wait_path(&self, path: &str) {
        let start = Instant::now();
        loop {
            let now = self
                .script(
                    "return document.readyState === 'complete' ? location.pathname : '';",
                    json!([]),
                )
                .await;
            if now.as_str() == Some(path) {
                return;
            }
            if start.elapsed() > PATIENCE {
                panic!("the page never reached {path}; it is at {now}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Picks the option with visible text `label` in a select, as a person would (by clicking),
    /// once the option is there.
    pub async fn choose(&self, select: &El, label: &str) {
        let start = Instant::now();
        loop {
            let v = self
                .script(
                    "return [...arguments[0].options].find(o => o.textContent.trim() === arguments[1]) || null;",
                    json!([Self::el_json(select), label]),
                )
                .await;
            if let Some(option) = self.el_from(&v) {
                return self.click(&option).await;
            }
            if start.elapsed() > PATIENCE {
                panic!("no option {label:?} appeared");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
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
            if let Some(row) = self.el_from(&v) {
                return row;
            }
            if start.elapsed() > PATIENCE {
                panic!("no row with {text:?} appeared");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The text shown inside a shadow host's open shadow root (as a person reads it).
    pub async fn shadow_text(&self, host: &El) -> String {
        self.script(
            "return [...arguments[0].shadowRoot.children].map(c => c.innerText || '').join('\\n');",
            json!([Self::el_json(host)]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits until the text inside a shadow host contains `needle`; returns the text.
    pub async fn wait_shadow_text(&self, host: &El, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let text = self.shadow_text(host).await;
            if text.contains(needle) {
                return text;
            }
            if start.elapsed() > PATIENCE {
                panic!("{needle:?} never appeared in the shadow root; it says:\n{text}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The accessible name of the focused control inside a shadow host ("" when focus is
    /// elsewhere), as the browser computes it.
    pub async fn focused_in(&self, host: &El) -> String {
        let v = self
            .script(
                "const r = arguments[0].shadowRoot; return document.activeElement === arguments[0] ? r.activeElement : null;",
                json!([Self::el_json(host)]),
            )
            .await;
        match self.el_from(&v) {
            Some(el) => self
                .computed(&el, "computedlabel")
                .await
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// Waits for the element the page's `css` selects (e.g. a shadow host).
    pub async fn find_css(&self, css: &str) -> El {
        let start = Instant::now();
        loop {
            let v = self
                .script("return document.querySelector(arguments[0]);", json!([css]))
                .await;
            if let Some(el) = self.el_from(&v) {
                return el;
            }
            if start.elapsed() > PATIENCE {
                panic!("nothing matched {css:?}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        }
    }
}
