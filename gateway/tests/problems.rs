//! Bad input and failing dependencies always answer problem+json: never a 500 for
//! the client's mistake, never axum's plain text, never a partial write.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let request = Request::builder()
        .method(Method::PUT)
        .uri(format!("/v1/tenants/{}/plan", t.id))
        .header("authorization", format!("Bearer {OPERATOR}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"plan\": "))
        .unwrap();
    h.raw(request)
        .await
        .problem(StatusCode::BAD_REQUEST, "validation");
}

#[tokio::test]
async fn an_unknown_field_is_a_422_naming_it() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let a = h
        .send(
            Method::PUT,
            &format!("/v1/tenants/{}/plan", t.id),
            Some(OPERATOR),
            Some(json!({"plan": "starter", "plna": "typo"})),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation");
    insta::assert_json_snapshot!("unknown_field_problem", a.body);
}

#[tokio::test]
async fn a_wrong_content_type_is_415_and_a_huge_body_413() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let request = Request::builder()
        .method(Method::PUT)
        .uri(format!("/v1/tenants/{}/plan", t.id))
        .header("authorization", format!("Bearer {OPERATOR}"))
        .header("content-type", "text/plain")
        .body(Body::from("{\"plan\": \"starter\"}"))
        .unwrap();
    h.raw(request)
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type");

    let huge = "x".repeat(300 * 1024);
    let head = h.head().await;
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations", t.id),
        Some(OPERATOR),
        Some(json!({"email": "a@b.test", "display_name": huge})),
    )
    .await
    .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert_eq!(h.head().await, head, "nothing was written");
}

#[tokio::test]
async fn bad_ids_and_instants_in_paths_and_queries_are_400() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    h.get("/v1/tenants/not-a-uuid/users", OPERATOR)
        .await
        .problem(StatusCode::BAD_REQUEST, "validation");
    h.get(&format!("/v1/tenants/{}/users/123", t.id), OPERATOR)
        .await
        .problem(StatusCode::BAD_REQUEST, "validation");
    h.get(
        &format!("/v1/tenants/{}/audit?from=yesterday", t.id),
        OPERATOR,
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "validation");
    h.get(&format!("/v1/tenants/{}/audit?user=nobody", t.id), OPERATOR)
        .await
        .problem(StatusCode::BAD_REQUEST, "validation");
    h.get(
        &format!("/v1/tenants/{}/users?status=sleeping", t.id),
        OPERATOR,
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "validation");
}

#[tokio::test]
async fn unknown_permissions_roles_and_catalogs_are_named_in_422s() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let a = h
        .send(
            Method::PUT,
            &format!(
                "/v1/tenants/{}/users/{}/permissions/contacts.fly",
                t.id, t.owner
            ),
            Some(OPERATOR),
            Some(json!({"state": "allow"})),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown-permission");
    assert_eq!(a.body["permission"], json!("contacts.fly"));
    h.send(
        Method::POST,
        "/v1/tenants",
        Some(OPERATOR),
        Some(json!({"name": "X", "catalog": "nosuch",
                    "owner": {"email": "x@x.test", "display_name": "X"}})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation");
    h.send(
        Method::POST,
        "/v1/tenants",
        Some(OPERATOR),
        Some(json!({"name": "X", "catalog": {"key": "x"},
                    "owner": {"email": "x@x.test", "display_name": "X"}})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation");
}

#[tokio::test]
async fn the_last_admin_cannot_be_deactivated() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let a = h
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/users/{}/deactivate", t.id, t.owner),
            Some(OPERATOR),
            Some(json!({"reason": "testing"})),
        )
        .await
        .problem(StatusCode::CONFLICT, "last-admin");
    insta::assert_json_snapshot!("last_admin_problem", a.body, {
        ".detail" => "[detail names the admins]",
        ".admins[]" => "[user id]",
    });
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let h = Harness::embedded();
    h.get("/v1/nowhere", OPERATOR)
        .await
        .problem(StatusCode::NOT_FOUND, "not-found");
    h.send(Method::DELETE, "/v1/tenants", Some(OPERATOR), None)
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
}

#[tokio::test]
async fn an_unavailable_log_is_503_with_retry_after_and_writes_nothing() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let head = h.head().await;
    h.log.fail_appends(true);
    let a = h
        .send(
            Method::PUT,
            &format!("/v1/tenants/{}/plan", t.id),
            Some(OPERATOR),
            Some(json!({"plan": "starter"})),
        )
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(a.header("retry-after"), Some("1"));
    h.log.fail_everything(true);
    let owner = h.jwt(t.id, t.owner, None, false);
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{}/plan", t.id),
        Some(&owner),
        Some(json!({"plan": "starter"})),
    )
    .await
    .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    h.get("/readyz", OPERATOR)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    h.log.fail_everything(false);
    h.log.fail_appends(false);
    assert_eq!(h.head().await, head, "nothing was written");
    h.send_retrying(
        Method::PUT,
        &format!("/v1/tenants/{}/plan", t.id),
        Some(OPERATOR),
        Some(json!({"plan": "starter"})),
        &[],
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_retried_command_returns_the_first_answer_and_appends_once() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/invitations", t.id);
    let body = json!({"email": "ann@acme.test", "display_name": "Ann", "roles": ["user"]});
    let key = [("idempotency-key", "invite-ann-1")];
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
    let head = h.head().await;
    let again = h
        .send_with(Method::POST, &path, Some(OPERATOR), Some(body), &key)
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(h.head().await, head, "the retry appended nothing");

    let other = json!({"email": "bo@acme.test", "display_name": "Bo", "roles": ["user"]});
    h.send_with(Method::POST, &path, Some(OPERATOR), Some(other), &key)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused");
}

#[tokio::test]
async fn a_retried_tenant_creation_creates_one_tenant() {
    let h = Harness::embedded();
    let body = json!({"name": "Acme", "catalog": "jtek",
                      "owner": {"email": "o@acme.test", "display_name": "O"}});
    let key = [("idempotency-key", "create-acme")];
    let first = h
        .send_with(
            Method::POST,
            "/v1/tenants",
            Some(OPERATOR),
            Some(body.clone()),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    let again = h
        .send_with(
            Method::POST,
            "/v1/tenants",
            Some(OPERATOR),
            Some(body),
            &key,
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(h.head().await, 1);
}

#[tokio::test]
async fn queries_read_their_writes_refuse_a_position_ahead_or_answer_503() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let invited = h
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/invitations", t.id),
            Some(OPERATOR),
            Some(json!({"email": "ann@acme.test", "display_name": "Ann", "roles": ["user"]})),
        )
        .await
        .expect(StatusCode::CREATED);
    let list = h
        .get(
            &format!(
                "/v1/tenants/{}/users?min_position={}",
                t.id,
                invited.position()
            ),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    assert!(
        list.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user_id"] == json!(invited.id("user_id")))
    );
    let future = format!(
        "/v1/tenants/{}/users?min_position={}",
        t.id,
        invited.position() + 100
    );
    // Past the log's head: no such event yet, refused at once.
    h.get(&future, OPERATOR)
        .await
        .problem(StatusCode::CONFLICT, "position-ahead");
    // With the log out of reach the gateway cannot tell: it waits for its read
    // side, then answers 503.
    h.log.fail_everything(true);
    let unknown = h
        .get(&future, OPERATOR)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert!(unknown.header("retry-after").is_some());
    h.log.fail_everything(false);
}

#[tokio::test]
async fn a_tenant_whose_catalog_does_not_compile_answers_503_until_the_operator_repairs_it() {
    use rollcall_aggregates::testing::{OWNER, TENANT, catalogs, tenant_created};
    use rollcall_events::{Actor, Permission};
    use rollcall_log::EventLog;

    let h = Harness::embedded();
    // A catalog in the log that this version would refuse: a role granting a
    // permission no area defines.
    let mut broken = catalogs::small();
    broken.roles[0].grants.push(Permission::from("gone.away"));
    let mut history = rollcall_projections::testing::History::new();
    history.push(TENANT, Actor::Operator, tenant_created(broken));
    for raw in &history.events {
        h.log
            .append(TENANT, raw.tenant_seq - 1, raw)
            .await
            .expect("append");
    }
    assert!(h.read_wait(1).await);

    let owner = h.jwt(TENANT, OWNER, None, true);
    let users = format!("/v1/tenants/{TENANT}/users");
    let refused = h
        .get(&users, &owner)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    let detail = refused.body["detail"].as_str().expect("detail");
    assert!(detail.contains("gone.away"), "{detail}");
    h.send(
        Method::POST,
        &format!("/v1/tenants/{TENANT}/check"),
        Some(&owner),
        Some(json!({"user_id": OWNER, "permission": "contacts.view"})),
    )
    .await
    .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // The owner cannot command either; the operator can define a catalog.
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{TENANT}/plan"),
        Some(&owner),
        Some(json!({"plan": "pro"})),
    )
    .await
    .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{TENANT}/catalog"),
        Some(OPERATOR),
        Some(serde_json::to_value(catalogs::small()).expect("catalog json")),
    )
    .await
    .expect(StatusCode::OK);
    h.get(&users, &owner).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn a_null_body_is_no_body_where_the_body_is_optional() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let base = format!("/v1/tenants/{}/users/{ann}", t.id);
    h.send(
        Method::POST,
        &format!("{base}/deactivate"),
        Some(OPERATOR),
        Some(serde_json::Value::Null),
    )
    .await
    .expect(StatusCode::OK);
    h.send(
        Method::POST,
        &format!("{base}/reactivate"),
        Some(OPERATOR),
        Some(serde_json::Value::Null),
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_null_kind_is_the_default_kind() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations", t.id),
        Some(OPERATOR),
        Some(json!({"email": "ann@acme.test", "display_name": "Ann", "roles": ["user"], "kind": null})),
    )
    .await
    .expect(StatusCode::CREATED);
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations", t.id),
        Some(OPERATOR),
        Some(json!({"email": "bo@acme.test", "display_name": "Bo", "kind": "contractor"})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation");
}
