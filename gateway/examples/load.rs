//! A rough throughput figure for the gateway in-process (no sockets): commands
//! appended through the router on the embedded log, then checks, both sequential
//! and concurrent. `cargo run --release -p rollcall-gateway --example load [N]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rollcall_events::log::embedded::EmbeddedLog;
use rollcall_gateway::auth::Secrets;
use rollcall_gateway::http::{AppState, HttpConfig, router};
use rollcall_gateway::read::{ProjectionsRead, ReadModel};
use rollcall_gateway::service::CommandService;
use serde_json::{Value, json};
use tower::ServiceExt;

const OPERATOR: &str = "load-operator-token";

async fn call(app: &Router, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {OPERATOR}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default();
    let Ok(response) = app.clone().oneshot(request).await;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn rate(n: usize, took: Duration) -> String {
    format!(
        "{n} in {:.2}s = {:.0}/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let log = Arc::new(EmbeddedLog::open(&dir.path().join("log"))?);
    let projections =
        rollcall_projections::Projections::open(sled::open(dir.path().join("projections"))?)?;
    let projector = projections.spawn(log.clone());
    let read = Arc::new(ProjectionsRead::new(projections));
    let state = AppState::new(
        Arc::new(CommandService::new(log)),
        read.clone() as Arc<dyn ReadModel>,
        Secrets {
            operator_token: OPERATOR.into(),
            jwt_secret: "load-jwt-secret".into(),
        },
        HttpConfig::default(),
    );
    let app = router(state);

    let (_, created) = call(
        &app,
        "POST",
        "/v1/tenants",
        json!({"name": "Load", "catalog": "jtek",
               "owner": {"email": "owner@load.test", "display_name": "Owner"}}),
    )
    .await;
    let tenant = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    let owner = created["owner_id"].as_str().unwrap_or_default().to_owned();

    let started = Instant::now();
    let mut last = 0;
    for i in 0..n {
        let (status, body) = call(
            &app,
            "POST",
            &format!("/v1/tenants/{tenant}/invitations"),
            json!({"email": format!("u{i}@load.test"), "display_name": "U", "roles": ["user"]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        last = body["position"].as_u64().unwrap_or(0);
    }
    println!(
        "invitations, one tenant, sequential: {}",
        rate(n, started.elapsed())
    );
    read.wait_for(last, Duration::from_secs(60)).await;
    println!(
        "projections caught up {:.2}s after the first command",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut tenants = 0;
                for i in 0..n / 8 {
                    let (status, _) = call(
                        &app,
                        "POST",
                        "/v1/tenants",
                        json!({"name": "T", "catalog": "jtek",
                               "owner": {"email": format!("o{w}-{i}@load.test"), "display_name": "O"}}),
                    )
                    .await;
                    tenants += usize::from(status == StatusCode::CREATED);
                }
                tenants
            })
        })
        .collect();
    let mut made = 0;
    for t in tasks {
        made += t.await.unwrap_or(0);
    }
    println!(
        "tenant creations, 8 concurrent clients: {}",
        rate(made, started.elapsed())
    );

    let check = json!({"user_id": owner, "permission": "contacts.view"});
    let started = Instant::now();
    for _ in 0..n * 4 {
        let (status, _) = call(
            &app,
            "POST",
            &format!("/v1/tenants/{tenant}/check"),
            check.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    println!("checks, sequential: {}", rate(n * 4, started.elapsed()));
    let _ = projector.stop().await;
    Ok(())
}
