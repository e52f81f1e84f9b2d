//! The tenant event stream over HTTP, through the router the server mounts:
//! catch-up then live, resume from an id, other tenants filtered out, keep-alive
//! comments, bad requests as problems — and a stream that follows its member:
//! deactivation, lost rights, token expiry and shutdown end it with a
//! `stream.closed` event, and open streams are capped per member and tenant.

mod common;
mod consumer_support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{Harness, OPERATOR};
use consumer_support::{TenantFixture, invitation_accepted, tenant_created, user_invited};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use pretty_assertions::assert_eq;
use rollcall_gateway::http::HttpConfig;
use rollcall_log::EventLog;
use serde_json::json;
use tower::ServiceExt;

/// The server's router over `log`, streams re-admitted every `keep_alive`.
fn harness(log: Arc<dyn EventLog>, keep_alive: Duration) -> Harness {
    harness_with(
        log,
        HttpConfig {
            stream_keep_alive: keep_alive,
            ..config()
        },
    )
}

fn config() -> HttpConfig {
    HttpConfig {
        query_wait: Duration::from_millis(1500),
        ..HttpConfig::default()
    }
}

fn harness_with(log: Arc<dyn EventLog>, config: HttpConfig) -> Harness {
    Harness::with_config(log, tempfile::tempdir().unwrap(), config)
}

async fn request(
    h: &Harness,
    uri: &str,
    last_event_id: Option<&str>,
    token: &str,
) -> axum::response::Response {
    let mut request = Request::get(uri).header("authorization", format!("Bearer {token}"));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    h.app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn open_as(
    h: &Harness,
    uri: &str,
    last_event_id: Option<&str>,
    token: &str,
) -> impl Stream<Item = SseEvent> + Unpin + use<> {
    let response = request(h, uri, last_event_id, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    response
        .into_body()
        .into_data_stream()
        .eventsource()
        .map(|e| e.unwrap())
}

async fn open(
    h: &Harness,
    uri: &str,
    last_event_id: Option<&str>,
) -> impl Stream<Item = SseEvent> + Unpin + use<> {
    open_as(h, uri, last_event_id, OPERATOR).await
}

/// The next `n` events, failing the test if they do not come promptly.
async fn take(events: &mut (impl Stream<Item = SseEvent> + Unpin), n: usize) -> Vec<SseEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Some(e)) => got.push(e),
            Ok(None) => panic!("the stream ended after {got:?}"),
            Err(_) => panic!("no event within 5 s after {got:?}"),
        }
    }
    got
}

/// The stream's last event: `stream.closed` with its reason, then the end.
async fn closes(events: &mut (impl Stream<Item = SseEvent> + Unpin)) -> String {
    let last = take(events, 1).await.remove(0);
    assert_eq!(last.event, "stream.closed", "{last:?}");
    let end = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("the stream ends after stream.closed");
    assert!(end.is_none(), "more after stream.closed: {end:?}");
    let data: serde_json::Value = serde_json::from_str(&last.data).unwrap();
    data["reason"].as_str().unwrap().to_owned()
}

/// Nothing more arrives for a while.
async fn assert_quiet(events: &mut (impl Stream<Item = SseEvent> + Unpin)) {
    if let Ok(next) = tokio::time::timeout(Duration::from_millis(200), events.next()).await {
        panic!("unexpected event {next:?}");
    }
}

fn ids_and_types(events: &[SseEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e.id.clone(), e.event.clone()))
        .collect()
}

/// Two tenants' events, interleaved: acme at 1, 3, 5 and globex at 2, 4.
async fn two_tenants(log: &dyn EventLog) -> (TenantFixture, TenantFixture) {
    let mut acme = TenantFixture::new(0xac);
    let mut globex = TenantFixture::new(0x61);
    acme.append(log, tenant_created("Acme", "jtek")).await;
    globex
        .append(log, tenant_created("Globex", "jetbuilt"))
        .await;
    acme.append(log, user_invited(11, 101, "ada@example.com", "Ada", "n1"))
        .await;
    globex
        .append(log, user_invited(21, 201, "gus@example.com", "Gus", "n2"))
        .await;
    acme.append(log, invitation_accepted(11, 101)).await;
    (acme, globex)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn catches_up_then_goes_live_with_only_the_tenants_events() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let (mut acme, mut globex) = two_tenants(&*log).await;
    let h = harness(log.clone(), Duration::from_secs(15));
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(&h, &uri, None).await;

    let caught_up = take(&mut events, 3).await;
    assert_eq!(
        ids_and_types(&caught_up),
        pairs(&[
            ("1", "tenant.created"),
            ("3", "user.invited"),
            ("5", "invitation.accepted")
        ])
    );
    // The data is the stored envelope, as the log holds it.
    let invited: serde_json::Value = serde_json::from_str(&caught_up[1].data).unwrap();
    insta::assert_json_snapshot!("user_invited_data", invited);
    assert_quiet(&mut events).await;

    globex
        .append(&*log, user_invited(22, 202, "gil@example.com", "Gil", "n3"))
        .await;
    acme.append(&*log, user_invited(12, 102, "bob@example.com", "Bob", "n4"))
        .await;
    let live = take(&mut events, 1).await;
    assert_eq!(ids_and_types(&live), pairs(&[("7", "user.invited")]));
    assert_quiet(&mut events).await;
}

#[tokio::test]
async fn resumes_after_the_last_event_id() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let (acme, _) = two_tenants(&*log).await;
    let h = harness(log, Duration::from_secs(15));
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(&h, &uri, Some("3")).await;
    let resumed = take(&mut events, 1).await;
    assert_eq!(
        ids_and_types(&resumed),
        pairs(&[("5", "invitation.accepted")])
    );
    assert_quiet(&mut events).await;
}

#[tokio::test]
async fn starts_at_from_position() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let (acme, _) = two_tenants(&*log).await;
    let h = harness(log, Duration::from_secs(15));
    let uri = format!("/v1/tenants/{}/events?from_position=2", acme.tenant);
    let mut events = open(&h, &uri, None).await;
    let got = take(&mut events, 2).await;
    assert_eq!(
        ids_and_types(&got),
        pairs(&[("3", "user.invited"), ("5", "invitation.accepted")])
    );

    // Past the head: nothing until the tenant's next event.
    let uri = format!("/v1/tenants/{}/events?from_position=9", acme.tenant);
    let mut events = open(&h, &uri, None).await;
    assert_quiet(&mut events).await;
}

#[tokio::test]
async fn idle_streams_carry_keep_alive_comments() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let acme = TenantFixture::new(0xac);
    let h = harness(log, Duration::from_millis(50));
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let response = request(&h, &uri, None, OPERATOR).await;
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert_eq!(text, ": keep-alive\n\n");
}

#[tokio::test]
async fn bad_requests_are_problems() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let acme = TenantFixture::new(0xac);
    let h = harness(log, Duration::from_secs(15));
    let cases = [
        ("/v1/tenants/not-a-uuid/events".to_owned(), None),
        (
            format!("/v1/tenants/{}/events?from_position=x", acme.tenant),
            None,
        ),
        (format!("/v1/tenants/{}/events", acme.tenant), Some("abc")),
    ];
    let mut answers = Vec::new();
    for (uri, last_id) in cases {
        let response = request(&h, &uri, last_id, OPERATOR).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        answers.push(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
    }
    insta::assert_json_snapshot!("bad_requests", answers);
}

#[tokio::test]
async fn a_log_that_fails_during_catch_up_ends_the_stream_and_a_reconnect_resumes() {
    let (_log_dir, inner) = consumer_support::embedded_log();
    let (acme, _) = two_tenants(&*inner).await;
    let flaky = Arc::new(rollcall_tests::FlakySubscribe::new(inner, 0));
    let h = harness(flaky.clone(), Duration::from_secs(15));
    h.read.wait_for(5, Duration::from_secs(5)).await.unwrap();
    // The read side is caught up; the stream's own read of the log fails.
    flaky.read_failures.store(1, Ordering::SeqCst);
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(&h, &uri, None).await;
    let reason = closes(&mut events).await;
    assert!(reason.contains("reconnect with Last-Event-ID"), "{reason}");

    // The client's reconnect is served in full.
    let mut events = open(&h, &uri, None).await;
    let caught_up = take(&mut events, 3).await;
    assert_eq!(caught_up.last().unwrap().id, "5");
    assert_quiet(&mut events).await;
}

#[tokio::test]
async fn deactivation_ends_the_members_stream_before_anything_else_is_sent() {
    let h = harness(
        Arc::new(rollcall_log::EmbeddedLog::open(&tempfile::tempdir().unwrap().keep()).unwrap()),
        Duration::from_secs(15),
    );
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["admin"]).await;
    let token = h.jwt(t.id, ann, Some("events"), false);
    let uri = format!("/v1/tenants/{}/events", t.id);
    let mut events = open_as(&h, &uri, None, &token).await;
    let before = take(&mut events, 3).await;
    assert_eq!(before.last().unwrap().event, "invitation.accepted");
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/users/{ann}/deactivate", t.id),
        Some(OPERATOR),
        None,
    )
    .await
    .expect(StatusCode::OK);
    // A new hire after the deactivation would otherwise reach the stream.
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations", t.id),
        Some(OPERATOR),
        Some(json!({"email": "new@acme.test", "display_name": "New Hire", "roles": ["user"]})),
    )
    .await
    .expect(StatusCode::CREATED);
    let reason = closes(&mut events).await;
    assert_eq!(reason, "the member is no longer active");
}

#[tokio::test]
async fn losing_the_team_permission_or_the_token_ends_the_stream() {
    let h = harness(
        Arc::new(rollcall_log::EmbeddedLog::open(&tempfile::tempdir().unwrap().keep()).unwrap()),
        Duration::from_millis(200),
    );
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["admin"]).await;
    let uri = format!("/v1/tenants/{}/events", t.id);
    let mut events = open_as(&h, &uri, None, &h.jwt(t.id, ann, None, false)).await;
    take(&mut events, 3).await;
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{}/users/{ann}/roles", t.id),
        Some(OPERATOR),
        Some(json!({"roles": ["user"]})),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(
        closes(&mut events).await,
        "the member no longer holds the right to read the stream"
    );

    // A token that expires while the stream is open ends it at the first tick
    // past its expiry (and the few seconds of clock skew tolerated).
    let short = h.jwt_for(t.id, t.owner, Some("events"), Duration::from_secs(1));
    let mut events = open_as(&h, &uri, None, &short).await;
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(next) = events.next().await {
            if next.event == "stream.closed" {
                return Some(next);
            }
        }
        None
    })
    .await
    .expect("the stream closes within 15 s")
    .expect("a stream.closed event");
    let data: serde_json::Value = serde_json::from_str(&closed.data).unwrap();
    assert_eq!(data["reason"], "the token expired");
}

#[tokio::test]
async fn streams_are_capped_per_member_and_per_tenant_and_freed_on_close() {
    let h = harness_with(
        Arc::new(rollcall_log::EmbeddedLog::open(&tempfile::tempdir().unwrap().keep()).unwrap()),
        HttpConfig {
            streams_per_member: 1,
            streams_per_tenant: 2,
            ..config()
        },
    );
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["admin"]).await;
    let uri = format!("/v1/tenants/{}/events", t.id);
    let owner = h.jwt(t.id, t.owner, None, false);
    let first = open_as(&h, &uri, None, &owner).await;
    let refused = request(&h, &uri, None, &owner).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let _second = open_as(&h, &uri, None, &h.jwt(t.id, ann, None, false)).await;
    // The tenant's cap: the operator too.
    assert_eq!(
        request(&h, &uri, None, OPERATOR).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _again = open_as(&h, &uri, None, &owner).await;
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_a_last_event() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let (acme, _) = two_tenants(&*log).await;
    let h = harness(log, Duration::from_secs(15));
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(&h, &uri, None).await;
    take(&mut events, 3).await;
    h.state.begin_shutdown();
    let reason = closes(&mut events).await;
    assert!(reason.contains("shutting down"), "{reason}");
}
