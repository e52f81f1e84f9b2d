//! SIGTERM while event streams are open, on both logs: every stream gets a last
//! `stream.closed` event and ends, and the process exits on its own, well within
//! its shutdown grace (bounded: the test gives up and kills it at 30 s).

use std::time::Duration;

use reqwest::StatusCode;
use rollcall_tests::server::OPERATOR_TOKEN;

use crate::support::{Backend, Harness};

const STREAMS: usize = 3;
/// Longest the test waits for a stream's next bytes.
const READ_LIMIT: Duration = Duration::from_secs(20);
/// Longest the test waits for the process to exit after SIGTERM.
const EXIT_LIMIT: Duration = Duration::from_secs(30);

/// Reads `response` until its text contains `needle` or the stream ends; the text read.
async fn read_until(response: &mut reqwest::Response, text: &mut String, needle: &str) {
    while !text.contains(needle) {
        let chunk = tokio::time::timeout(READ_LIMIT, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no bytes within {READ_LIMIT:?}; so far: {text}"));
        match chunk {
            Ok(Some(bytes)) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(None) | Err(_) => return,
        }
    }
}

async fn sigterm_with_streams_open(backend: Backend, nats_down: bool) {
    let mut h = Harness::start(backend);
    let (t, _) = h.create_tenant("jtek", None).await;
    let url = format!("{}/v1/tenants/{t}/events", h.server.url());
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        let mut response = h
            .http
            .get(&url)
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        let mut text = String::new();
        read_until(&mut response, &mut text, "event: tenant.created").await;
        assert!(text.contains("event: tenant.created"), "{text}");
        streams.push((response, text));
    }

    if nats_down {
        tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").kill());
    }
    let stopped = tokio::task::block_in_place(|| h.server.terminate(EXIT_LIMIT));
    let (status, took) = stopped.expect("rollcall still running 30 s after SIGTERM");
    assert!(status.success(), "rollcall exited with {status}");
    for (mut response, mut text) in streams {
        read_until(&mut response, &mut text, "event: stream.closed").await;
        assert!(
            text.contains("event: stream.closed"),
            "no last event: {text}"
        );
        assert!(text.contains("shutting down"), "{text}");
    }
    eprintln!(
        "{backend:?} (NATS down: {nats_down}): SIGTERM with {STREAMS} streams open, exited after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_streams_open_embedded() {
    sigterm_with_streams_open(Backend::Embedded, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_streams_open_jetstream() {
    sigterm_with_streams_open(Backend::JetStream, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_streams_open_and_nats_down() {
    sigterm_with_streams_open(Backend::JetStream, true).await;
}
