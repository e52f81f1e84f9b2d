//! The tenant event stream over HTTP: catch-up then live, resume from an id,
//! other tenants filtered out, keep-alive comments, bad requests as problems.

mod consumer_support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use consumer_support::{TenantFixture, invitation_accepted, tenant_created, user_invited};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures::{Stream, StreamExt};
use http_body_util::BodyExt;
use pretty_assertions::assert_eq;
use rollcall_events::EventLog;
use rollcall_gateway::stream::{SseState, sse_handler};
use tower::ServiceExt;

fn router(log: Arc<dyn EventLog>, keep_alive: Duration) -> Router {
    let state = SseState { log, keep_alive };
    Router::new()
        .route("/v1/tenants/{t}/events", get(sse_handler))
        .with_state(state)
}

async fn open(
    router: Router,
    uri: &str,
    last_event_id: Option<&str>,
) -> impl Stream<Item = SseEvent> + Unpin {
    let mut request = Request::get(uri);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
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
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(router(log.clone(), Duration::from_secs(15)), &uri, None).await;

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
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(
        router(log.clone(), Duration::from_secs(15)),
        &uri,
        Some("3"),
    )
    .await;
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
    let uri = format!("/v1/tenants/{}/events?from_position=2", acme.tenant);
    let mut events = open(router(log.clone(), Duration::from_secs(15)), &uri, None).await;
    let got = take(&mut events, 2).await;
    assert_eq!(
        ids_and_types(&got),
        pairs(&[("3", "user.invited"), ("5", "invitation.accepted")])
    );

    // Past the head: nothing until the tenant's next event.
    let uri = format!("/v1/tenants/{}/events?from_position=9", acme.tenant);
    let mut events = open(router(log.clone(), Duration::from_secs(15)), &uri, None).await;
    assert_quiet(&mut events).await;
}

#[tokio::test]
async fn idle_streams_carry_keep_alive_comments() {
    let (_log_dir, log) = consumer_support::embedded_log();
    let acme = TenantFixture::new(0xac);
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let response = router(log, Duration::from_millis(50))
        .oneshot(Request::get(uri.as_str()).body(Body::empty()).unwrap())
        .await
        .unwrap();
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
        let mut request = Request::get(uri.as_str());
        if let Some(id) = last_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = router(log.clone(), Duration::from_secs(15))
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
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
async fn a_failing_log_ends_the_stream_after_what_it_could_send() {
    let (_log_dir, inner) = consumer_support::embedded_log();
    let (acme, _) = two_tenants(&*inner).await;
    let log: Arc<dyn EventLog> = Arc::new(consumer_support::flaky::FlakySubscribe::new(inner, 1));
    let uri = format!("/v1/tenants/{}/events", acme.tenant);
    let mut events = open(router(log.clone(), Duration::from_secs(15)), &uri, None).await;
    let caught_up = take(&mut events, 3).await;
    assert_eq!(caught_up.last().unwrap().id, "5");
    let end = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap();
    assert!(end.is_none(), "the stream should end, got {end:?}");

    // The client's reconnect resumes where it left off.
    let mut events = open(router(log, Duration::from_secs(15)), &uri, Some("5")).await;
    assert_quiet(&mut events).await;
}
