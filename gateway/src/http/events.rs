//! The event stream endpoint (Server-Sent Events over the log).

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use rollcall_events::TenantId;

use crate::auth::Principal;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::problem::ApiError;

/// Server-Sent Events: `id` = position, `event` = the dotted type name, `data` =
/// the stored envelope; resumable with `Last-Event-ID` or `from_position`;
/// catches up, then stays live.
#[utoipa::path(get, path = "/v1/tenants/{t}/events", tag = "events",
    params(("t" = String, Path, format = Uuid), EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this position")),
    responses(
        (status = 200, description = "the tenant's events as Server-Sent Events", content_type = "text/event-stream"),
        (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn event_stream(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let access = state.admit(principal, tenant).await?;
    access.require_events()?;
    let from = crate::stream::start_position(&headers, q.from_position)
        .map_err(|e| ApiError::validation(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(crate::stream::sse_response(
        state.service().log().clone(),
        tenant,
        from,
        Duration::from_secs(15),
    ))
}
