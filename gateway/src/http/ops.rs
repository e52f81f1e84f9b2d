//! Operational endpoints: liveness, readiness, metrics, the OpenAPI document.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::http::AppState;
use crate::http::dto::{Health, Problem};
use crate::problem::ApiError;

/// Longest `/healthz` waits for the log's head. Liveness must not hang on the log:
/// past this the answer says `head: null` (the log did not answer) and stays 200.
const HEALTH_HEAD_WAIT: Duration = Duration::from_millis(500);

/// Alive; with the read side's position and, when the log answers quickly, its
/// head (the same head `/readyz` reports).
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let head = tokio::time::timeout(HEALTH_HEAD_WAIT, state.service().log().head())
        .await
        .ok()
        .and_then(Result::ok);
    Json(Health {
        status: "ok".to_owned(),
        position: state.read().position(),
        head,
    })
}

/// Ready once the read side has caught up with the log head it saw at start.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let head = state
        .service()
        .log()
        .head()
        .await
        .map_err(|e| crate::problem::log_unavailable(&e.to_string()))?;
    let position = state.read().position();
    metrics::gauge!("rollcall_projection_lag").set(head.saturating_sub(position) as f64);
    if state.read().caught_up() {
        Ok(Json(Health {
            status: "ready".to_owned(),
            position,
            head: Some(head),
        }))
    } else {
        Err(ApiError::unavailable(format!(
            "the read side is at position {position} of {head}"
        )))
    }
}

/// Prometheus metrics. They count per tenant, so they are the operator's: the
/// operator token is required unless the server runs with `--metrics-public`.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !state.config().metrics_public {
        let principal = Principal::from_headers(
            &headers,
            state.secrets(),
            state.token_policy(),
            state.verified_tokens(),
        )?;
        if principal != Principal::Operator {
            return Err(ApiError::forbidden("the metrics are the operator's"));
        }
    }
    if let Ok(head) = state.service().log().head().await {
        let lag = head.saturating_sub(state.read().position());
        metrics::gauge!("rollcall_projection_lag").set(lag as f64);
    }
    metrics::gauge!("rollcall_projection_quarantined")
        .set(state.read().quarantined().map_or(0, |q| q.len()) as f64);
    let mut response = (StatusCode::OK, state.0.metrics.render()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "This document", body = Object)))]
pub async fn openapi() -> Json<&'static serde_json::Value> {
    Json(crate::http::openapi::document())
}
