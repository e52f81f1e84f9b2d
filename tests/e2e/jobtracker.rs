//! JobTracker's help article "Adding a User", rule by rule, against the real binary:
//! Administrator or Security Roles, nothing without either, External Users read
//! only, login locations, and the profile (must change password, Assignee and
//! Salesperson links).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::jethub::redact_set;
use crate::support::{Backend, Harness, OPERATOR, effective, position, slug};

const AREAS: [&str; 3] = ["accounts", "jobs", "quotes"];
const ACTIONS: [&str; 4] = ["create", "read", "update", "delete"];

/// A JobTracker account: harness, tenant, owner (Administrator) and owner's token.
async fn account() -> (Harness, String, String, String) {
    let h = Harness::start(Backend::Embedded);
    let (tenant, owner) = h.create_tenant("jobtracker", None).await;
    let admin = h.token(&tenant, &owner);
    (h, tenant, owner, admin)
}

/// Creates a custom Security Role; answers the position.
async fn role(h: &Harness, tenant: &str, admin: &str, key: &str, grants: &[&str]) -> u64 {
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{tenant}/roles"),
            admin,
            json!({"key": key, "label": key, "grants": grants}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "role {key}: {answer}");
    position(&answer)
}

#[tokio::test]
async fn administrator_has_total_access_including_users() {
    let (h, t, owner, admin) = account().await;
    let (second, at) = h
        .join(
            &t,
            &admin,
            "ada@example.com",
            json!({"roles": ["administrator"]}),
        )
        .await;
    for user in [&owner, &second] {
        for area in AREAS {
            for action in ACTIONS {
                let p = format!("{area}.{action}");
                assert!(h.may(&t, &admin, at, user, &p).await, "{p}");
            }
        }
        assert!(h.may(&t, &admin, at, user, "users.manage").await);
    }
    // The second Administrator adds and deletes users.
    let ada = h.token(&t, &second);
    let (user, _) = h
        .join(
            &t,
            &ada,
            "temp@example.com",
            json!({"roles": ["administrator"]}),
        )
        .await;
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/users/{user}/deactivate"),
            &ada,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn security_roles_grant_crud_per_area_and_combine() {
    let (h, t, _owner, admin) = account().await;
    role(
        &h,
        &t,
        &admin,
        "estimator",
        &[
            "quotes.create",
            "quotes.read",
            "quotes.update",
            "accounts.read",
        ],
    )
    .await;
    role(&h, &t, &admin, "dispatcher", &["jobs.*", "accounts.read"]).await;
    let (user, at) = h
        .join(
            &t,
            &admin,
            "eve@example.com",
            json!({"roles": ["estimator", "dispatcher"]}),
        )
        .await;
    let member = h.member(&t, &admin, &user, at).await;
    assert_eq!(
        effective(&member),
        [
            "accounts.read",
            "jobs.create",
            "jobs.delete",
            "jobs.read",
            "jobs.update",
            "quotes.create",
            "quotes.read",
            "quotes.update",
        ]
    );
    let accounts_read = member["effective"]
        .as_array()
        .expect("effective")
        .iter()
        .find(|e| e["permission"] == "accounts.read")
        .expect("accounts.read");
    assert_eq!(
        accounts_read["sources"],
        json!([{"kind": "role", "role": "estimator"}, {"kind": "role", "role": "dispatcher"}])
    );
    for p in [
        "quotes.delete",
        "accounts.create",
        "accounts.update",
        "accounts.delete",
        "users.manage",
    ] {
        assert!(!h.may(&t, &admin, at, &user, p).await, "{p}");
    }
    assert!(h.may(&t, &admin, at, &user, "jobs.delete").await);
    // A role member cannot manage users.
    let eve = h.token(&t, &user);
    let (status, problem) = h
        .post(
            &format!("/v1/tenants/{t}/invitations"),
            &eve,
            json!({"email": "x@example.com", "display_name": "X", "roles": ["estimator"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    insta::assert_json_snapshot!("jobtracker_member_effective", member, {
        ".user_id" => "[user_id]",
        ".invitation_id" => insta::dynamic_redaction(redact_set),
        ".invited_at" => insta::dynamic_redaction(redact_set),
        ".invitation_expires_at" => insta::dynamic_redaction(redact_set),
        ".accepted_at" => insta::dynamic_redaction(redact_set),
        ".last_login_at" => insta::dynamic_redaction(redact_set),
        ".deactivated_at" => insta::dynamic_redaction(redact_set),
    });
}

#[tokio::test]
async fn neither_admin_nor_role_accesses_nothing() {
    let (h, t, _owner, admin) = account().await;
    let (user, at) = h
        .join(&t, &admin, "nobody@example.com", json!({"roles": []}))
        .await;
    let member = h.member(&t, &admin, &user, at).await;
    assert_eq!(member["status"], "active");
    assert!(effective(&member).is_empty(), "{member}");
    for area in AREAS {
        for action in ACTIONS {
            let p = format!("{area}.{action}");
            let answer = h
                .check(&t, &admin, at, json!({"user_id": user, "permission": p}))
                .await;
            assert_eq!(answer["allowed"], false, "{p}: {answer}");
        }
    }
    assert!(!h.may(&t, &admin, at, &user, "users.manage").await);
}

#[tokio::test]
async fn external_users_get_read_access_only() {
    let (h, t, _owner, admin) = account().await;
    role(&h, &t, &admin, "viewer", &["jobs.read", "quotes.read"]).await;
    role(&h, &t, &admin, "editor", &["jobs.read", "jobs.update"]).await;
    let path = format!("/v1/tenants/{t}/invitations");
    for body in [
        json!({"email": "ext@partner.example", "display_name": "Ext", "kind": "external", "roles": ["editor"]}),
        json!({"email": "ext@partner.example", "display_name": "Ext", "kind": "external", "roles": ["administrator"]}),
        json!({"email": "ext@partner.example", "display_name": "Ext", "kind": "external", "roles": ["viewer"], "permissions": {"jobs.update": "allow"}}),
    ] {
        let (status, problem) = h.post(&path, &admin, body.clone()).await;
        assert_eq!(status.as_u16() / 100, 4, "{body}: {problem}");
        assert_eq!(slug(&problem), "external-view-only", "{body}: {problem}");
    }
    let (user, at) = h
        .join(
            &t,
            &admin,
            "ext@partner.example",
            json!({"kind": "external", "roles": ["viewer"]}),
        )
        .await;
    let member = h.member(&t, &admin, &user, at).await;
    assert_eq!(member["kind"], "external");
    assert!(h.may(&t, &admin, at, &user, "jobs.read").await);
    assert!(!h.may(&t, &admin, at, &user, "jobs.update").await);
    // Nor can an external user be given a non-read role later.
    let (status, problem) = h
        .put(
            &format!("/v1/tenants/{t}/users/{user}/roles"),
            &admin,
            json!({"roles": ["editor"]}),
        )
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "external-view-only");
}

#[tokio::test]
async fn login_from_anywhere_off_restricts_to_listed_locations() {
    let (h, t, _owner, admin) = account().await;
    role(&h, &t, &admin, "office", &["jobs.read"]).await;
    let (user, _) = h
        .join(&t, &admin, "olga@example.com", json!({"roles": ["office"]}))
        .await;
    let networks = format!("/v1/tenants/{t}/users/{user}/networks");
    let (status, problem) = h
        .put(&networks, &admin, json!({"cidrs": ["10.1.0.0/33"]}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "validation");
    let (status, answer) = h
        .put(
            &networks,
            &admin,
            json!({"cidrs": ["198.51.100.0/24", "2001:db8::/32"], "reason": "office only"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);
    let check = |ip: &str| json!({"user_id": user, "permission": "jobs.read", "source_ip": ip});
    for ip in ["198.51.100.7", "2001:db8::1"] {
        let answer = h.check(&t, &admin, at, check(ip)).await;
        assert_eq!(answer["allowed"], true, "{ip}: {answer}");
    }
    let answer = h.check(&t, &admin, at, check("203.0.113.5")).await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["denial"], "network-not-allowed", "{answer}");
    // Where the request comes from is part of the question: without it, no.
    let answer = h
        .check(
            &t,
            &admin,
            at,
            json!({"user_id": user, "permission": "jobs.read"}),
        )
        .await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["denial"], "network-unknown", "{answer}");
    assert_eq!(
        h.member(&t, &admin, &user, at).await["networks"],
        json!(["198.51.100.0/24", "2001:db8::/32"])
    );
    // The login itself is refused outside the listed locations. Its address is
    // the connection's (here loopback, not listed); a member cannot claim one.
    let logins = format!("/v1/tenants/{t}/users/{user}/logins");
    let own = h.token(&t, &user);
    let (status, problem) = h.post(&logins, &own, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(slug(&problem), "network-not-allowed", "{problem}");
    for ip in ["198.51.100.7", "203.0.113.5"] {
        let (status, problem) = h.post(&logins, &own, json!({"source_ip": ip})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{ip}: {problem}");
        assert_eq!(slug(&problem), "forbidden", "{ip}: {problem}");
    }
    // The product's sign-in flow states the address it saw, with the operator token.
    let (status, problem) = h
        .post(&logins, OPERATOR, json!({"source_ip": "203.0.113.5"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(slug(&problem), "network-not-allowed", "{problem}");
    let (status, answer) = h
        .post(&logins, OPERATOR, json!({"source_ip": "198.51.100.7"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let member = h.member(&t, &admin, &user, position(&answer)).await;
    assert!(member["last_login_at"].is_string(), "{member}");
    // Back to "login from anywhere".
    let (status, answer) = h.put(&networks, &admin, json!({"cidrs": []})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer = h
        .check(&t, &admin, position(&answer), check("203.0.113.5"))
        .await;
    assert_eq!(answer["allowed"], true, "{answer}");
}

#[tokio::test]
async fn must_change_password_and_profile_links() {
    let (h, t, _owner, admin) = account().await;
    role(&h, &t, &admin, "sales", &["quotes.*"]).await;
    let (user, at) = h
        .join(&t, &admin, "sid@example.com", json!({"roles": ["sales"]}))
        .await;
    let before = h.member(&t, &admin, &user, at).await;
    assert_eq!(before["must_change_password"], false);
    assert_eq!(before["links"], json!({}));

    let profile = format!("/v1/tenants/{t}/users/{user}/profile");
    let (status, answer) = h
        .put(
            &profile,
            &admin,
            json!({"must_change_password": true, "links": {"assignee": "A-17", "salesperson": "S-3"}, "display_name": "Sid Sales"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let member = h.member(&t, &admin, &user, position(&answer)).await;
    assert_eq!(member["must_change_password"], true);
    assert_eq!(
        member["links"],
        json!({"assignee": "A-17", "salesperson": "S-3"})
    );
    assert_eq!(member["display_name"], "Sid Sales");

    // Only the catalog's links exist.
    let (status, problem) = h
        .put(&profile, &admin, json!({"links": {"manager": "M-1"}}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "validation");
    // The member cannot lift the flag on their own.
    let own = h.token(&t, &user);
    let (status, problem) = h
        .put(&profile, &own, json!({"must_change_password": false}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // Unknown fields are refused.
    let (status, _) = h.put(&profile, &admin, json!({"password": "x"})).await;
    assert_eq!(status.as_u16() / 100, 4);

    let (status, trail) = h
        .get(
            &format!(
                "/v1/tenants/{t}/audit?user={user}&type=user.profile_updated&min_position={}",
                position(&answer)
            ),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let entries = trail["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{trail}");
    assert_eq!(entries[0]["after"]["must_change_password"], true, "{trail}");

    let users = h.team(&t, &admin, position(&answer)).await;
    let mut users: Vec<Value> = users;
    users.sort_by(|a, b| a["email"].as_str().cmp(&b["email"].as_str()));
    insta::assert_json_snapshot!("jobtracker_team", users, {
        "[].user_id" => "[user_id]",
        "[].invitation_id" => insta::dynamic_redaction(redact_set),
        "[].invited_at" => insta::dynamic_redaction(redact_set),
        "[].invitation_expires_at" => insta::dynamic_redaction(redact_set),
        "[].accepted_at" => insta::dynamic_redaction(redact_set),
        "[].last_login_at" => insta::dynamic_redaction(redact_set),
        "[].deactivated_at" => insta::dynamic_redaction(redact_set),
    });
}

#[tokio::test]
async fn taking_every_role_away_leaves_no_access() {
    let (h, t, _owner, admin) = account().await;
    role(
        &h,
        &t,
        &admin,
        "clerk",
        &["accounts.read", "accounts.update"],
    )
    .await;
    let (user, at) = h
        .join(&t, &admin, "cal@example.com", json!({"roles": ["clerk"]}))
        .await;
    assert!(h.may(&t, &admin, at, &user, "accounts.update").await);
    let (status, answer) = h
        .put(
            &format!("/v1/tenants/{t}/users/{user}/roles"),
            &admin,
            json!({"roles": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);
    let member = h.member(&t, &admin, &user, at).await;
    assert!(effective(&member).is_empty(), "{member}");
    assert!(!h.may(&t, &admin, at, &user, "accounts.read").await);
}
