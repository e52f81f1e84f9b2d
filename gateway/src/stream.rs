//! `GET /v1/tenants/{t}/events`: one tenant's events as Server-Sent Events,
//! catching up from a position and then live.
//!
//! Each event is `id: <position>`, `event: <type name>` (`user.invited`),
//! `data: <the stored envelope as JSON>`. A client that reconnects sends
//! `Last-Event-ID` and resumes right after it; a fresh one may pass
//! `?from_position=`. Catch-up reads the tenant's own stream (cheap on JetStream,
//! where it is one subject), then the live part follows the global log from the
//! head seen before catch-up, filtered to the tenant and skipping what catch-up
//! already sent. When the log fails mid-stream the stream says so in a comment and
//! ends; the client's reconnect resumes it without loss.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use rollcall_events::{EventLog, LogError, RawEnvelope, TenantId};
use serde::Deserialize;

/// Header a reconnecting `EventSource` sends with the last id it received.
pub const LAST_EVENT_ID: &str = "last-event-id";

/// The tenant's events from `from_position` on (positions below 1 mean "from
/// the start"), as SSE events; never ends unless the log fails.
pub fn tenant_events(
    log: Arc<dyn EventLog>,
    tenant: TenantId,
    from_position: u64,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    async_stream::stream! {
        let from = from_position.max(1);
        let head = match log.head().await {
            Ok(head) => head,
            Err(e) => {
                yield Ok(unavailable(&e));
                return;
            }
        };
        // Position of the last event sent; later ones only from here on.
        let mut last = from - 1;
        if from <= head {
            let mut catch_up = match log.read_tenant(tenant, 1).await {
                Ok(events) => events,
                Err(e) => {
                    yield Ok(unavailable(&e));
                    return;
                }
            };
            while let Some(next) = catch_up.next().await {
                match next {
                    Ok(raw) if raw.position > last => {
                        last = raw.position;
                        yield Ok(sse_event(&raw));
                    }
                    Ok(_) => {}
                    // Not an event: nothing to send, the stream goes on.
                    Err(LogError::Undecodable { .. }) => {}
                    Err(e) => {
                        yield Ok(unavailable(&e));
                        return;
                    }
                }
            }
        }
        let mut live = match log.subscribe(head.max(last) + 1).await {
            Ok(events) => events,
            Err(e) => {
                yield Ok(unavailable(&e));
                return;
            }
        };
        while let Some(next) = live.next().await {
            match next {
                Ok(raw) if raw.tenant_id == tenant && raw.position > last => {
                    last = raw.position;
                    yield Ok(sse_event(&raw));
                }
                Ok(_) => {}
                // Not an event: nothing to send, the stream goes on.
                Err(LogError::Undecodable { .. }) => {}
                Err(e) => {
                    yield Ok(unavailable(&e));
                    return;
                }
            }
        }
    }
}

/// One stored event as an SSE event.
pub fn sse_event(raw: &RawEnvelope) -> Event {
    // Compact JSON has no line breaks, so it is one `data:` line.
    let data = String::from_utf8(raw.to_json_bytes()).unwrap_or_default();
    Event::default()
        .id(raw.position.to_string())
        .event(raw.event_type.as_str())
        .data(data)
}

fn unavailable(e: &LogError) -> Event {
    tracing::warn!(error = %e, "event stream ends: the log failed");
    Event::default().comment("the event log is unavailable; reconnect with Last-Event-ID")
}

/// What the handler needs. A router with a bigger state mounts the handler by
/// implementing `FromRef<ItsState> for SseState`.
#[derive(Clone)]
pub struct SseState {
    pub log: Arc<dyn EventLog>,
    /// Interval of the keep-alive comments that hold idle connections open
    /// through proxies.
    pub keep_alive: Duration,
}

impl SseState {
    pub fn new(log: Arc<dyn EventLog>) -> SseState {
        SseState {
            log,
            keep_alive: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct EventsQuery {
    pub from_position: Option<u64>,
}

/// A request the stream cannot start from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamRequestError {
    #[error("the tenant id in the path is not a valid id")]
    InvalidTenant,
    #[error("the query is not valid: {reason}")]
    InvalidQuery { reason: String },
    #[error("the Last-Event-ID header is not an event position")]
    InvalidLastEventId,
}

impl IntoResponse for StreamRequestError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "type": "https://rollcall.dev/problems/validation",
            "title": "The request is not valid",
            "status": 400,
            "detail": self.to_string(),
        });
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(body),
        )
            .into_response()
    }
}

/// Where a request starts: right after `Last-Event-ID` when the client
/// reconnects (it wins: it is what a reconnect carries), else at `from_position`,
/// else at the start.
pub fn start_position(
    headers: &HeaderMap,
    from_position: Option<u64>,
) -> Result<u64, StreamRequestError> {
    match headers.get(LAST_EVENT_ID) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|last| last.saturating_add(1))
            .ok_or(StreamRequestError::InvalidLastEventId),
        None => Ok(from_position.unwrap_or(1)),
    }
}

/// The SSE answer for `tenant` from `from`, with keep-alive comments: what a
/// router's own handler returns once it has authorised the request.
pub fn sse_response(
    log: Arc<dyn EventLog>,
    tenant: TenantId,
    from: u64,
    keep_alive: Duration,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static> {
    let keep_alive = KeepAlive::new().interval(keep_alive).text("keep-alive");
    Sse::new(tenant_events(log, tenant, from)).keep_alive(keep_alive)
}

/// `GET /v1/tenants/{t}/events?from_position=N` (authorisation is the router's).
pub async fn sse_handler(
    State(state): State<SseState>,
    tenant: Result<Path<TenantId>, PathRejection>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, StreamRequestError> {
    let Path(tenant) = tenant.map_err(|_| StreamRequestError::InvalidTenant)?;
    let Query(query) = query.map_err(|e| StreamRequestError::InvalidQuery {
        reason: e.body_text(),
    })?;
    let from = start_position(&headers, query.from_position)?;
    Ok(sse_response(
        state.log.clone(),
        tenant,
        from,
        state.keep_alive,
    ))
}
