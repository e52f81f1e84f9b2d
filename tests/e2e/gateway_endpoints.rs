//! Every endpoint of DESIGN.md's list, once, on the happy path, on both backends.
//! The audit trail the run leaves is snapshotted with ids mapped to names.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Harness, OPERATOR, invitation_token_since};

/// Asserts a command answer: `status`, a position after `last`, an event id.
fn command(status: StatusCode, answer: &Value, expected: StatusCode, last: &mut u64) {
    assert_eq!(status, expected, "{answer}");
    let position = answer["position"].as_u64().expect("position");
    assert!(
        position > *last,
        "position {position} after {last}: {answer}"
    );
    assert!(answer["event_id"].is_string(), "event_id: {answer}");
    *last = position;
}

async fn every_endpoint(backend: Backend) {
    let h = Harness::start(backend);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&t, &owner);
    let base = format!("/v1/tenants/{t}");
    let mut last = 0;

    // Catalog: read, define again with another label, plan round trip.
    let (status, catalog) = h.get(&format!("{base}/catalog"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    assert_eq!(catalog["key"], "jtek");
    assert_eq!(catalog["team_permission"], "team.manage");
    assert_eq!(catalog["plan"], "pro");
    let mut doc = catalog.clone();
    doc["label"] = json!("Jtek CRM");
    // The catalog is the product's permission model: the operator's, not the
    // tenant admin's.
    let (status, answer) = h.put(&format!("{base}/catalog"), &admin, doc.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = h.put(&format!("{base}/catalog"), OPERATOR, doc).await;
    command(status, &answer, StatusCode::OK, &mut last);
    let (_, catalog) = h
        .get(&format!("{base}/catalog?min_position={last}"), &admin)
        .await;
    assert_eq!(catalog["label"], "Jtek CRM");
    let (status, answer) = h
        .put(&format!("{base}/plan"), &admin, json!({"plan": "starter"}))
        .await;
    command(status, &answer, StatusCode::OK, &mut last);
    let (status, answer) = h
        .put(&format!("{base}/plan"), &admin, json!({"plan": "pro"}))
        .await;
    command(status, &answer, StatusCode::OK, &mut last);

    // Roles: create, update, delete.
    let (status, answer) = h
        .post(
            &format!("{base}/roles"),
            &admin,
            json!({"key": "support", "label": "Support", "grants": ["contacts.view"]}),
        )
        .await;
    command(status, &answer, StatusCode::CREATED, &mut last);
    let (status, answer) = h
        .put(
            &format!("{base}/roles/support"),
            &admin,
            json!({"label": "Support desk", "grants": ["contacts.view", "conversations.view"]}),
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);
    let (_, catalog) = h
        .get(&format!("{base}/catalog?min_position={last}"), &admin)
        .await;
    assert!(
        catalog["tenant_roles"].to_string().contains("Support desk"),
        "{catalog}"
    );
    let (status, answer) = h
        .call(
            Method::DELETE,
            &format!("{base}/roles/support"),
            &admin,
            None,
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);

    // Invitations: invite, resend, cancel another, accept the resent link.
    let (status, invited) = h
        .post(
            &format!("{base}/invitations"),
            &admin,
            json!({"email": "mia@example.com", "display_name": "Mia Member", "roles": ["user"],
                   "permissions": {"billing.view": "allow"}, "kind": "member"}),
        )
        .await;
    command(status, &invited, StatusCode::CREATED, &mut last);
    assert!(invited["expires_at"].is_string(), "{invited}");
    let invitation = invited["invitation_id"].as_str().expect("invitation_id");
    let member = invited["user_id"].as_str().expect("user_id").to_owned();
    let (status, answer) = h
        .post(
            &format!("{base}/invitations/{invitation}/resend"),
            &admin,
            json!({}),
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);
    let resent_at = answer["position"].as_u64().expect("position");
    let (status, other) = h
        .post(
            &format!("{base}/invitations"),
            &admin,
            json!({"email": "gone@example.com", "display_name": "Gone", "roles": ["user"]}),
        )
        .await;
    command(status, &other, StatusCode::CREATED, &mut last);
    let other_invitation = other["invitation_id"].as_str().expect("invitation_id");
    let gone = other["user_id"].as_str().expect("user_id").to_owned();
    let (status, answer) = h
        .post(
            &format!("{base}/invitations/{other_invitation}/cancel"),
            &admin,
            json!({"reason": "typo"}),
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);
    let link = invitation_token_since(h.server.data_dir(), invitation, resent_at);
    let (status, accepted) = h
        .post("/v1/invitations/accept", "", json!({"token": link}))
        .await;
    command(status, &accepted, StatusCode::OK, &mut last);
    assert_eq!(accepted["tenant_id"], t.as_str());
    assert_eq!(accepted["user_id"], member.as_str());

    // Member settings.
    let user = format!("{base}/users/{member}");
    for (path, body) in [
        ("roles", json!({"roles": ["admin"], "reason": "cover"})),
        ("roles", json!({"roles": ["user"], "reason": "back"})),
        (
            "permissions/contacts.delete",
            json!({"state": "deny", "reason": "careful"}),
        ),
        ("scopes/contacts", json!({"scope": "assigned"})),
        ("offices", json!({"offices": ["berlin"]})),
        ("networks", json!({"cidrs": ["10.0.0.0/8"]})),
    ] {
        let (status, answer) = h.put(&format!("{user}/{path}"), &admin, body).await;
        command(status, &answer, StatusCode::OK, &mut last);
    }
    // The product's sign-in flow records the login with the operator token and
    // the address it saw; a member may not state one.
    let (status, answer) = h
        .post(
            &format!("{user}/logins"),
            &h.token(&t, &member),
            json!({"source_ip": "10.1.2.3"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = h
        .post(
            &format!("{user}/logins"),
            OPERATOR,
            json!({"source_ip": "10.1.2.3"}),
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);

    // Queries.
    let (status, list) = h
        .get(
            &format!("{base}/users?status=active&min_position={last}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let users = list["users"].as_array().expect("users");
    assert_eq!(users.len(), 2, "{list}");
    let (status, list) = h.get(&format!("{base}/users?status=invited"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(
        list["users"].as_array().expect("users").is_empty(),
        "{list}"
    );
    let (status, one) = h.get(&user, &admin).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["status"], "active");
    assert_eq!(one["email"], "mia@example.com");
    assert_eq!(one["roles"], json!(["user"]));
    assert_eq!(one["overrides"]["contacts.delete"], "deny");
    assert_eq!(one["overrides"]["billing.view"], "allow");
    assert_eq!(one["scopes"]["contacts"], "assigned");
    assert_eq!(one["offices"], json!(["berlin"]));
    assert_eq!(one["networks"], json!(["10.0.0.0/8"]));
    assert!(one["last_login_at"].is_string(), "{one}");
    let effective: Vec<&str> = one["effective"]
        .as_array()
        .expect("effective")
        .iter()
        .map(|e| e["permission"].as_str().expect("permission"))
        .collect();
    assert!(effective.contains(&"contacts.view"), "{one}");
    assert!(effective.contains(&"billing.view"), "{one}");
    assert!(!effective.contains(&"contacts.delete"), "{one}");

    // The check: own contact from an allowed network; another's is outside the scope;
    // a network outside the list is refused.
    let check = |owner_id: &str, ip: &str| {
        json!({"user_id": member, "permission": "contacts.view",
               "resource": {"owner_id": owner_id}, "source_ip": ip})
    };
    let (status, answer) = h
        .post(
            &format!("{base}/check?min_position={last}"),
            &admin,
            check(&member, "10.1.2.3"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["allowed"], true, "{answer}");
    assert!(answer["position"].is_u64(), "{answer}");
    let (_, answer) = h
        .post(
            &format!("{base}/check?min_position={last}"),
            &admin,
            check(&owner, "10.1.2.3"),
        )
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");
    let (_, answer) = h
        .post(
            &format!("{base}/check?min_position={last}"),
            &admin,
            check(&member, "192.0.2.1"),
        )
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");

    // Deactivate and reactivate.
    let (status, answer) = h
        .post(
            &format!("{user}/deactivate"),
            &admin,
            json!({"reason": "left", "reassign_to": owner}),
        )
        .await;
    command(status, &answer, StatusCode::OK, &mut last);
    let (_, answer) = h
        .post(
            &format!("{base}/check?min_position={last}"),
            &admin,
            check(&member, "10.1.2.3"),
        )
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");
    let (status, answer) = h
        .post(&format!("{user}/reactivate"), &admin, json!({}))
        .await;
    command(status, &answer, StatusCode::OK, &mut last);

    // The audit trail, in order, names mapped to roles in the story.
    let (status, audit) = h
        .get(&format!("{base}/audit?min_position={last}"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let name = |v: &Value| -> Value {
        match v.as_str() {
            Some(s) if s == owner => json!("owner"),
            Some(s) if s == member => json!("mia"),
            Some(s) if s == gone => json!("gone"),
            _ => v.clone(),
        }
    };
    let trail: Vec<Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            assert!(
                e["position"].is_u64() && e["hash"].is_string() && e["occurred_at"].is_string()
            );
            json!({"type": e["type"], "actor": name(&e["actor"]), "target": name(&e["target"]),
                   "reason": e["reason"]})
        })
        .collect();
    insta::assert_json_snapshot!("every_endpoint_audit", trail);
    let (status, filtered) = h
        .get(
            &format!("{base}/audit?type=user.roles_changed&user={member}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(
        filtered["entries"].as_array().expect("entries").len(),
        2,
        "{filtered}"
    );

    // Operations. The metrics count per tenant: they are the operator's.
    for path in ["/healthz", "/readyz", "/v1/healthz", "/openapi.json"] {
        let (status, answer) = h.get(path, "").await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let (status, answer) = h.get("/metrics", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, answer) = h.get("/metrics", &admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = h.get("/metrics", OPERATOR).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, openapi) = h.get("/openapi.json", "").await;
    for path in [
        "/v1/tenants",
        "/v1/tenants/{t}/users/{u}/effective-permissions",
        "/v1/tenants/{t}/events",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} in openapi.json");
    }
}

#[tokio::test]
async fn every_endpoint_embedded() {
    every_endpoint(Backend::Embedded).await;
}

#[tokio::test]
async fn every_endpoint_jetstream() {
    every_endpoint(Backend::JetStream).await;
}
