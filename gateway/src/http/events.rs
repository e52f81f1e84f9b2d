//! The event stream endpoint (Server-Sent Events over the log): admission, the
//! caps on open streams, and where the stream starts. The stream itself, which
//! follows its member as it runs, is `crate::stream`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use rollcall_events::TenantId;

use crate::auth::{Need, Principal};
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::problem::ApiError;
use crate::stream::{sse_response, start_position};

/// Server-Sent Events: `id` = position, `event` = the dotted type name, `data` =
/// the stored envelope; resumable with `Last-Event-ID` or `from_position`;
/// catches up, then stays live while the caller may read it (the team
/// permission, a token whose scope reaches `events`). A stream the server ends
/// closes with a `stream.closed` event naming the reason.
#[utoipa::path(get, path = "/v1/tenants/{t}/events", tag = "events",
    params(("t" = String, Path, format = Uuid), EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this position")),
    responses(
        (status = 200, description = "the tenant's events as Server-Sent Events", content_type = "text/event-stream"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn event_stream(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<EventsQuery>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let from = start_position(&headers, q.from_position)?;
    let access = state.admit(principal, tenant, Need::Events).await?;
    access.require_events()?;
    let slot = state.streams().open(tenant, access.member)?;
    Ok(sse_response(
        state.clone(),
        access.principal,
        tenant,
        from,
        slot,
    ))
}
