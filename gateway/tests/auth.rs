//! Who may call what: the operator token, member JWTs, scopes, tenants, MFA.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_gateway::auth::{MintOptions, mint_jwt};
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
        "another secret, long enough for the rules 0123456789",
        t.id,
        t.owner,
        &MintOptions::default(),
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
        iat: None,
        nbf: None,
        iss: None,
        aud: None,
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
async fn the_check_is_for_oneself_or_with_the_team_permission() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let path = format!("/v1/tenants/{}/check", t.id);
    let about = |user: rollcall_events::UserId| json!({"user_id": user.to_string(), "permission": "contacts.view"});
    // A member asks about themselves, with or without a `check` scope.
    for scope in [None, Some("check"), Some("read")] {
        let token = h.jwt(t.id, ann, scope, false);
        h.send(Method::POST, &path, Some(&token), Some(about(ann)))
            .await
            .expect(StatusCode::OK);
        // Not about anyone else: a scope never adds a right.
        h.send(Method::POST, &path, Some(&token), Some(about(t.owner)))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // An identity that is no member has no rights at all, whatever its scope.
    let stranger = h.jwt(
        t.id,
        rollcall_events::UserId::from_u128(42),
        Some("check"),
        false,
    );
    h.send(Method::POST, &path, Some(&stranger), Some(about(ann)))
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let owner = h.jwt(t.id, t.owner, Some("check"), false);
    h.send(Method::POST, &path, Some(&owner), Some(about(ann)))
        .await
        .expect(StatusCode::OK);
}

#[tokio::test]
async fn the_event_stream_is_the_team_managers_with_a_scope_that_reaches_it() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let path = format!("/v1/tenants/{}/events", t.id);
    // Scopes narrow: `check` and `read` do not reach the stream.
    for scope in ["check", "read"] {
        h.get(&path, &h.jwt(t.id, t.owner, Some(scope), false))
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // A member without the team permission may not read everyone's changes.
    h.get(&path, &h.jwt(t.id, ann, Some("events"), false))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    for scope in [None, Some("events"), Some("admin")] {
        let token = h.jwt(t.id, t.owner, scope, false);
        let (status, content_type, first) = h.open_stream(&path, &token).await;
        assert_eq!(status, StatusCode::OK, "{scope:?}");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        assert!(first.contains("event: tenant.created"), "{first}");
        assert!(first.contains("id: 1"), "{first}");
    }
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
