//! Retrying a command: the first answer of an `Idempotency-Key` is its answer on
//! every gateway, whatever it was — an executed command, a command that changed
//! nothing, or an append whose outcome the log could not confirm.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_log::EventLog;
use serde_json::json;

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
    let (a, b) = two_gateways_embedded(dir.path()).await;
    a_retry_after_a_no_op_answers_the_no_op(a, b).await;
}

#[tokio::test]
async fn jetstream_a_retry_after_a_no_op_answers_the_no_op() {
    let nats = rollcall_tests::NatsServer::start();
    let (a, b) = two_gateways_on_jetstream(&nats).await;
    a_retry_after_a_no_op_answers_the_no_op(a, b).await;
}

/// A log that stored an append and lost its acknowledgement: the answer says the
/// outcome is unknown (never "nothing was written"), and the retry with the same
/// key finds the event instead of appending it again.
#[tokio::test]
async fn an_unconfirmed_append_answers_outcome_unknown_and_its_retry_appends_nothing() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/invitations", t.id);
    let body = json!({"email": "ann@acme.test", "display_name": "Ann", "roles": ["user"]});
    let key = [("idempotency-key", "invite-ann")];
    let before = h.head().await;

    h.log.lose_acks(true);
    let lost = h
        .send_with(
            Method::POST,
            &path,
            Some(OPERATOR),
            Some(body.clone()),
            &key,
        )
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "outcome-unknown");
    assert_eq!(lost.header("retry-after"), Some("1"));
    let detail = lost.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("retry with the same Idempotency-Key"),
        "{detail}"
    );
    assert!(!detail.contains("nothing was written"), "{detail}");
    assert_eq!(h.head().await, before + 1, "the event was in fact stored");
    h.log.lose_acks(false);

    let retried = h
        .send_retrying(Method::POST, &path, Some(OPERATOR), Some(body), &key)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(retried.position(), before + 1);
    assert_eq!(h.head().await, before + 1, "the retry appended nothing");
}

/// Once an append found the log down, commands on every tenant are refused at
/// once — without reaching the log — until a probe finds it back.
#[tokio::test]
async fn a_log_known_down_refuses_commands_without_a_round_trip() {
    let h = Harness::embedded();
    let (t1, t2) = (h.tenant(json!("jtek")).await, h.tenant(json!("jtek")).await);
    let plan = |t: &Tenant| format!("/v1/tenants/{}/plan", t.id);
    h.log.fail_everything(true);
    h.send(
        Method::PUT,
        &plan(&t1),
        Some(OPERATOR),
        Some(json!({"plan": "starter"})),
    )
    .await
    .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    let reached = h.log.appends();
    for _ in 0..16 {
        let refused = h
            .send(
                Method::PUT,
                &plan(&t2),
                Some(OPERATOR),
                Some(json!({"plan": "starter"})),
            )
            .await
            .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert_eq!(refused.header("retry-after"), Some("1"));
    }
    assert_eq!(
        h.log.appends(),
        reached,
        "a command went to a log known down"
    );

    // Reads and checks keep answering from the read side meanwhile.
    let owner = h.jwt(t2.id, t2.owner, Some("check"), false);
    let check = h
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/check", t2.id),
            Some(&owner),
            Some(json!({"user_id": t2.owner.to_string(), "permission": "contacts.view"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(check.body["allowed"], json!(true));

    h.log.fail_everything(false);
    h.send_retrying(
        Method::PUT,
        &plan(&t2),
        Some(OPERATOR),
        Some(json!({"plan": "starter"})),
        &[],
    )
    .await
    .expect(StatusCode::OK);
}

/// The same `Idempotency-Key` for a new tenant through two gateways at the same
/// instant, twenty times: each time one tenant, both answers naming it.
async fn two_gateways_creating_a_tenant_with_one_key_create_one(a: Harness, b: Harness) {
    for trial in 0..20 {
        let body = json!({"name": format!("Race {trial}"), "catalog": "jtek",
                          "owner": {"email": "o@acme.test", "display_name": "O"}});
        let key_value = format!("create-race-{trial}");
        let key = [("idempotency-key", key_value.as_str())];
        let (one, two) = tokio::join!(
            a.send_with(
                Method::POST,
                "/v1/tenants",
                Some(OPERATOR),
                Some(body.clone()),
                &key
            ),
            b.send_with(
                Method::POST,
                "/v1/tenants",
                Some(OPERATOR),
                Some(body.clone()),
                &key
            ),
        );
        let (one, two) = (
            one.expect(StatusCode::CREATED),
            two.expect(StatusCode::CREATED),
        );
        assert_eq!(
            one.body["tenant_id"], two.body["tenant_id"],
            "trial {trial}"
        );
        assert_eq!(one.body["position"], two.body["position"], "trial {trial}");
        let tenant: rollcall_events::TenantId = one.id("tenant_id").parse().expect("tenant id");
        let events = a.log.read_tenant(tenant, 1).await.expect("read");
        let events: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(events)
            .await
            .expect("events");
        assert_eq!(events.len(), 1, "trial {trial}: one tenant.created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_two_gateways_creating_a_tenant_with_one_key_create_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_gateways_embedded(dir.path()).await;
    two_gateways_creating_a_tenant_with_one_key_create_one(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_two_gateways_creating_a_tenant_with_one_key_create_one() {
    let nats = rollcall_tests::NatsServer::start();
    let (a, b) = two_gateways_on_jetstream(&nats).await;
    two_gateways_creating_a_tenant_with_one_key_create_one(a, b).await;
}
