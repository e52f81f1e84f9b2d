//! Every endpoint's happy path, through the router, over an embedded log.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use pretty_assertions::assert_eq;
use rollcall_log::EventLog;
use serde_json::{Value, json};

fn users_of(body: &Value) -> Vec<Value> {
    body["users"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn creating_a_tenant_answers_its_ids_and_the_owner_is_an_active_admin() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    assert!(t.position >= 1);
    let list = h
        .get(
            &format!("/v1/tenants/{}/users?min_position={}", t.id, t.position),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    let users = users_of(&list.body);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["user_id"], json!(t.owner.to_string()));
    assert_eq!(users[0]["status"], json!("active"));
    assert_eq!(users[0]["roles"], json!(["admin"]));
    assert_eq!(users[0]["email"], json!("owner@acme.test"));
    for field in [
        "invited_at",
        "accepted_at",
        "last_login_at",
        "display_name",
        "kind",
    ] {
        assert!(users[0].get(field).is_some(), "users list lacks {field}");
    }
}

#[tokio::test]
async fn every_seed_catalog_and_a_catalog_document_can_start_a_tenant() {
    let h = Harness::embedded();
    for name in ["jtek", "jetbuilt", "jobtracker", "jethub"] {
        h.tenant(json!(name)).await;
    }
    let doc: Value =
        serde_json::from_str(rollcall_catalogs::source("jobtracker").unwrap()).unwrap();
    let t = h.tenant(doc).await;
    let catalog = h
        .get(
            &format!("/v1/tenants/{}/catalog?min_position={}", t.id, t.position),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(catalog.body["key"], json!("jobtracker"));
}

#[tokio::test]
async fn the_catalog_reads_back_and_can_be_redefined() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let path = format!("/v1/tenants/{}/catalog", t.id);
    let got = h
        .get(&format!("{path}?min_position={}", t.position), &owner)
        .await
        .expect(StatusCode::OK);
    assert_eq!(got.body["key"], json!("jtek"));
    assert!(got.body["areas"].is_array());
    assert_eq!(got.body["version"], json!(1));
    assert_eq!(got.body["plan"], json!("pro"));
    let roles = got.body["tenant_roles"].as_array().unwrap();
    assert!(
        roles
            .iter()
            .any(|r| r["key"] == json!("admin") && r["builtin"] == json!(true))
    );
    // What GET answers can be edited and PUT back as it is — by the operator:
    // the catalog is the product's permission model, not the tenant admin's.
    let mut doc = got.body.clone();
    doc["label"] = json!("Jtek CRM (renamed)");
    h.send(Method::PUT, &path, Some(&owner), Some(doc.clone()))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let put = h
        .send(Method::PUT, &path, Some(OPERATOR), Some(doc))
        .await
        .expect(StatusCode::OK);
    let again = h
        .get(&format!("{path}?min_position={}", put.position()), &owner)
        .await
        .expect(StatusCode::OK);
    assert_eq!(again.body["label"], json!("Jtek CRM (renamed)"));
    assert_eq!(again.body["version"], json!(2));
    // The document may also come wrapped.
    let mut wrapped = again.body.clone();
    wrapped["label"] = json!("Jtek");
    h.send(
        Method::PUT,
        &path,
        Some(OPERATOR),
        Some(json!({"catalog": wrapped})),
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn plans_and_roles_change_through_their_endpoints() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let base = format!("/v1/tenants/{}", t.id);

    let role = h
        .send(
            Method::POST,
            &format!("{base}/roles"),
            Some(&owner),
            Some(json!({"key": "viewer", "label": "Viewer", "grants": ["contacts.view"]})),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(role.body["role"], json!("viewer"));
    assert!(role.body["event_id"].is_string());

    h.send(
        Method::PUT,
        &format!("{base}/roles/viewer"),
        Some(&owner),
        Some(json!({"label": "Viewer+", "grants": ["contacts.view", "calendar.view"]})),
    )
    .await
    .expect(StatusCode::OK);
    h.send(
        Method::DELETE,
        &format!("{base}/roles/viewer"),
        Some(&owner),
        None,
    )
    .await
    .expect(StatusCode::OK);

    let plan = h
        .send(
            Method::PUT,
            &format!("{base}/plan"),
            Some(&owner),
            Some(json!({"plan": "starter", "reason": "downgrade"})),
        )
        .await
        .expect(StatusCode::OK);
    assert!(plan.position() > role.position());
    h.send(
        Method::PUT,
        &format!("{base}/plan"),
        Some(&owner),
        Some(json!({"plan": "platinum"})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown-plan");
}

#[tokio::test]
async fn an_invitation_is_sent_resent_and_accepted_with_its_token() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let base = format!("/v1/tenants/{}", t.id);

    let invited = h
        .send(
            Method::POST,
            &format!("{base}/invitations"),
            Some(&owner),
            Some(
                json!({"email": "Ann@Acme.test", "display_name": "Ann", "roles": ["user"],
                        "permissions": {"contacts.delete": "deny"}, "kind": "member"}),
            ),
        )
        .await
        .expect(StatusCode::CREATED);
    for field in [
        "position",
        "event_id",
        "invitation_id",
        "user_id",
        "expires_at",
    ] {
        assert!(
            invited.body.get(field).is_some(),
            "invite answer lacks {field}"
        );
    }
    let invitation = invited.id("invitation_id");
    let user = invited.id("user_id");

    let old_token = h.accept_token(t.id, invitation.parse().unwrap()).await;
    let resent = h
        .send(
            Method::POST,
            &format!("{base}/invitations/{invitation}/resend"),
            Some(&owner),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(resent.id("invitation_id"), invitation);

    // The link of the first send no longer works; the new one does.
    h.send(
        Method::POST,
        "/v1/invitations/accept",
        None,
        Some(json!({"token": old_token})),
    )
    .await
    .problem(StatusCode::GONE, "invitation-superseded");
    let token = h.accept_token(t.id, invitation.parse().unwrap()).await;
    let accepted = h
        .send(
            Method::POST,
            "/v1/invitations/accept",
            None,
            Some(json!({"token": token})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(accepted.id("tenant_id"), t.id.to_string());
    assert_eq!(accepted.id("user_id"), user);

    let list = h
        .get(
            &format!(
                "{base}/users?status=active&min_position={}",
                accepted.position()
            ),
            &owner,
        )
        .await
        .expect(StatusCode::OK);
    let ann = users_of(&list.body)
        .into_iter()
        .find(|u| u["user_id"] == json!(user))
        .expect("Ann is active");
    assert_eq!(ann["email"], json!("ann@acme.test"));
    assert!(ann["accepted_at"].is_string());
    assert!(ann["invited_at"].is_string());
}

#[tokio::test]
async fn a_canceled_invitation_cannot_be_accepted() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let base = format!("/v1/tenants/{}", t.id);
    let invited = h
        .send(
            Method::POST,
            &format!("{base}/invitations"),
            Some(OPERATOR),
            Some(json!({"email": "bo@acme.test", "display_name": "Bo", "roles": ["user"]})),
        )
        .await
        .expect(StatusCode::CREATED);
    let invitation = invited.id("invitation_id");
    h.send(
        Method::POST,
        &format!("{base}/invitations/{invitation}/cancel"),
        Some(OPERATOR),
        Some(json!({"reason": "typo in the address"})),
    )
    .await
    .expect(StatusCode::OK);
    let token = h.accept_token(t.id, invitation.parse().unwrap()).await;
    h.send(
        Method::POST,
        "/v1/invitations/accept",
        None,
        Some(json!({"token": token})),
    )
    .await
    .problem(StatusCode::GONE, "invitation-canceled");
}

#[tokio::test]
async fn a_forged_invitation_token_is_a_400_that_does_not_echo_it() {
    let h = Harness::embedded();
    let a = h
        .send(
            Method::POST,
            "/v1/invitations/accept",
            None,
            Some(json!({"token": "c2VjcmV0LXBheWxvYWQ.Zm9yZ2Vk"})),
        )
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid-token");
    assert!(!a.body.to_string().contains("c2VjcmV0LXBheWxvYWQ"));
}

#[tokio::test]
async fn member_settings_change_and_show_in_the_member_view() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let base = format!("/v1/tenants/{}/users/{ann}", t.id);

    h.send(
        Method::PUT,
        &format!("{base}/permissions/contacts.delete"),
        Some(&owner),
        Some(json!({"state": "deny", "reason": "only managers delete"})),
    )
    .await
    .expect(StatusCode::OK);
    h.send(
        Method::PUT,
        &format!("{base}/scopes/contacts"),
        Some(&owner),
        Some(json!({"scope": "assigned"})),
    )
    .await
    .expect(StatusCode::OK);
    h.send(
        Method::PUT,
        &format!("{base}/networks"),
        Some(&owner),
        Some(json!({"cidrs": ["10.0.0.0/8"]})),
    )
    .await
    .expect(StatusCode::OK);
    let last = h
        .send(
            Method::PUT,
            &format!("{base}/roles"),
            Some(&owner),
            Some(json!({"roles": ["admin"], "reason": "promotion"})),
        )
        .await
        .expect(StatusCode::OK);

    let view = h
        .get(&format!("{base}?min_position={}", last.position()), &owner)
        .await
        .expect(StatusCode::OK);
    assert_eq!(view.body["roles"], json!(["admin"]));
    assert_eq!(view.body["overrides"], json!({"contacts.delete": "deny"}));
    assert_eq!(view.body["scopes"]["contacts"], json!("assigned"));
    assert_eq!(view.body["networks"], json!(["10.0.0.0/8"]));
    let effective = view.body["effective"].as_array().unwrap();
    let perms: Vec<&str> = effective
        .iter()
        .filter_map(|e| e["permission"].as_str())
        .collect();
    assert!(perms.contains(&"team.manage"));
    assert!(
        !perms.contains(&"contacts.delete"),
        "denied by the override"
    );
    assert!(
        effective
            .iter()
            .all(|e| !e["sources"].as_array().unwrap().is_empty())
    );
}

#[tokio::test]
async fn offices_are_set_on_a_jetbuilt_member() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jetbuilt")).await;
    let bo = h.member(t.id, "bo@acme.test", &[]).await;
    let set = h
        .send(
            Method::PUT,
            &format!("/v1/tenants/{}/users/{bo}/offices", t.id),
            Some(OPERATOR),
            Some(json!({"offices": ["denver"]})),
        )
        .await
        .expect(StatusCode::OK);
    let view = h
        .get(
            &format!(
                "/v1/tenants/{}/users/{bo}?min_position={}",
                t.id,
                set.position()
            ),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(view.body["offices"], json!(["denver"]));
}

#[tokio::test]
async fn deactivation_reactivation_and_logins_show_on_the_team_page() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let owner = h.jwt(t.id, t.owner, None, false);
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let base = format!("/v1/tenants/{}/users/{ann}", t.id);

    let ann_token = h.jwt(t.id, ann, None, false);
    // A member may not state where its own login came from; the operator may.
    h.send(
        Method::POST,
        &format!("{base}/logins"),
        Some(&ann_token),
        Some(json!({"source_ip": "10.1.2.3"})),
    )
    .await
    .problem(StatusCode::FORBIDDEN, "forbidden");
    h.send(
        Method::POST,
        &format!("{base}/logins"),
        Some(&ann_token),
        None,
    )
    .await
    .expect(StatusCode::OK);
    h.send(
        Method::POST,
        &format!("{base}/logins"),
        Some(OPERATOR),
        Some(json!({"source_ip": "10.1.2.3"})),
    )
    .await
    .expect(StatusCode::OK);
    let off = h
        .send(
            Method::POST,
            &format!("{base}/deactivate"),
            Some(&owner),
            Some(json!({"reason": "left the company", "reassign_to": t.owner.to_string()})),
        )
        .await
        .expect(StatusCode::OK);
    let list = h
        .get(
            &format!(
                "/v1/tenants/{}/users?status=deactivated&min_position={}",
                t.id,
                off.position()
            ),
            &owner,
        )
        .await
        .expect(StatusCode::OK);
    let users = users_of(&list.body);
    assert_eq!(users.len(), 1);
    assert!(users[0]["last_login_at"].is_string());
    h.send(
        Method::POST,
        &format!("{base}/reactivate"),
        Some(&owner),
        None,
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn a_command_that_changes_nothing_answers_unchanged_without_an_event() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let head = h.head().await;
    let same = h
        .send(
            Method::PUT,
            &format!("/v1/tenants/{}/users/{ann}/roles", t.id),
            Some(OPERATOR),
            Some(json!({"roles": ["user"]})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(same.body, json!({"position": head, "unchanged": true}));
    assert_eq!(h.head().await, head);
}

#[tokio::test]
async fn the_check_answers_allowed_and_denied_with_reasons() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let app = h.jwt(t.id, ann, Some("check"), false);
    let path = format!("/v1/tenants/{}/check?min_position={}", t.id, h.head().await);

    let allowed = h
        .send(
            Method::POST,
            &path,
            Some(&app),
            Some(
                json!({"user_id": ann.to_string(), "permission": "contacts.view",
                        "resource": {"owner_id": null}}),
            ),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(allowed.body["allowed"], json!(true));
    assert!(!allowed.body["sources"].as_array().unwrap().is_empty());
    assert!(allowed.body["position"].as_u64().unwrap() >= 1);
    assert!(allowed.body["reason"].is_string());

    let denied = h
        .send(
            Method::POST,
            &path,
            Some(&app),
            Some(json!({"user_id": ann.to_string(), "permission": "billing.edit"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(denied.body["allowed"], json!(false));
    assert_eq!(denied.body["denial"], json!("no-grant"));
}

#[tokio::test]
async fn the_audit_trail_lists_filters_and_pages() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ann = h.member(t.id, "ann@acme.test", &["user"]).await;
    let last = h
        .send(
            Method::PUT,
            &format!("/v1/tenants/{}/users/{ann}/roles", t.id),
            Some(OPERATOR),
            Some(json!({"roles": ["admin"], "reason": "promotion"})),
        )
        .await
        .expect(StatusCode::OK);
    let base = format!(
        "/v1/tenants/{}/audit?min_position={}",
        t.id,
        last.position()
    );

    let all = h.get(&base, OPERATOR).await.expect(StatusCode::OK);
    let types: Vec<&str> = all.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        types,
        vec![
            "tenant.created",
            "user.invited",
            "invitation.accepted",
            "user.roles_changed"
        ]
    );
    assert_eq!(all.body["next_cursor"], Value::Null);

    let changed = h
        .get(&format!("{base}&type=user.roles_changed"), OPERATOR)
        .await
        .expect(StatusCode::OK);
    let entry = &changed.body["entries"][0];
    assert_eq!(entry["before"], json!({"roles": ["user"]}));
    assert_eq!(entry["after"], json!({"roles": ["admin"]}));
    assert_eq!(entry["reason"], json!("promotion"));
    assert_eq!(entry["actor"], json!("operator"));
    assert_eq!(entry["target"], json!(ann.to_string()));
    assert!(entry["hash"].as_str().unwrap().len() == 64);

    let invited = h
        .get(&format!("{base}&type=user.invited"), OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert!(
        invited.body["entries"][0]["after"].get("nonce").is_none(),
        "the audit trail never shows nonces"
    );

    let first = h
        .get(&format!("{base}&limit=2"), OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert_eq!(first.body["entries"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = h
        .get(&format!("{base}&limit=2&cursor={cursor}"), OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        second.body["entries"][0]["type"],
        json!("invitation.accepted")
    );

    let by_user = h
        .get(&format!("{base}&user={ann}&actor=operator"), OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert_eq!(by_user.body["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn compliance_endpoints_answer_from_the_log() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    // Before the tenant existed the owner was nobody.
    h.get(
        &format!(
            "/v1/tenants/{}/users/{}/effective-permissions?at=2000-01-01T00:00:00Z",
            t.id, t.owner
        ),
        OPERATOR,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not-found");
    let now = h
        .get(
            &format!(
                "/v1/tenants/{}/users/{}/effective-permissions",
                t.id, t.owner
            ),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(now.body["status"], "active");
    assert!(!now.body["effective"].as_array().unwrap().is_empty());
    let review = h
        .get(&format!("/v1/tenants/{}/access-review", t.id), OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert_eq!(review.body["members"].as_array().unwrap().len(), 1);
    h.get(
        &format!(
            "/v1/tenants/{}/access-diff?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            t.id
        ),
        OPERATOR,
    )
    .await
    .problem(StatusCode::BAD_REQUEST, "validation");
    // This in-process router has no checkpoint store; `serve` always has one.
    h.get(&format!("/v1/tenants/{}/checkpoints", t.id), OPERATOR)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi_answer() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    h.get("/healthz", OPERATOR).await.expect(StatusCode::OK);
    assert!(h.read_wait(t.position).await);
    let ready = h.get("/readyz", OPERATOR).await.expect(StatusCode::OK);
    assert_eq!(ready.body["status"], json!("ready"));
    let health = h.get("/healthz", OPERATOR).await.expect(StatusCode::OK);
    assert_eq!(health.body["head"], ready.body["head"], "{}", health.body);
    assert_eq!(health.body["head"], json!(t.position));
    h.send(
        Method::POST,
        &format!("/v1/tenants/{}/check", t.id),
        Some(OPERATOR),
        Some(json!({"user_id": t.owner.to_string(), "permission": "contacts.view"})),
    )
    .await
    .expect(StatusCode::OK);
    let metrics = h.get("/metrics", OPERATOR).await.expect(StatusCode::OK);
    let text = metrics.body.as_str().unwrap();
    for name in [
        "rollcall_commands_total",
        "rollcall_append_seconds",
        "rollcall_projection_position",
        "rollcall_projection_quarantined",
        "rollcall_checks_total",
    ] {
        assert!(text.contains(name), "metrics lack {name}:\n{text}");
    }
    let doc = h
        .get("/openapi.json", OPERATOR)
        .await
        .expect(StatusCode::OK);
    assert!(doc.body["paths"]["/v1/tenants"].is_object());
}

#[tokio::test]
async fn every_answer_carries_the_read_position() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    assert!(h.read_wait(t.position).await);
    let ok = h.get("/healthz", OPERATOR).await;
    assert_eq!(
        ok.header("x-rollcall-position"),
        Some(t.position.to_string().as_str())
    );
    let err = h.get("/v1/tenants/not-a-uuid/users", OPERATOR).await;
    assert!(err.header("x-rollcall-position").is_some());
}

#[tokio::test]
async fn concurrent_commands_on_one_tenant_all_land_in_one_chain() {
    let h = std::sync::Arc::new(Harness::embedded());
    let t = h.tenant(json!("jtek")).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let h = h.clone();
            let path = format!("/v1/tenants/{}/invitations", t.id);
            tokio::spawn(async move {
                h.send(
                    Method::POST,
                    &path,
                    Some(OPERATOR),
                    Some(
                        json!({"email": format!("u{i}@acme.test"), "display_name": "U",
                                "roles": ["user"]}),
                    ),
                )
                .await
                .expect(StatusCode::CREATED)
                .position()
            })
        })
        .collect();
    let mut positions = Vec::new();
    for task in tasks {
        positions.push(task.await.unwrap());
    }
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), 12, "every command has its own position");
    let list = h
        .get(
            &format!("/v1/tenants/{}/users?min_position={}", t.id, positions[11]),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(users_of(&list.body).len(), 13);
    assert_eq!(h.log.tenant_head(t.id).await.unwrap(), 13);
}

#[tokio::test]
async fn a_min_position_past_the_head_is_refused_at_once() {
    min_position_past_the_head_is_refused(&Harness::embedded()).await;
}
