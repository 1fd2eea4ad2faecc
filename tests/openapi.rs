//! The OpenAPI document: it is OpenAPI 3.1, internally consistent (every `$ref` resolves, every
//! path parameter is declared, every error is problem+json), and it lists exactly the `/api/v1`
//! routes the running server mounts: every handler route macro in `src/http` is probed on the
//! real server under `/api/v1`, and the set that answers (401: all of them need a token) must
//! equal the document's set, which must itself answer. The event stream documents each event
//! kind with the schema of its `data`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{Db, TestApp, spawn_app};
use serde_json::Value;

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// `(METHOD, path)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// `(METHOD, path)` of every actix route macro in `src/http`.
fn route_macros() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().map(str::trim) {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) {
                    let path = rest.split('"').next().unwrap();
                    found.insert((method.to_uppercase(), path.to_string()));
                }
            }
        }
    }
    found
}

/// Whether the server has a route for `method path` (anything but the fallback's 404/405).
async fn mounted(app: &TestApp, method: &str, template: &str) -> (bool, u16) {
    let path: String = template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "probe" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let (status, body, _) = app.call(method, &path, None, None).await;
    let fallback = status == 405
        || (status == 404
            && body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("route ")));
    (!fallback, status)
}

#[actix_web::test]
async fn document_is_openapi_3_1_and_consistent() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let (status, doc, ct) = app.call("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/json"));
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {r}"
        );
    }
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(
                operation_ids.insert(id.to_string()),
                "operationId {id} twice"
            );
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, in_template, "{method} {path} path parameters");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no 2xx"
            );
            for code in ["401", "403"] {
                let problem = &responses[code]["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    problem["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {code}"
                );
            }
        }
    }
}

#[actix_web::test]
async fn document_lists_exactly_the_mounted_api_v1_routes() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let (_, doc, _) = app.call("GET", "/api/openapi.json", None, None).await;
    let documented = documented(&doc);

    let macros = route_macros();
    assert!(macros.len() >= documented.len(), "scan found {macros:?}");
    let mut mounted_v1 = BTreeSet::new();
    for (method, path) in &macros {
        let full = format!("/api/v1{path}");
        if mounted(&app, method, &full).await.0 {
            mounted_v1.insert((method.clone(), full));
        }
    }
    assert_eq!(
        mounted_v1, documented,
        "mounted /api/v1 routes vs the document"
    );

    for (method, path) in &documented {
        let (is_mounted, status) = mounted(&app, method, path).await;
        assert!(is_mounted, "{method} {path} is documented but not mounted");
        assert_eq!(status, 401, "{method} {path} answers without a token");
    }
    // The fallback itself: another method on a known path is 405, an unknown path 404.
    let (status, body, ct) = app.call("TRACE", "/api/v1/stats", None, None).await;
    assert_eq!(
        (status, ct.as_str()),
        (405, "application/problem+json"),
        "{body}"
    );
    let (status, _, _) = app.call("GET", "/api/v1/nowhere", None, None).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn event_stream_documents_each_event_and_its_data() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let (_, doc, _) = app.call("GET", "/api/openapi.json", None, None).await;
    let op = &doc["paths"]["/api/v1/events"]["get"];
    let event = &op["responses"]["200"]["content"]["text/event-stream"]["schema"];
    let kinds: Vec<(&str, &str)> = event["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert_eq!(
                k["properties"]["data"]["contentMediaType"],
                "application/json"
            );
            (
                k["properties"]["event"]["const"].as_str().unwrap(),
                k["properties"]["data"]["contentSchema"]["$ref"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("queue_stats", "#/components/schemas/QueueStats"),
            (
                "analyst_status",
                "#/components/schemas/AnalystStatusChanged"
            ),
            ("chat_state", "#/components/schemas/ChatStateChanged"),
        ]
    );
    let chat_state = &doc["components"]["schemas"]["ChatStateChanged"]["required"];
    assert_eq!(
        chat_state,
        &serde_json::json!(["chat_id", "queue_id", "state", "at"])
    );
    assert_eq!(
        op["responses"]["400"]["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ticket", "Last-Event-ID"]);
}
