//! The pages that are not API: the console (whose accept view the invitation link
//! opens), and the pointer at `/`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn the_accept_page_is_the_console_and_keeps_the_token_out_of_everything_else() {
    let h = Harness::embedded();
    let secret_looking = "c2VjcmV0LXRva2Vu.c2lnbmF0dXJl";
    let mut pages = Vec::new();
    for path in [
        format!("/accept?token={secret_looking}"),
        "/console".to_owned(),
    ] {
        let page = h
            .raw(Request::get(&path).body(Body::empty()).unwrap())
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        pages.push(page);
    }
    let html = pages[0].body.as_str().expect("an HTML page").to_owned();
    assert_eq!(pages[1].body.as_str(), Some(html.as_str()), "one page");
    // The server does not write the token into the page.
    assert!(!html.contains(secret_looking));
    // No inline script or style: the page loads its own files, relative to
    // itself (so a public URL with a path prefix works), and nothing else.
    assert!(html.contains("<script src=\"console/console.js\" defer></script>"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"console/console.css\">"));
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="));
    assert!(!html.contains("http:") && !html.contains("https:") && !html.contains("//cdn"));

    // Every file of the console answers with the same strict headers.
    let script = h
        .raw(
            Request::get("/console/console.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .expect(StatusCode::OK);
    let style = h
        .raw(
            Request::get("/console/console.css")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    for answer in pages.iter().chain([&script, &style]) {
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        let policy = answer.header("content-security-policy").expect("a CSP");
        let mut directives: Vec<&str> = policy.split("; ").collect();
        directives.sort();
        assert_eq!(
            directives,
            vec![
                "base-uri 'none'",
                "connect-src 'self'",
                "default-src 'self'",
                "form-action 'none'",
                "frame-ancestors 'none'",
                "img-src 'self'",
                "object-src 'none'",
                "script-src 'self'",
                "style-src 'self'",
            ]
        );
    }

    // The script reads the token from the query, drops it from the address, and
    // sends it in the body of a POST to the accept endpoint; it builds the page
    // from text only and keeps nothing beyond the tab.
    let script = script.body.as_str().expect("the script");
    assert!(script.contains("new URLSearchParams(window.location.search).get(\"token\")"));
    assert!(script.contains("window.history.replaceState(null, \"\", window.location.pathname)"));
    assert!(script.contains("api(\"POST\", \"/invitations/accept\", { token: token }"));
    assert!(script.contains("fetch(new URL(\"v1\" + path, window.location.href)"));
    assert_eq!(script.matches("fetch(").count(), 1, "one way out");
    for never in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "localStorage",
        "eval(",
        "new Function",
    ] {
        assert!(!script.contains(never), "the console uses {never}");
    }
    assert!(script.contains("sessionStorage"));
    assert!(
        script.contains("body.detail"),
        "errors say the problem's detail"
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
    assert_eq!(root.body["console"], json!("/console"));
    h.raw(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .expect(StatusCode::OK);
}
