//! The pages that are not API: the accept page the invitation link opens, and the
//! pointer at `/`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use pretty_assertions::assert_eq;
use serde_json::json;
use sha2::{Digest, Sha256};

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).expect(open) + open.len();
    let end = start + text[start..].find(close).expect(close);
    &text[start..end]
}

fn csp_hash(source: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(source.as_bytes()))
    )
}

#[tokio::test]
async fn the_accept_page_posts_the_token_and_keeps_it_out_of_everything_else() {
    let h = Harness::embedded();
    let secret_looking = "c2VjcmV0LXRva2Vu.c2lnbmF0dXJl";
    let page = h
        .raw(
            Request::get(format!("/accept?token={secret_looking}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = page.body.as_str().expect("an HTML page");
    // The server does not write the token into the page.
    assert!(!html.contains(secret_looking));

    // A strict policy: nothing runs or loads but this page's own script and style,
    // and requests go to this origin only.
    let policy = page.header("content-security-policy").expect("a CSP");
    let script = between(html, "<script>", "</script>");
    let style = between(html, "<style>", "</style>");
    let mut directives: Vec<&str> = policy.split("; ").collect();
    directives.sort();
    let script_src = format!("script-src {}", csp_hash(script));
    let style_src = format!("style-src {}", csp_hash(style));
    let mut expected = vec![
        "base-uri 'none'",
        "connect-src 'self'",
        "default-src 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        script_src.as_str(),
        style_src.as_str(),
    ];
    expected.sort();
    assert_eq!(directives, expected);
    assert!(!html.contains("src=\"http"), "nothing loads from elsewhere");

    // The script reads the token from the query, drops it from the address, and
    // sends it in the body of a POST to the accept endpoint, nowhere else.
    assert!(script.contains("new URLSearchParams(window.location.search).get(\"token\")"));
    assert!(script.contains("window.history.replaceState(null, \"\", window.location.pathname)"));
    assert!(script.contains("fetch(new URL(\"v1/invitations/accept\", window.location.href)"));
    assert!(script.contains("method: \"POST\""));
    assert!(script.contains("body: JSON.stringify({ token: token })"));
    assert_eq!(script.matches("fetch(").count(), 1);
    assert!(!script.contains("innerHTML") && !script.contains("localStorage"));
    assert!(
        script.contains("answer.detail"),
        "the outcome names the detail"
    );

    // The path it posts to, resolved against `/accept`, is the accept endpoint.
    let refused = h
        .send(
            Method::POST,
            "/v1/invitations/accept",
            None,
            Some(json!({"token": secret_looking})),
        )
        .await;
    assert_eq!(refused.slug(), "invalid-token");
}

#[tokio::test]
async fn the_root_points_to_the_description_of_the_api() {
    let h = Harness::embedded();
    let root = h
        .raw(Request::get("/").body(Body::empty()).unwrap())
        .await
        .expect(StatusCode::OK);
    assert_eq!(root.body["openapi"], json!("/openapi.json"));
    assert_eq!(root.body["service"], json!("rollcall"));
    h.raw(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .expect(StatusCode::OK);
}
