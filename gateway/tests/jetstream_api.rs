//! The whole API path over the JetStream log (a private nats-server): commands,
//! idempotent retry, and reading the writes back through the projections.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn invite_accept_and_read_back_over_jetstream() {
    let nats = rollcall_tests::NatsServer::start();
    let log = nats.connect_log().await;
    let h = Harness::over(Arc::new(log), tempfile::tempdir().expect("temp dir"));
    let t = h.tenant(json!("jobtracker")).await;

    let path = format!("/v1/tenants/{}/invitations", t.id);
    let body = json!({"email": "ext@acme.test", "display_name": "Ext", "kind": "external"});
    let key = [("idempotency-key", "invite-ext")];
    let first = h
        .send_with(
            Method::POST,
            &path,
            Some(OPERATOR),
            Some(body.clone()),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    let again = h
        .send_with(Method::POST, &path, Some(OPERATOR), Some(body), &key)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.body, first.body);

    let user = h.member(t.id, "ann@acme.test", &["administrator"]).await;
    let list = h
        .get(
            &format!("/v1/tenants/{}/users?min_position={}", t.id, h.head().await),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    let users = list.body["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 3);
    assert!(
        users
            .iter()
            .any(|u| u["user_id"] == json!(user.to_string()) && u["status"] == json!("active"))
    );
    assert!(
        users
            .iter()
            .any(|u| u["kind"] == json!("external") && u["status"] == json!("invited"))
    );
}

#[tokio::test]
async fn a_min_position_past_the_head_is_refused_at_once_over_jetstream() {
    let nats = rollcall_tests::NatsServer::start();
    let h = Harness::over(
        jetstream(&nats).await,
        tempfile::tempdir().expect("temp dir"),
    );
    min_position_past_the_head_is_refused(&h).await;
}
