//! Retrying a command: the first answer of an `Idempotency-Key` is its answer on
//! every gateway, whatever it was — an executed command, a command that changed
//! nothing, or an append whose outcome the log could not confirm.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_events::EventLog;
use rollcall_events::log::embedded::EmbeddedLog;
use rollcall_events::log::jetstream::{JetStreamConfig, JetStreamLog};
use serde_json::json;

/// Two gateways over one log, each with its own read side.
async fn two_gateways(log: impl Fn() -> Arc<dyn EventLog>) -> (Harness, Harness) {
    let dir = || tempfile::tempdir().expect("temp dir");
    (Harness::over(log(), dir()), Harness::over(log(), dir()))
}

async fn jetstream(nats: &rollcall_tests::NatsServer) -> Arc<dyn EventLog> {
    let log = JetStreamLog::connect(JetStreamConfig {
        url: nats.url(),
        ..JetStreamConfig::default()
    })
    .await
    .expect("JetStream log");
    Arc::new(log)
}

/// A keyed "inherit" that changes nothing, then a "deny", then the first command
/// retried on both gateways: the retry answers "unchanged" again and the deny stays.
async fn a_retry_after_a_no_op_answers_the_no_op(a: Harness, b: Harness) {
    let t = a.tenant(json!("jtek")).await;
    let ann = a.member(t.id, "ann@acme.test", &["user"]).await;
    let path = format!("/v1/tenants/{}/users/{ann}/permissions/contacts.view", t.id);
    let inherit = json!({"state": "inherit"});
    let key = [("idempotency-key", "inherit-contacts-view")];

    let first = a
        .send_with(
            Method::PUT,
            &path,
            Some(OPERATOR),
            Some(inherit.clone()),
            &key,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(first.body["unchanged"], json!(true), "{:#?}", first.body);
    let denied = a
        .send(
            Method::PUT,
            &path,
            Some(OPERATOR),
            Some(json!({"state": "deny"})),
        )
        .await
        .expect(StatusCode::OK);
    assert!(denied.position() > first.position());

    for gateway in [&a, &b] {
        let again = gateway
            .send_with(
                Method::PUT,
                &path,
                Some(OPERATOR),
                Some(inherit.clone()),
                &key,
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        let member = gateway
            .get(
                &format!(
                    "/v1/tenants/{}/users/{ann}?min_position={}",
                    t.id,
                    denied.position()
                ),
                OPERATOR,
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(member.body["overrides"]["contacts.view"], json!("deny"));
    }
    // The same key with another request is refused, as for any other key.
    a.send_with(
        Method::PUT,
        &path,
        Some(OPERATOR),
        Some(json!({"state": "allow"})),
        &key,
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
    // Unkeyed, a no-op records nothing.
    let head = a.head().await;
    a.send(
        Method::PUT,
        &path,
        Some(OPERATOR),
        Some(json!({"state": "deny"})),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(a.head().await, head);
}

#[tokio::test]
async fn embedded_a_retry_after_a_no_op_answers_the_no_op() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = EmbeddedLog::open(dir.path()).expect("embedded log");
    let (a, b) = two_gateways(|| Arc::new(log.clone())).await;
    a_retry_after_a_no_op_answers_the_no_op(a, b).await;
}

#[tokio::test]
async fn jetstream_a_retry_after_a_no_op_answers_the_no_op() {
    let nats = rollcall_tests::NatsServer::start();
    let (first, second) = (jetstream(&nats).await, jetstream(&nats).await);
    let logs = std::sync::Mutex::new(vec![second, first]);
    let (a, b) = two_gateways(|| logs.lock().expect("logs").pop().expect("a log")).await;
    a_retry_after_a_no_op_answers_the_no_op(a, b).await;
}
