//! The two answers that are not API: `GET /`, a pointer to the API's description,
//! and `GET /accept`, the page the invitation link opens.
//!
//! The accept page is static (HTML, its script and style embedded in the binary,
//! nothing from elsewhere). Its script takes the token from the address and
//! posts it to `v1/invitations/accept`, then says the outcome in plain words with
//! the problem's `detail`. The token is the invitee's credential, so the page
//! keeps it out of everything but that POST: the server never writes it into the
//! page, `Referrer-Policy: no-referrer` keeps it out of any Referer, `no-store`
//! out of caches, and the Content-Security-Policy allows the one script and
//! style (by hash) and requests to this origin only.

use std::sync::LazyLock;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http::AppState;

const SCRIPT: &str = include_str!("pages/accept.js");
const STYLE: &str = include_str!("pages/accept.css");

/// The accept page and the policy that lets exactly its script and style run.
struct AcceptPage {
    html: String,
    policy: String,
}

fn csp_hash(source: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(source.as_bytes()))
    )
}

static ACCEPT: LazyLock<AcceptPage> = LazyLock::new(|| AcceptPage {
    html: format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>Accept your invitation</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Accept your invitation</h1>\n\
         <p>You were invited to join a team. Accept to become a member.</p>\n\
         <p><button id=\"accept\" type=\"button\">Accept the invitation</button></p>\n\
         <p id=\"outcome\" role=\"status\"></p>\n<p id=\"detail\"></p>\n\
         <noscript><p>This page needs JavaScript to accept the invitation.</p></noscript>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n"
    ),
    policy: format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    ),
});

/// `GET /` and `GET /accept`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/accept", get(accept))
}

/// Where to go from the root: the API's description, and the docs.
async fn index() -> Json<Value> {
    Json(json!({
        "service": "rollcall",
        "version": env!("CARGO_PKG_VERSION"),
        "openapi": "/openapi.json",
        "api": "/v1",
        "health": "/healthz",
        "ready": "/readyz",
        "accept_page": "/accept?token=…",
        "docs": "README.md and docs/http-api.md in Rollcall's source repository",
    }))
}

/// The page the invitation link opens. The query (the token) is not read here.
async fn accept() -> Response {
    let page = &*ACCEPT;
    let mut response = page.html.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(policy) = HeaderValue::from_str(&page.policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}
