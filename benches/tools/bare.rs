//! `rollcall-bare`: the baseline of the HTTP benchmark — a bare axum server, in
//! its own process, answering `POST /check` with a JSON body by a `HashMap`
//! lookup, on the same runtime shape as `rollcall serve`. What rollcall adds on
//! top of this (a JWT, admission, the scope rules, the index, the explanation)
//! is what the benchmark's ratio measures.
//!
//! Usage: `rollcall-bare 127.0.0.1:PORT`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// The same allocator as `rollcall`, so the ratio is not the allocator's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Deserialize)]
struct Check {
    user_id: String,
    permission: String,
}

#[derive(Serialize)]
struct Answer {
    allowed: bool,
    position: u64,
}

type Grants = Arc<HashMap<(String, String), bool>>;

async fn check(State(grants): State<Grants>, Json(body): Json<Check>) -> Json<Answer> {
    let allowed = grants
        .get(&(body.user_id, body.permission))
        .copied()
        .unwrap_or(false);
    Json(Answer {
        allowed,
        position: 1,
    })
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .expect("usage: rollcall-bare HOST:PORT");
    // As many entries as a large team has (user × permission).
    let grants: Grants = Arc::new(
        (0..100_000u32)
            .map(|i| {
                (
                    (format!("user-{i}"), "contacts.view".to_owned()),
                    i % 2 == 0,
                )
            })
            .collect(),
    );
    let app = Router::new()
        .route("/check", post(check))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .with_state(grants);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the baseline's address");
    axum::serve(listener, app).await.expect("serve");
}
