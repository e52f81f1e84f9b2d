//! The answer at `GET /` that is not API: a pointer to the API's description, the
//! console and the docs. The console (and the accept page the invitation link
//! opens, which is one of its views) lives in [`super::console`].

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::http::AppState;

/// `GET /`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index))
}

/// Where to go from the root: the API's description, the console, and the docs.
async fn index() -> Json<Value> {
    Json(json!({
        "service": "rollcall",
        "version": env!("CARGO_PKG_VERSION"),
        "openapi": "/openapi.json",
        "api": "/v1",
        "console": "/console",
        "health": "/healthz",
        "ready": "/readyz",
        "accept_page": "/accept?token=…",
        "docs": "README.md and docs/http-api.md in Rollcall's source repository",
    }))
}
