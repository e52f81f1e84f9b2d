//! The console: Settings → Team and the auditor's view, a static page served from
//! assets embedded in the binary (`gateway/console/`: HTML, one script, one style
//! sheet; no build step, nothing loaded from elsewhere). It signs in with a member
//! token and calls only the public HTTP API, so every rule it shows is the
//! server's.
//!
//! `GET /accept?token=…`, the page the invitation link opens, is the console's
//! accept view: the same page, whose script sees the path, takes the token from
//! the address, removes it from the address bar and posts it to
//! `v1/invitations/accept`. The token is the invitee's credential, so every
//! console answer carries `Referrer-Policy: no-referrer` (no Referer leaks it),
//! `Cache-Control: no-store`, and a Content-Security-Policy that runs only the
//! console's own script and style (no inline script, no `eval`) and lets it talk
//! to this origin only. The server never writes the query into the page.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::http::AppState;

const INDEX: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");
const ICON: &[u8] = include_bytes!("../../console/icon.svg");

/// The policy of every console answer: its own files, its own origin, nothing else.
pub const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `GET /console`, its assets, and `GET /accept`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(page))
        .route(
            "/console/",
            get(|| async { Redirect::permanent("../console") }),
        )
        .route("/console/console.js", get(script))
        .route("/console/console.css", get(style))
        .route("/console/icon.svg", get(icon))
        .route("/accept", get(page))
}

fn answer(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}

/// The console's page (also the accept page). The query is not read here.
async fn page() -> Response {
    answer(INDEX, "text/html; charset=utf-8")
}

async fn script() -> Response {
    answer(SCRIPT, "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    answer(STYLE, "text/css; charset=utf-8")
}

async fn icon() -> Response {
    answer(ICON, "image/svg+xml")
}
