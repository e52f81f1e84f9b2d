//! Who may call what: tenant isolation (another tenant's token never sees data),
//! credentials, the team permission, service scopes, and a deactivation taking
//! effect on the very next request.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Harness, OPERATOR, position, slug};

/// Every tenant-scoped endpoint of `t`, with ids that exist there.
fn tenant_endpoints(
    t: &str,
    user: &str,
    invitation: &str,
    catalog: &Value,
) -> Vec<(Method, String, Option<Value>)> {
    let b = format!("/v1/tenants/{t}");
    let u = format!("{b}/users/{user}");
    vec![
        (Method::GET, format!("{b}/catalog"), None),
        (Method::PUT, format!("{b}/catalog"), Some(catalog.clone())),
        (
            Method::PUT,
            format!("{b}/plan"),
            Some(json!({"plan": "starter"})),
        ),
        (
            Method::POST,
            format!("{b}/roles"),
            Some(json!({"key": "x", "label": "X", "grants": ["contacts.view"]})),
        ),
        (
            Method::PUT,
            format!("{b}/roles/user"),
            Some(json!({"label": "X", "grants": ["contacts.view"]})),
        ),
        (Method::DELETE, format!("{b}/roles/user"), None),
        (
            Method::POST,
            format!("{b}/invitations"),
            Some(json!({"email": "spy@example.com", "display_name": "Spy", "roles": ["admin"]})),
        ),
        (
            Method::POST,
            format!("{b}/invitations/{invitation}/resend"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{b}/invitations/{invitation}/cancel"),
            Some(json!({})),
        ),
        (Method::GET, format!("{b}/users"), None),
        (Method::GET, u.clone(), None),
        (
            Method::PUT,
            format!("{u}/roles"),
            Some(json!({"roles": ["user"]})),
        ),
        (
            Method::PUT,
            format!("{u}/permissions/contacts.view"),
            Some(json!({"state": "deny"})),
        ),
        (
            Method::PUT,
            format!("{u}/scopes/contacts"),
            Some(json!({"scope": "assigned"})),
        ),
        (
            Method::PUT,
            format!("{u}/offices"),
            Some(json!({"offices": ["x"]})),
        ),
        (
            Method::PUT,
            format!("{u}/networks"),
            Some(json!({"cidrs": ["10.0.0.0/8"]})),
        ),
        (
            Method::POST,
            format!("{u}/deactivate"),
            Some(json!({"reason": "x"})),
        ),
        (Method::POST, format!("{u}/reactivate"), Some(json!({}))),
        (Method::POST, format!("{u}/logins"), Some(json!({}))),
        (
            Method::POST,
            format!("{b}/check"),
            Some(json!({"user_id": user, "permission": "contacts.view", "resource": {}})),
        ),
        (Method::GET, format!("{u}/effective-permissions"), None),
        (Method::GET, format!("{b}/audit"), None),
        (Method::GET, format!("{b}/access-review"), None),
        (Method::GET, format!("{b}/events"), None),
        (Method::GET, format!("{b}/checkpoints"), None),
    ]
}

async fn isolation_matrix(backend: Backend) {
    let h = Harness::start(backend);
    let (a, a_owner) = h.create_tenant("jtek", None).await;
    let (b, b_owner) = h.create_tenant("jtek", None).await;
    let b_admin = h.token(&b, &b_owner);
    let (status, invited) = h
        .post(
            &format!("/v1/tenants/{b}/invitations"),
            &b_admin,
            json!({"email": "secret@b.example", "display_name": "B Secret", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let b_invitation = invited["invitation_id"].as_str().expect("invitation_id");
    let b_head = format!("&min_position={}", invited["position"]);
    let b_trail = h.audit(&b, &b_head).await.len();
    let (_, catalog) = h.get(&format!("/v1/tenants/{a}/catalog"), OPERATOR).await;

    // A's admin, with every scope, on B's paths: 403 forbidden, never B's data.
    let tokens = [
        h.token(&a, &a_owner),
        h.server.token(&a, &a_owner, Some("check events"), true),
    ];
    for token in &tokens {
        for (method, path, body) in tenant_endpoints(&b, &b_owner, b_invitation, &catalog) {
            let (status, answer) = h.call(method.clone(), &path, token, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
            assert_eq!(slug(&answer), "forbidden", "{method} {path}: {answer}");
            let text = answer.to_string();
            assert!(
                !text.contains(&b_owner) && !text.contains("secret@b.example"),
                "{method} {path} leaks: {text}"
            );
        }
    }
    // A tenant that does not exist answers the same: its existence is not revealed.
    let nowhere = "0190f5c2-0000-7000-8000-000000000000";
    let (status, answer) = h
        .get(&format!("/v1/tenants/{nowhere}/users"), &tokens[0])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // Nothing was written to B.
    assert_eq!(h.audit(&b, &b_head).await.len(), b_trail);
    // A's token still works on A.
    let (status, answer) = h.get(&format!("/v1/tenants/{a}/users"), &tokens[0]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn isolation_matrix_embedded() {
    isolation_matrix(Backend::Embedded).await;
}

#[tokio::test]
async fn isolation_matrix_jetstream() {
    isolation_matrix(Backend::JetStream).await;
}

async fn authorization_rules(backend: Backend) {
    let h = Harness::start(backend);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&t, &owner);
    let users = format!("/v1/tenants/{t}/users");

    // Credentials.
    for token in [
        "",
        "not-a-token",
        &format!("{admin}x"),
        &admin[..admin.len() - 2],
    ] {
        let (status, answer) = h.get(&users, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {answer}");
        assert_eq!(slug(&answer), "unauthorized", "{answer}");
    }
    let (status, answer) = h.get(&users, OPERATOR).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // A member without the team permission.
    let member = h
        .add_member(&t, &admin, "sam@example.com", &["user"], 1)
        .await;
    let sam = h.token(&t, &member);
    let (status, answer) = h.get(&users, &sam).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(slug(&answer), "forbidden", "{answer}");
    let (status, answer) = h.get(&format!("{users}/{owner}"), &sam).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = h.get(&format!("{users}/{member}"), &sam).await;
    assert_eq!(status, StatusCode::OK, "own member view: {answer}");
    let (status, answer) = h.get(&format!("/v1/tenants/{t}/audit"), &sam).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let before = h.audit(&t, "").await.len();
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/invitations"),
            &sam,
            json!({"email": "x@example.com", "display_name": "X", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(slug(&answer), "forbidden", "{answer}");
    let (status, answer) = h
        .put(
            &format!("{users}/{owner}/roles"),
            &sam,
            json!({"roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        h.audit(&t, "").await.len(),
        before,
        "refused commands wrote"
    );

    // Scopes narrow a token, never widen it; rights are the member's own.
    let check = format!("/v1/tenants/{t}/check");
    let about =
        |user: &str| json!({"user_id": user, "permission": "contacts.view", "resource": {}});
    // A member checks themselves, with any scope that reaches the check…
    for token in [
        sam.clone(),
        h.server.token(&t, &member, Some("check"), false),
    ] {
        let (status, answer) = h.post(&check, &token, about(&member)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["allowed"], true, "{answer}");
        // …but not anyone else: that takes the team permission.
        let (status, answer) = h.post(&check, &token, about(&owner)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    }
    let service = h.server.token(&t, &member, Some("check"), false);
    // An identity that is no member has no rights, whatever its scope says.
    let robot = h.server.token(
        &t,
        "0190f5c2-1111-7000-8000-000000000001",
        Some("check"),
        false,
    );
    let (status, answer) = h.post(&check, &robot, about(&member)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "service identity: {answer}"
    );
    // The admin's own token, narrowed: `check` reaches the check and nothing else.
    let admin_check = h.server.token(&t, &owner, Some("check"), false);
    let (status, answer) = h.post(&check, &admin_check, about(&member)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = h.get(&users, &admin_check).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a check token lists users: {answer}"
    );
    assert!(
        answer["detail"].as_str().unwrap().contains("`read`"),
        "{answer}"
    );
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/invitations"),
            &admin_check,
            json!({"email": "y@example.com", "display_name": "Y", "roles": ["user"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a check token invites: {answer}"
    );
    assert!(
        answer["detail"].as_str().unwrap().contains("`admin`"),
        "{answer}"
    );

    // The event stream: the team permission, with a scope that reaches it.
    let events = format!("/v1/tenants/{t}/events");
    let (status, answer) = h.get(&events, &admin_check).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a check token streams: {answer}"
    );
    let (status, answer) = h
        .get(&events, &h.server.token(&t, &member, Some("events"), false))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member streams the team: {answer}"
    );
    let streamer = h.server.token(&t, &owner, Some("events"), false);
    for token in [&admin, &streamer] {
        let response = h
            .http
            .get(format!("{}{events}", h.server.url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("events answer");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
    }

    // Deactivation: the member's token stops working with the answer.
    let (status, answer) = h
        .post(
            &format!("{users}/{member}/deactivate"),
            &admin,
            json!({"reason": "left"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for token in [&sam] {
        let (status, answer) = h.get(&format!("{users}/{member}"), token).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "after deactivation: {answer}"
        );
    }
    let (status, answer) = h.post(&check, &service, about(&member)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "check after deactivation: {answer}"
    );
    // Every 401 reads the same, whatever the reason, and says nothing of the log.
    let (_, headers, forged) = h
        .call_with(Method::GET, &users, "not-a-token", None, &[])
        .await;
    let (_, deactivated_headers, deactivated) = h
        .call_with(Method::GET, &format!("{users}/{member}"), &sam, None, &[])
        .await;
    assert_eq!(forged, deactivated);
    assert!(!headers.contains_key("x-rollcall-position"));
    assert!(!deactivated_headers.contains_key("x-rollcall-position"));
    // Reactivated, tokens issued before stay dead; a new one works.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, answer) = h
        .post(&format!("{users}/{member}/reactivate"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = h
        .get(
            &format!("{users}/{member}?min_position={}", position(&answer)),
            &sam,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an old token after reactivation: {answer}"
    );
    let fresh = h.token(&t, &member);
    let (status, answer) = h.get(&format!("{users}/{member}"), &fresh).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a new token after reactivation: {answer}"
    );
}

#[tokio::test]
async fn authorization_rules_embedded() {
    authorization_rules(Backend::Embedded).await;
}

#[tokio::test]
async fn authorization_rules_jetstream() {
    authorization_rules(Backend::JetStream).await;
}
