//! Jet Hub's help article "Jet Hub Users", rule by rule, against the real binary:
//! three combinable roles, Standard User by default, billing apart from admin,
//! MFA step-up to invite and resend, the actions of the users list, one identity
//! across accounts, and the last admin.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Harness, OPERATOR, effective, position, slug};

/// A Jet Hub account: the harness, the tenant, its owner (Account Admin and Billing
/// User) and the owner's token with the MFA step-up.
async fn account(backend: Backend) -> (Harness, String, String, String) {
    let h = Harness::start(backend);
    let (tenant, owner) = h.create_tenant("jethub", None).await;
    let admin = h.server.token(&tenant, &owner, None, true);
    (h, tenant, owner, admin)
}

fn roles(member: &Value) -> Value {
    member["roles"].clone()
}

#[tokio::test]
async fn roles_combine_account_admin_and_billing_user() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (both, at) = h
        .join(
            &t,
            &admin,
            "ann@example.com",
            json!({"roles": ["account_admin", "billing_user"]}),
        )
        .await;
    let member = h.member(&t, &admin, &both, at).await;
    assert_eq!(roles(&member), json!(["account_admin", "billing_user"]));
    for p in [
        "callflows.edit",
        "billing.manage",
        "support.billing_changes",
        "support.account_changes",
    ] {
        assert!(h.may(&t, &admin, at, &both, p).await, "{p}");
    }
    let billing = member["effective"]
        .as_array()
        .expect("effective")
        .iter()
        .find(|e| e["permission"] == "billing.view")
        .expect("billing.view effective");
    assert_eq!(
        billing["sources"],
        json!([{"kind": "role", "role": "billing_user"}])
    );
}

#[tokio::test]
async fn no_role_ticked_gives_a_standard_user() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (user, at) = h.join(&t, &admin, "sam@example.com", json!({})).await;
    let member = h.member(&t, &admin, &user, at).await;
    assert_eq!(
        effective(&member),
        ["numbers.view", "reports.view", "service_names.edit"]
    );
    for e in member["effective"].as_array().expect("effective") {
        assert_eq!(
            e["sources"],
            json!([{"kind": "default_role", "role": "standard_user"}]),
            "{e}"
        );
    }
    assert!(h.may(&t, &admin, at, &user, "reports.view").await);
    for p in [
        "callflows.view",
        "phone_users.view",
        "queues.edit",
        "support.account_changes",
        "billing.view",
    ] {
        assert!(!h.may(&t, &admin, at, &user, p).await, "{p}");
    }
}

#[tokio::test]
async fn account_admin_has_no_billing_but_sees_notices() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (user, at) = h
        .join(
            &t,
            &admin,
            "ada@example.com",
            json!({"roles": ["account_admin"]}),
        )
        .await;
    for p in [
        "account_notices.view",
        "callflows.edit",
        "phone_users.edit",
        "queues.view",
        "support.account_changes",
        "users.manage",
    ] {
        assert!(h.may(&t, &admin, at, &user, p).await, "{p}");
    }
    for p in ["billing.view", "billing.manage", "support.billing_changes"] {
        let answer = h
            .check(&t, &admin, at, json!({"user_id": user, "permission": p}))
            .await;
        assert_eq!(answer["allowed"], false, "{p}: {answer}");
        assert_eq!(answer["denial"], "no-grant", "{p}: {answer}");
    }
}

#[tokio::test]
async fn billing_user_reaches_invoices_and_payments_only() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (user, at) = h
        .join(
            &t,
            &admin,
            "bill@example.com",
            json!({"roles": ["billing_user"]}),
        )
        .await;
    let member = h.member(&t, &admin, &user, at).await;
    assert_eq!(
        effective(&member),
        ["billing.manage", "billing.view", "support.billing_changes"]
    );
    for p in [
        "numbers.view",
        "reports.view",
        "account_notices.view",
        "support.account_changes",
        "users.manage",
    ] {
        assert!(!h.may(&t, &admin, at, &user, p).await, "{p}");
    }
}

#[tokio::test]
async fn inviting_and_resending_need_the_mfa_step_up() {
    let (h, t, owner, admin) = account(Backend::Embedded).await;
    let plain = h.token(&t, &owner);
    let path = format!("/v1/tenants/{t}/invitations");
    let (status, problem) = h
        .post(
            &path,
            &plain,
            json!({"email": "mo@example.com", "display_name": "Mo"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(slug(&problem), "mfa-required");

    let (status, invited) = h
        .post(
            &path,
            &admin,
            json!({"email": "mo@example.com", "display_name": "Mo"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let invitation = invited["invitation_id"].as_str().expect("invitation_id");

    let resend = format!("/v1/tenants/{t}/invitations/{invitation}/resend");
    let (status, problem) = h.post(&resend, &plain, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(slug(&problem), "mfa-required");
    let (status, answer) = h.post(&resend, &admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn resend_and_cancel_only_before_acceptance() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (user, invitation) = h.invite(&t, &admin, "kim@example.com", json!({})).await;
    let at = h.accept(&invitation).await;
    assert_eq!(h.member(&t, &admin, &user, at).await["status"], "active");
    for action in ["resend", "cancel"] {
        let (status, problem) = h
            .post(
                &format!("/v1/tenants/{t}/invitations/{invitation}/{action}"),
                &admin,
                json!({}),
            )
            .await;
        assert_eq!(status.as_u16() / 100, 4, "{action}: {problem}");
        assert_eq!(slug(&problem), "invitation-used", "{action}: {problem}");
    }

    // A pending invitation can be canceled; the member then is no longer invited.
    let (other, pending) = h.invite(&t, &admin, "lee@example.com", json!({})).await;
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/invitations/{pending}/cancel"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let member = h.member(&t, &admin, &other, position(&answer)).await;
    assert_eq!(member["status"], "canceled");
}

#[tokio::test]
async fn remove_and_update_permissions_only_for_active_members() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (pending, _) = h.invite(&t, &admin, "pat@example.com", json!({})).await;
    let (status, problem) = h
        .post(
            &format!("/v1/tenants/{t}/users/{pending}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(slug(&problem), "conflict");
    // Nor may the permissions of a pending invitee be updated: roles, toggles and
    // the rest wait for the acceptance.
    for (path, body) in [
        ("roles", json!({"roles": ["billing_user"]})),
        ("permissions/billing.view", json!({"state": "allow"})),
    ] {
        let (status, problem) = h
            .put(
                &format!("/v1/tenants/{t}/users/{pending}/{path}"),
                &admin,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {problem}");
        assert_eq!(slug(&problem), "conflict", "{path}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not accepted")),
            "{path}: {problem}"
        );
    }

    let (active, _) = h.join(&t, &admin, "ray@example.com", json!({})).await;
    let (status, answer) = h
        .put(
            &format!("/v1/tenants/{t}/users/{active}/roles"),
            &admin,
            json!({"roles": ["billing_user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/users/{active}/deactivate"),
            &admin,
            json!({"reason": "left"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);
    let member = h.member(&t, &admin, &active, at).await;
    assert_eq!(member["status"], "deactivated");
    assert!(effective(&member).is_empty());
    assert!(!h.may(&t, &admin, at, &active, "billing.view").await);
}

/// The users list: active or not, roles, invitation sent, accepted, last login.
async fn users_list_walk_through(backend: Backend) {
    let (h, t, owner, admin) = account(backend).await;
    let (invited, _) = h
        .invite(
            &t,
            &admin,
            "ivy@example.com",
            json!({"roles": ["billing_user"]}),
        )
        .await;
    let (active, at) = h.join(&t, &admin, "al@example.com", json!({})).await;

    // The member records their own login with their own token (from the
    // connection's address).
    let own = h.token(&t, &active);
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/users/{active}/logins"),
            &own,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer).max(at);
    // Another member's login cannot be recorded with one's own token.
    let (status, problem) = h
        .post(
            &format!("/v1/tenants/{t}/users/{owner}/logins"),
            &own,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");

    // The operator (a sign-in service) may record it too.
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/users/{owner}/logins"),
            OPERATOR,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer).max(at);

    let users = h.team(&t, &admin, at).await;
    let find = |id: &str| {
        users
            .iter()
            .find(|u| u["user_id"] == id)
            .unwrap_or_else(|| panic!("{id} listed"))
            .clone()
    };
    let ivy = find(&invited);
    assert_eq!(ivy["status"], "invited");
    assert_eq!(ivy["roles"], json!(["billing_user"]));
    assert!(ivy["invited_at"].is_string());
    assert!(ivy["accepted_at"].is_null());
    assert!(ivy["last_login_at"].is_null());
    let al = find(&active);
    assert_eq!(al["status"], "active");
    assert_eq!(al["roles"], json!([]), "no role shown: a Standard User");
    assert!(al["invited_at"].is_string());
    assert!(al["accepted_at"].is_string());
    assert!(al["last_login_at"].is_string(), "{al}");
    assert_eq!(
        find(&owner)["roles"],
        json!(["account_admin", "billing_user"])
    );

    let audit = format!("/v1/tenants/{t}/audit?user={active}&min_position={at}");
    let (status, trail) = h.get(&audit, &admin).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let types: Vec<&str> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(types.contains(&"user.logged_in"), "{types:?}");

    let mut users = users;
    users.sort_by(|a, b| a["email"].as_str().cmp(&b["email"].as_str()));
    insta::assert_json_snapshot!("jethub_team", users, {
        "[].user_id" => "[user_id]",
        "[].invitation_id" => insta::dynamic_redaction(redact_set),
        "[].invited_at" => insta::dynamic_redaction(redact_set),
        "[].invitation_expires_at" => insta::dynamic_redaction(redact_set),
        "[].accepted_at" => insta::dynamic_redaction(redact_set),
        "[].last_login_at" => insta::dynamic_redaction(redact_set),
        "[].deactivated_at" => insta::dynamic_redaction(redact_set),
    });
    let member = h.member(&t, &admin, &invited, at).await;
    assert!(effective(&member).is_empty(), "not yet accepted: no access");
    let member = h.member(&t, &admin, &active, at).await;
    insta::assert_json_snapshot!("jethub_standard_user", member, {
        ".user_id" => "[user_id]",
        ".invitation_id" => insta::dynamic_redaction(redact_set),
        ".invited_at" => insta::dynamic_redaction(redact_set),
        ".invitation_expires_at" => insta::dynamic_redaction(redact_set),
        ".accepted_at" => insta::dynamic_redaction(redact_set),
        ".last_login_at" => insta::dynamic_redaction(redact_set),
        ".deactivated_at" => insta::dynamic_redaction(redact_set),
    });
}

/// A set id or time becomes a placeholder; an absent one stays `null`.
pub fn redact_set(
    value: insta::internals::Content,
    _: insta::internals::ContentPath<'_>,
) -> insta::internals::Content {
    if value.as_str().is_some() {
        insta::internals::Content::from("[set]")
    } else {
        value
    }
}

#[tokio::test]
async fn users_list_shows_status_roles_and_dates_embedded() {
    users_list_walk_through(Backend::Embedded).await;
}

#[tokio::test]
async fn users_list_shows_status_roles_and_dates_jetstream() {
    users_list_walk_through(Backend::JetStream).await;
}

#[tokio::test]
async fn a_person_on_another_account_is_found_by_the_operator_only() {
    let h = Harness::start(Backend::Embedded);
    let (first, owner1) = h.create_tenant("jethub", None).await;
    let (second, owner2) = h.create_tenant("jethub", None).await;
    let admin1 = h.server.token(&first, &owner1, None, true);
    let admin2 = h.server.token(&second, &owner2, None, true);
    // Each account names its members with ids of its own: an answer of one
    // account never reveals a membership of another.
    assert_ne!(owner1, owner2);
    let (user1, at1) = h.join(&first, &admin1, "Dee@Example.com", json!({})).await;
    let (user2, at2) = h
        .join(
            &second,
            &admin2,
            "dee@example.com",
            json!({"roles": ["billing_user"]}),
        )
        .await;
    assert_ne!(user1, user2);
    // The sign-in flow (the operator) finds every account of the person, to let
    // them "log in using their existing user details".
    let at = at1.max(at2);
    let (status, answer) = h
        .get(
            &format!("/v1/memberships?email=DEE@example.com&min_position={at}"),
            OPERATOR,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["email"], "dee@example.com");
    let mut found: Vec<(String, String)> = answer["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["tenant_id"].as_str().unwrap().to_owned(),
                m["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        (first.clone(), user1.clone()),
        (second.clone(), user2.clone()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    // A tenant admin may not look across tenants.
    let (status, answer) = h
        .get("/v1/memberships?email=dee@example.com", &admin1)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // Each account keeps its own roles for that one person.
    assert!(h.may(&first, &admin1, at1, &user1, "reports.view").await);
    assert!(!h.may(&first, &admin1, at, &user1, "billing.view").await);
    assert!(h.may(&second, &admin2, at2, &user2, "billing.view").await);
    assert!(!h.may(&second, &admin2, at2, &user2, "reports.view").await);
}

#[tokio::test]
async fn admins_change_admins_but_not_the_last_one() {
    let (h, t, owner, admin) = account(Backend::Embedded).await;
    // Alone, the owner cannot be removed nor lose Account Admin.
    let (status, problem) = h
        .post(
            &format!("/v1/tenants/{t}/users/{owner}/deactivate"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(slug(&problem), "last-admin");
    let (status, problem) = h
        .put(
            &format!("/v1/tenants/{t}/users/{owner}/roles"),
            &admin,
            json!({"roles": ["billing_user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(slug(&problem), "last-admin");

    // A second Account Admin changes the owner's permissions.
    let (second, _) = h
        .join(
            &t,
            &admin,
            "max@example.com",
            json!({"roles": ["account_admin"]}),
        )
        .await;
    let max = h.server.token(&t, &second, None, true);
    let (status, answer) = h
        .put(
            &format!("/v1/tenants/{t}/users/{owner}/roles"),
            &max,
            json!({"roles": ["billing_user"], "reason": "owner does billing only"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);
    assert!(!h.may(&t, &max, at, &owner, "callflows.edit").await);
    // Now Max is the last admin: he cannot remove himself.
    let (status, problem) = h
        .post(
            &format!("/v1/tenants/{t}/users/{second}/deactivate"),
            &max,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(slug(&problem), "last-admin");
}

#[tokio::test]
async fn deselecting_admin_and_billing_makes_a_standard_user() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    let (user, _) = h
        .join(
            &t,
            &admin,
            "deb@example.com",
            json!({"roles": ["account_admin", "billing_user"]}),
        )
        .await;
    let (status, answer) = h
        .put(
            &format!("/v1/tenants/{t}/users/{user}/roles"),
            &admin,
            json!({"roles": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let member = h.member(&t, &admin, &user, position(&answer)).await;
    assert_eq!(member["roles"], json!([]));
    assert_eq!(
        effective(&member),
        ["numbers.view", "reports.view", "service_names.edit"]
    );
}

#[tokio::test]
async fn only_account_admins_manage_users() {
    let (h, t, _owner, admin) = account(Backend::Embedded).await;
    for (email, roles) in [
        ("bea@example.com", json!(["billing_user"])),
        ("stu@example.com", json!([])),
    ] {
        let (user, _) = h.join(&t, &admin, email, json!({"roles": roles})).await;
        let token = h.server.token(&t, &user, None, true);
        let (status, problem) = h
            .post(
                &format!("/v1/tenants/{t}/invitations"),
                &token,
                json!({"email": "new@example.com", "display_name": "New"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {problem}");
        assert_eq!(slug(&problem), "forbidden", "{email}: {problem}");
    }
}
