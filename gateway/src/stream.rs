//! `GET /v1/tenants/{t}/events`: one tenant's events as Server-Sent Events,
//! catching up from a position and then live — for as long as the caller may see
//! them.
//!
//! Each event is `id: <position>`, `event: <type name>` (`user.invited`),
//! `data: <the stored envelope as JSON>`. A client that reconnects sends
//! `Last-Event-ID` and resumes right after it; a fresh one may pass
//! `?from_position=`. The events come as the read side applied them
//! ([`Projections::follow_tenant`](rollcall_projections::Projections::follow_tenant)):
//! catch-up reads the log (the tenant's own stream for a fresh client, the global
//! log after `Last-Event-ID` for a reconnect), then the live part takes the
//! batches the read side applies — decoded once per process, not once per stream.
//! A stream that falls behind the read side catches up from the log again.
//!
//! The stream follows its member: before each event it sends, and at every
//! keep-alive tick, it admits the caller again. When the member was deactivated,
//! lost the right to read the stream, or the token expired — or the server is
//! shutting down — it sends one last `stream.closed` event with the reason and
//! ends. When the log fails mid-stream it says so the same way; the client's
//! reconnect resumes without loss.

use std::convert::Infallible;

use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use futures::{Stream, StreamExt};
use rollcall_events::{RawEnvelope, TenantId};
use rollcall_log::LogError;

use crate::auth::{Need, Principal};
use crate::http::AppState;
use crate::limits::StreamSlot;
use crate::problem::ApiError;

/// Header a reconnecting `EventSource` sends with the last id it received.
pub const LAST_EVENT_ID: &str = "last-event-id";
/// The type of the last event of a stream that the server ends.
pub const CLOSED: &str = "stream.closed";

/// Where a request starts: right after `Last-Event-ID` when the client
/// reconnects (it wins: it is what a reconnect carries), else at `from_position`,
/// else at the start.
pub fn start_position(headers: &HeaderMap, from_position: Option<u64>) -> Result<u64, ApiError> {
    match headers.get(LAST_EVENT_ID) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(|last| last.saturating_add(1))
            .ok_or_else(|| {
                ApiError::validation(
                    axum::http::StatusCode::BAD_REQUEST,
                    "the Last-Event-ID header is not an event position",
                )
            }),
        None => Ok(from_position.unwrap_or(1)),
    }
}

/// One stored event as an SSE event.
pub fn sse_event(raw: &RawEnvelope) -> Event {
    // Compact JSON has no line breaks, so it is one `data:` line.
    let data = String::from_utf8_lossy(&raw.to_json_bytes()).into_owned();
    Event::default()
        .id(raw.position.to_string())
        .event(raw.event_type.as_str())
        .data(data)
}

/// The last event of a stream the server ends, with the reason.
fn closed(reason: &str) -> Event {
    Event::default()
        .event(CLOSED)
        .data(serde_json::json!({ "reason": reason }).to_string())
}

fn log_failed(e: &LogError) -> Event {
    tracing::warn!(error = %e, "event stream ends: the log failed");
    closed("the event log is unavailable; reconnect with Last-Event-ID")
}

/// Why the caller may no longer see the stream, if so.
async fn still_admitted(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
) -> Option<&'static str> {
    if principal.expired() {
        return Some("the token expired");
    }
    match state.admit(principal.clone(), tenant, Need::Events).await {
        Ok(access) if access.require_events().is_ok() => None,
        Ok(_) => Some("the member no longer holds the right to read the stream"),
        Err(e) if e.status == axum::http::StatusCode::SERVICE_UNAVAILABLE => {
            Some("the tenant is unavailable; reconnect later")
        }
        Err(_) => Some("the member is no longer active"),
    }
}

/// Resolves once shutdown has begun.
async fn stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// The answer of an admitted request: the tenant's events from `from`, for as long
/// as `principal` may see them. `slot` holds the stream's place in the caps.
pub fn sse_response(
    state: AppState,
    principal: Principal,
    tenant: TenantId,
    from: u64,
    slot: StreamSlot,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + Send + 'static> {
    Sse::new(events(state, principal, tenant, from, slot))
}

fn events(
    state: AppState,
    principal: Principal,
    tenant: TenantId,
    from_position: u64,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    async_stream::stream! {
        let _slot = slot;
        let log = state.service().log().clone();
        let keep_alive = state.config().stream_keep_alive;
        let mut shutdown = state.shutdown_signal();
        let mut records = state.read().follow_tenant(log, tenant, from_position);
        let mut tick = tokio::time::interval(keep_alive);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let next = tokio::select! {
                next = records.next() => next,
                _ = tick.tick() => {
                    if let Some(reason) = still_admitted(&state, &principal, tenant).await {
                        yield Ok(closed(reason));
                        return;
                    }
                    yield Ok(Event::default().comment("keep-alive"));
                    continue;
                }
                () = stopping(&mut shutdown) => {
                    yield Ok(closed("the server is shutting down; reconnect with Last-Event-ID"));
                    return;
                }
            };
            match next {
                Some(Ok(record)) => {
                    // Judged on the read side that includes this event: the
                    // event that ends the member's access is not sent to them.
                    if let Some(reason) = still_admitted(&state, &principal, tenant).await {
                        yield Ok(closed(reason));
                        return;
                    }
                    yield Ok(sse_event(&record.raw));
                }
                Some(Err(e)) => {
                    yield Ok(log_failed(&e));
                    return;
                }
                None => {
                    yield Ok(closed("the server's read side stopped; reconnect with Last-Event-ID"));
                    return;
                }
            }
        }
    }
}
