//! The web pages over plain HTTP: every page and asset is served from the binary with its content
//! type and a content security policy that keeps everything on this server; the start page
//! carries the demo people; unknown assets are 404.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use awc::Client;
use common::{Db, spawn_app};

async fn fetch(base: &str, path: &str) -> (u16, String, String, String) {
    let mut res = Client::default()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, csp) = (header("content-type"), header("content-security-policy"));
    let body = res.body().limit(1 << 20).await.unwrap();
    (
        res.status().as_u16(),
        content_type,
        csp,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[actix_web::test]
async fn every_page_is_served_with_a_policy_that_keeps_it_on_this_server() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let chat_id = uuid::Uuid::now_v7();
    for path in [
        "/".to_string(),
        "/chat".into(),
        "/chat?queue=access".into(),
        "/console".into(),
        "/console/manager".into(),
        "/dashboard".into(),
        format!("/chats/{chat_id}"),
    ] {
        let (status, content_type, csp, body) = fetch(&app.base, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(body.contains("<html lang=\"en\">"), "{path}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} loads nothing from elsewhere"
        );
    }
}

#[actix_web::test]
async fn assets_have_their_types_and_unknown_ones_are_not_found() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let (status, content_type, _, body) = fetch(&app.base, "/assets/console.js").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(body.contains("SwitchboardClient"));
    let (status, content_type, _, _) = fetch(&app.base, "/assets/app.css").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/css"), "{content_type}");
    let (status, content_type, _, body) = fetch(&app.base, "/sdk/switchboard.js").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(
        body.contains("export class SwitchboardClient"),
        "an ES module"
    );
    let (status, _, _, body) = fetch(&app.base, "/sdk/chatlog.js").await;
    assert_eq!(status, 200);
    assert!(body.contains("export class ChatLog"));
    let (status, content_type, _, body) = fetch(&app.base, "/widget.js").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/javascript"),
        "{content_type}"
    );
    assert!(body.contains("attachShadow"));
    let (status, _, _, _) = fetch(&app.base, "/sdk/nope.js").await;
    assert_eq!(status, 404);
    let (status, _, _, _) = fetch(&app.base, "/assets/nope.js").await;
    assert_eq!(status, 404);
    let (status, _, _, _) = fetch(&app.base, "/assets/..%2Fmod.rs").await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn the_start_page_lists_the_demo_people_of_every_role() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let (_, _, _, body) = fetch(&app.base, "/").await;
    let json = body
        .split("id=\"demo-people\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let people: serde_json::Value = serde_json::from_str(json).unwrap();
    let roles: Vec<&str> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    for role in ["user", "analyst", "manager", "admin"] {
        assert!(roles.contains(&role), "{role} in {people}");
    }
}
