//! Who may call what: the operator token, member JWTs, scopes, tenants, MFA.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_gateway::auth::mint_jwt;
use serde_json::json;

#[tokio::test]
async fn no_token_or_a_bad_token_is_401() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/users", t.id);
    h.send(Method::GET, &path, None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.get(&path, "not-a-token")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let forged = mint_jwt(
        "another secret",
        t.id,
        t.owner,
        None,
        false,
        Duration::from_secs(60),
    )
    .unwrap();
    h.get(&path, &forged)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.send_with(
        Method::GET,
        &path,
        None,
        None,
        &[("authorization", "Basic b3A6cGFzcw==")],
    )
    .await
    .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let claims = rollcall_gateway::auth::Claims {
        sub: t.owner.to_string(),
        tid: t.id.to_string(),
        exp: 1_000_000,
        amr: vec![],
        scope: None,
    };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    h.get(&format!("/v1/tenants/{}/users", t.id), &token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_token_of_another_tenant_is_403_on_every_kind_of_path() {
    let h = Harness::embedded();
    let a = h.tenant(json!("jtek")).await;
    let b = h.tenant(json!("jtek")).await;
    let a_owner = h.jwt(a.id, a.owner, Some("check events"), true);
    h.get(&format!("/v1/tenants/{}/users", b.id), &a_owner)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{}/plan", b.id),
        Some(&a_owner),
        Some(json!({"plan": "starter"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/check", b.id),
        Some(&a_owner),
        Some(json!({"user_id": b.owner.to_string(), "permission": "contacts.view"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    h.get(&format!("/v1/tenants/{}/events", b.id), &a_owner)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_deactivated_members_token_stops_working_at_once() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["admin"]).await;
    let token = h.jwt(t.id, ann, None, false);
    let own = format!("/v1/tenants/{}/users/{ann}", t.id);
    h.get(&format!("{own}?min_position={}", h.head().await), &token)
        .await
        .expect(StatusCode::OK);
    h.send(
        Method::POST,
        &format!("{own}/deactivate"),
        Some(OPERATOR),
        None,
    )
    .await
    .expect(StatusCode::OK);
    // No waiting for the read side: the very next request is refused.
    h.get(&own, &token)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{}/plan", t.id),
        Some(&token),
        Some(json!({"plan": "starter"})),
    )
    .await
    .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn a_member_without_the_team_permission_reads_only_their_own_view() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let token = h.jwt(t.id, ann, None, false);
    let at = h.head().await;
    h.get(
        &format!("/v1/tenants/{}/users/{ann}?min_position={at}", t.id),
        &token,
    )
    .await
    .expect(StatusCode::OK);
    h.get(&format!("/v1/tenants/{}/users/{}", t.id, t.owner), &token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    h.get(&format!("/v1/tenants/{}/users", t.id), &token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    h.get(&format!("/v1/tenants/{}/audit", t.id), &token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // Commands are refused by the rules, with the caller as actor.
    h.send(
        Method::PUT,
        &format!("/v1/tenants/{}/plan", t.id),
        Some(&token),
        Some(json!({"plan": "starter"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn the_check_needs_the_check_scope_or_the_team_permission() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let path = format!("/v1/tenants/{}/check", t.id);
    let body = json!({"user_id": ann.to_string(), "permission": "contacts.view"});
    let plain = h.jwt(t.id, ann, None, false);
    h.send(Method::POST, &path, Some(&plain), Some(body.clone()))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let scoped = h.jwt(t.id, ann, Some("check"), false);
    h.send(Method::POST, &path, Some(&scoped), Some(body.clone()))
        .await
        .expect(StatusCode::OK);
    // A service identity that is no member, with the scope.
    let service = h.jwt(
        t.id,
        rollcall_events::UserId::from_u128(42),
        Some("check"),
        false,
    );
    h.send(Method::POST, &path, Some(&service), Some(body.clone()))
        .await
        .expect(StatusCode::OK);
    let owner = h.jwt(t.id, t.owner, None, false);
    h.send(Method::POST, &path, Some(&owner), Some(body))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_event_stream_needs_the_events_scope() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let path = format!("/v1/tenants/{}/events", t.id);
    let owner = h.jwt(t.id, t.owner, None, false);
    h.get(&path, &owner)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // Past auth the stream answers; only its head is read (it stays open).
    let scoped = h.jwt(t.id, t.owner, Some("events"), false);
    let response = tower::ServiceExt::oneshot(
        h.app.clone(),
        axum::http::Request::get(&path)
            .header("authorization", format!("Bearer {scoped}"))
            .body(axum::body::Body::empty())
            .expect("request"),
    )
    .await
    .expect("the router never fails");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
}

#[tokio::test]
async fn only_the_operator_creates_tenants() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    h.send(
        Method::POST,
        "/v1/tenants",
        Some(&owner),
        Some(json!({"name": "X", "catalog": "jtek",
                    "owner": {"email": "x@x.test", "display_name": "X"}})),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn jet_hub_invitations_need_an_mfa_step_up() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jethub")).await;
    let path = format!("/v1/tenants/{}/invitations", t.id);
    let body = json!({"email": "cy@acme.test", "display_name": "Cy"});
    let without = h.jwt(t.id, t.owner, None, false);
    h.send(Method::POST, &path, Some(&without), Some(body.clone()))
        .await
        .problem(StatusCode::FORBIDDEN, "mfa-required");
    let with = h.jwt(t.id, t.owner, None, true);
    h.send(Method::POST, &path, Some(&with), Some(body))
        .await
        .expect(StatusCode::CREATED);
}
