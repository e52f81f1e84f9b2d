//! Jtek (seeds/000): the CRM's help articles as scenarios against the real binary.
//! Roles set the default, per-user permissions override them, contacts can be
//! restricted to those assigned, invitations last 72 hours, deactivation is at once.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Harness, invitation_token, position, slug};

/// A tenant with its owner's token.
struct Jtek {
    h: Harness,
    tenant: String,
    owner: String,
    admin: String,
}

impl Jtek {
    async fn start(backend: Backend, plan: Option<&str>) -> Jtek {
        let h = Harness::start(backend);
        let (tenant, owner) = h.create_tenant("jtek", plan).await;
        let admin = h.token(&tenant, &owner);
        Jtek {
            h,
            tenant,
            owner,
            admin,
        }
    }

    /// An active member with `roles`; returns (user_id, position).
    async fn member(&self, email: &str, name: &str, roles: Value) -> (String, u64) {
        self.h
            .join(
                &self.tenant,
                &self.admin,
                email,
                json!({"display_name": name, "roles": roles}),
            )
            .await
    }

    async fn check(&self, at: u64, user: &str, permission: &str) -> Value {
        self.h
            .check(
                &self.tenant,
                &self.admin,
                at,
                json!({"user_id": user, "permission": permission, "resource": {}}),
            )
            .await
    }

    async fn check_owned(&self, at: u64, user: &str, permission: &str, owner: Value) -> Value {
        self.h
            .check(
                &self.tenant,
                &self.admin,
                at,
                json!({"user_id": user, "permission": permission, "resource": {"owner_id": owner}}),
            )
            .await
    }

    async fn toggle(&self, user: &str, permission: &str, state: &str) -> u64 {
        let (status, answer) = self
            .h
            .toggle(&self.tenant, &self.admin, user, permission, state)
            .await;
        assert_eq!(status, StatusCode::OK, "{permission} {state}: {answer}");
        position(&answer)
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.h
            .put(
                &format!("/v1/tenants/{}{path}", self.tenant),
                &self.admin,
                body,
            )
            .await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.h
            .post(
                &format!("/v1/tenants/{}{path}", self.tenant),
                &self.admin,
                body,
            )
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.h
            .get(&format!("/v1/tenants/{}{path}", self.tenant), &self.admin)
            .await
    }
}

fn source_kinds(answer: &Value) -> Vec<String> {
    answer["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind").to_owned())
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .expect("a time")
        .parse()
        .expect("RFC 3339 time")
}

/// Every permission of the catalog, as `area.action`.
async fn all_permissions(t: &Jtek) -> Vec<String> {
    let (status, catalog) = t.get("/catalog").await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let mut out = Vec::new();
    for area in catalog["areas"].as_array().expect("areas") {
        for action in area["actions"].as_array().expect("actions") {
            out.push(format!(
                "{}.{}",
                area["key"].as_str().unwrap(),
                action["key"].as_str().unwrap()
            ));
        }
    }
    out
}

#[tokio::test]
async fn admin_sees_and_changes_everything() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let permissions = all_permissions(&t).await;
    assert!(permissions.len() >= 30, "{permissions:?}");
    for permission in &permissions {
        let answer = t.check(0, &t.owner, permission).await;
        assert_eq!(answer["allowed"], true, "{permission}: {answer}");
        assert_eq!(
            answer["sources"][0],
            json!({"kind": "role", "role": "admin"})
        );
    }
    // A second admin holds the same and can change billing-level things: the plan.
    let (admin2, at) = t
        .member("partner@example.com", "Pat Partner", json!(["admin"]))
        .await;
    for permission in [
        "billing.edit",
        "settings.edit",
        "team.manage",
        "reporting.delete",
    ] {
        assert_eq!(t.check(at, &admin2, permission).await["allowed"], true);
    }
    let partner = t.h.token(&t.tenant, &admin2);
    let (status, answer) =
        t.h.put(
            &format!("/v1/tenants/{}/plan", t.tenant),
            &partner,
            json!({"plan": "starter"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, team) =
        t.h.get(&format!("/v1/tenants/{}/users", t.tenant), &partner)
            .await;
    assert_eq!(status, StatusCode::OK, "{team}");
    assert_eq!(team["users"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn user_role_gets_the_crm_but_not_billing_settings_or_team() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (user, at) = t
        .member("sam@example.com", "Sam Sales", json!(["user"]))
        .await;
    for area in ["contacts", "conversations", "calendar", "opportunities"] {
        for action in ["view", "create", "edit", "delete"] {
            let answer = t.check(at, &user, &format!("{area}.{action}")).await;
            assert_eq!(answer["allowed"], true, "{area}.{action}: {answer}");
            assert_eq!(
                answer["sources"][0],
                json!({"kind": "role", "role": "user"})
            );
        }
    }
    for permission in [
        "billing.view",
        "billing.edit",
        "settings.view",
        "settings.edit",
        "team.view",
        "team.manage",
    ] {
        let answer = t.check(at, &user, permission).await;
        assert_eq!(answer["allowed"], false, "{permission}: {answer}");
        assert_eq!(answer["denial"], "no-grant", "{answer}");
    }
    // The API answers the same way to the user's own token.
    let token = t.h.token(&t.tenant, &user);
    let tenant = &t.tenant;
    let (status, _) =
        t.h.get(&format!("/v1/tenants/{tenant}/users"), &token)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) =
        t.h.post(
            &format!("/v1/tenants/{tenant}/invitations"),
            &token,
            json!({"email": "x@example.com", "display_name": "X", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) =
        t.h.put(
            &format!("/v1/tenants/{tenant}/plan"),
            &token,
            json!({"plan": "starter"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // Their own profile is readable.
    let (status, me) =
        t.h.get(&format!("/v1/tenants/{tenant}/users/{user}"), &token)
            .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["roles"], json!(["user"]));
}

#[tokio::test]
async fn custom_roles_on_pro_and_refused_on_starter() {
    let t = Jtek::start(Backend::Embedded, Some("pro")).await;
    let (status, answer) = t
        .post(
            "/roles",
            json!({"key": "view_only", "label": "View Only",
                   "grants": ["contacts.view", "conversations.view", "calendar.view",
                              "opportunities.view", "reporting.view"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = t
        .post(
            "/roles",
            json!({"key": "scheduler_only", "label": "Scheduler Only", "grants": ["calendar.*"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let (viewer, at) = t
        .member("rita@example.com", "Rita Reports", json!(["view_only"]))
        .await;
    let (booker, at2) = t
        .member("bo@example.com", "Bo Booker", json!(["scheduler_only"]))
        .await;
    let at = at.max(at2);
    let allowed = t.check(at, &viewer, "reporting.view").await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(
        allowed["sources"][0],
        json!({"kind": "role", "role": "view_only"})
    );
    assert_eq!(
        t.check(at, &viewer, "contacts.edit").await["allowed"],
        false
    );
    assert_eq!(
        t.check(at, &viewer, "reporting.edit").await["allowed"],
        false
    );
    let allowed = t.check(at, &booker, "calendar.delete").await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(
        allowed["sources"][0],
        json!({"kind": "role", "role": "scheduler_only"})
    );
    assert_eq!(
        t.check(at, &booker, "contacts.view").await["allowed"],
        false
    );

    let (_, catalog) = t.get("/catalog").await;
    let roles: Vec<&str> = catalog["tenant_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"View Only") && roles.contains(&"Scheduler Only"),
        "{roles:?}"
    );

    let starter = Jtek::start(Backend::Embedded, Some("starter")).await;
    let (status, problem) = starter
        .post(
            "/roles",
            json!({"key": "view_only", "label": "View Only", "grants": ["contacts.view"]}),
        )
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "plan-restriction", "{problem}");
}

#[tokio::test]
async fn contacts_sub_options_let_a_user_edit_but_not_delete() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (_, catalog) = t.get("/catalog").await;
    let contacts = catalog["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == "contacts")
        .expect("contacts area");
    let actions: Vec<&str> = contacts["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["View", "Create", "Edit", "Delete"]);

    let (va, _) = t
        .member("va@example.com", "Val Assistant", json!(["user"]))
        .await;
    let at = t.toggle(&va, "contacts.delete", "deny").await;
    assert_eq!(t.check(at, &va, "contacts.edit").await["allowed"], true);
    assert_eq!(t.check(at, &va, "contacts.create").await["allowed"], true);
    let denied = t.check(at, &va, "contacts.delete").await;
    assert_eq!(denied["allowed"], false, "{denied}");
    assert_eq!(denied["denial"], "overridden", "{denied}");
    let (_, member) = t.get(&format!("/users/{va}?min_position={at}")).await;
    assert_eq!(member["overrides"], json!({"contacts.delete": "deny"}));
}

#[tokio::test]
async fn custom_permissions_override_the_role_and_the_check_names_the_source() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (va, _) = t
        .member("va@example.com", "Val Assistant", json!(["user"]))
        .await;

    // Allow adds: Reporting is not in the User role.
    let at = t.toggle(&va, "reporting.view", "allow").await;
    let answer = t.check(at, &va, "reporting.view").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(source_kinds(&answer), ["override"]);
    assert_eq!(answer["sources"][0]["position"], at);
    assert_eq!(answer["sources"][0]["by"], t.owner.as_str(), "{answer}");

    // Deny beats the role.
    let at = t.toggle(&va, "opportunities.view", "deny").await;
    let answer = t.check(at, &va, "opportunities.view").await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["denial"], "overridden");
    assert!(
        answer["reason"].as_str().unwrap().contains("override")
            || answer["reason"].as_str().unwrap().contains("denied"),
        "{answer}"
    );

    // Inherit goes back to the role.
    let at = t.toggle(&va, "opportunities.view", "inherit").await;
    let answer = t.check(at, &va, "opportunities.view").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(
        answer["sources"][0],
        json!({"kind": "role", "role": "user"})
    );

    // The member view lists effective permissions with their sources.
    let (_, member) = t.get(&format!("/users/{va}?min_position={at}")).await;
    let effective = member["effective"].as_array().expect("effective");
    let reporting = effective
        .iter()
        .find(|e| e["permission"] == "reporting.view")
        .expect("reporting.view is effective");
    assert_eq!(reporting["sources"][0]["kind"], "override");
    assert!(!effective.iter().any(|e| e["permission"] == "billing.view"));
}

#[tokio::test]
async fn role_changes_take_effect_at_once() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (sam, at) = t
        .member("sam@example.com", "Sam Sales", json!(["user"]))
        .await;
    assert_eq!(t.check(at, &sam, "billing.view").await["allowed"], false);

    let (status, answer) = t
        .put(
            &format!("/users/{sam}/roles"),
            json!({"roles": ["admin"], "reason": "partner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer = t.check(position(&answer), &sam, "billing.view").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(
        answer["sources"][0],
        json!({"kind": "role", "role": "admin"})
    );

    let (status, answer) = t
        .put(&format!("/users/{sam}/roles"), json!({"roles": ["user"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer = t.check(position(&answer), &sam, "billing.view").await;
    assert_eq!(answer["allowed"], false, "{answer}");

    // The trail reads on its own: from and to.
    let (_, audit) = t
        .get(&format!("/audit?user={sam}&type=user.roles_changed"))
        .await;
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{audit}");
    assert_eq!(entries[0]["reason"], "partner");
}

#[tokio::test]
async fn invitations_last_72_hours_and_a_resend_renews_the_link() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (status, invited) = t
        .post(
            "/invitations",
            json!({"email": "new@example.com", "display_name": "Nia New", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let invitation = invited["invitation_id"].as_str().unwrap().to_owned();
    let user = invited["user_id"].as_str().unwrap().to_owned();
    let first_expiry = time(&invited["expires_at"]);

    let (_, audit) = t
        .get(&format!(
            "/audit?user={user}&type=user.invited&min_position={}",
            position(&invited)
        ))
        .await;
    let sent = time(&audit["entries"][0]["occurred_at"]);
    assert_eq!(first_expiry - sent, Duration::hours(72), "{audit}");
    let (_, member) = t
        .get(&format!(
            "/users/{user}?min_position={}",
            position(&invited)
        ))
        .await;
    assert_eq!(member["status"], "invited");
    assert_eq!(time(&member["invitation_expires_at"]), first_expiry);
    let first_link = invitation_token(t.h.server.data_dir(), &invitation, 1);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, resent) = t
        .post(&format!("/invitations/{invitation}/resend"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resent}");
    let (_, audit) = t
        .get(&format!(
            "/audit?user={user}&type=invitation.resent&min_position={}",
            position(&resent)
        ))
        .await;
    let resent_at = time(&audit["entries"][0]["occurred_at"]);
    let (_, member) = t
        .get(&format!("/users/{user}?min_position={}", position(&resent)))
        .await;
    let second_expiry = time(&member["invitation_expires_at"]);
    assert!(second_expiry > first_expiry, "{member}");
    assert_eq!(second_expiry - resent_at, Duration::hours(72));

    let second_link = invitation_token(t.h.server.data_dir(), &invitation, 2);
    let (status, problem) =
        t.h.post("/v1/invitations/accept", "", json!({"token": first_link}))
            .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "invitation-superseded");
    let (status, accepted) =
        t.h.post("/v1/invitations/accept", "", json!({"token": second_link}))
            .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["user_id"], user.as_str());
}

#[tokio::test]
async fn only_assigned_contacts() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (rep, _) = t
        .member("rep@example.com", "Rae Rep", json!(["user"]))
        .await;
    let (other, _) = t
        .member("other@example.com", "Oto Other", json!(["user"]))
        .await;
    let (status, answer) = t
        .put(
            &format!("/users/{rep}/scopes/contacts"),
            json!({"scope": "assigned"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);

    let own = t.check_owned(at, &rep, "contacts.view", json!(rep)).await;
    assert_eq!(own["allowed"], true, "{own}");
    assert_eq!(own["scope"], "assigned", "{own}");
    let others = t.check_owned(at, &rep, "contacts.view", json!(other)).await;
    assert_eq!(others["allowed"], false, "{others}");
    assert_eq!(others["denial"], "scope-excluded", "{others}");
    let unassigned = t.check_owned(at, &rep, "contacts.view", Value::Null).await;
    assert_eq!(unassigned["allowed"], false, "{unassigned}");
    assert_eq!(unassigned["denial"], "scope-excluded", "{unassigned}");

    // The other user (scope `all`) sees all three.
    for owner in [json!(rep), json!(other), Value::Null] {
        let answer = t.check_owned(at, &other, "contacts.view", owner).await;
        assert_eq!(answer["allowed"], true, "{answer}");
    }
    let (_, member) = t.get(&format!("/users/{rep}?min_position={at}")).await;
    assert_eq!(member["scopes"]["contacts"], "assigned", "{member}");
}

#[tokio::test]
async fn deactivation_blocks_at_once_and_keeps_the_name_in_history() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (leaver, _) = t
        .member("leo@example.com", "Leo Leaver", json!(["user"]))
        .await;
    let (heir, _) = t
        .member("hal@example.com", "Hal Heir", json!(["user"]))
        .await;
    let token = t.h.token(&t.tenant, &leaver);
    let me = format!("/v1/tenants/{}/users/{leaver}", t.tenant);
    let (status, _) = t.h.get(&me, &token).await;
    assert_eq!(status, StatusCode::OK);

    let (status, answer) = t
        .post(
            &format!("/users/{leaver}/deactivate"),
            json!({"reason": "left the company", "reassign_to": heir}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = position(&answer);

    // At once: the token no longer works and the check denies.
    let (status, problem) = t.h.get(&me, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    let denied = t.check(at, &leaver, "contacts.view").await;
    assert_eq!(denied["allowed"], false, "{denied}");
    assert_eq!(denied["denial"], "not-active", "{denied}");

    // The name stays in the team list and in the trail; reassign_to is recorded.
    let (_, team) = t.get(&format!("/users?min_position={at}")).await;
    let row = team["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["user_id"] == leaver.as_str())
        .expect("deactivated member listed");
    assert_eq!(row["display_name"], "Leo Leaver");
    assert_eq!(row["status"], "deactivated");
    let (_, audit) = t.get(&format!("/audit?user={leaver}")).await;
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.len() >= 3, "{audit}");
    assert!(
        entries.iter().all(|e| e["target_name"] == "Leo Leaver"),
        "{audit}"
    );
    let last = entries
        .iter()
        .find(|e| e["type"] == "user.deactivated")
        .expect("user.deactivated entry");
    assert_eq!(last["reason"], "left the company");
    let (_, member) = t.get(&format!("/users/{leaver}")).await;
    assert_eq!(member["reassign_to"], heir.as_str(), "{member}");
    assert_eq!(member["status"], "deactivated");
}

/// The main walk-through (invite, accept, role, toggle, scope, deactivate) on JetStream.
#[tokio::test]
async fn walk_through_on_jetstream() {
    let t = Jtek::start(Backend::JetStream, None).await;
    let (va, at) = t
        .member("va@example.com", "Val Assistant", json!(["user"]))
        .await;
    assert_eq!(t.check(at, &va, "contacts.view").await["allowed"], true);
    assert_eq!(t.check(at, &va, "reporting.view").await["allowed"], false);
    let at = t.toggle(&va, "reporting.view", "allow").await;
    assert_eq!(t.check(at, &va, "reporting.view").await["allowed"], true);
    let at = t.toggle(&va, "contacts.delete", "deny").await;
    assert_eq!(t.check(at, &va, "contacts.delete").await["allowed"], false);
    let (_, answer) = t
        .put(
            &format!("/users/{va}/scopes/contacts"),
            json!({"scope": "assigned"}),
        )
        .await;
    let at = position(&answer);
    assert_eq!(
        t.check_owned(at, &va, "contacts.view", Value::Null).await["allowed"],
        false
    );
    let (_, answer) = t
        .put(&format!("/users/{va}/roles"), json!({"roles": ["admin"]}))
        .await;
    let at = position(&answer);
    assert_eq!(t.check(at, &va, "billing.edit").await["allowed"], true);
    let (status, answer) = t
        .post(
            &format!("/users/{va}/deactivate"),
            json!({"reason": "done"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let denied = t.check(position(&answer), &va, "contacts.view").await;
    assert_eq!(denied["denial"], "not-active");
    let (_, team) = t
        .get(&format!("/users?min_position={}", position(&answer)))
        .await;
    assert_eq!(team["users"].as_array().unwrap().len(), 2);
}

/// The team list in email order (user ids are random, and the list is in id order).
pub fn by_email(mut team: Value) -> Value {
    team["users"]
        .as_array_mut()
        .expect("users")
        .sort_by_key(|u| u["email"].as_str().unwrap_or_default().to_owned());
    team
}

/// Maps ids and times to stable names before a snapshot.
pub fn stable(value: &Value, names: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) => {
            let mut s = s.clone();
            for (id, name) in names {
                s = s.replace(id, name);
            }
            if s.parse::<DateTime<Utc>>().is_ok() {
                return json!("[time]");
            }
            Value::String(s)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| stable(v, names)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "invitation_id" if !v.is_null() => json!("[invitation]"),
                        "position" if !v.is_null() => json!("[position]"),
                        _ => stable(v, names),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn team_list_and_member_snapshots() {
    let t = Jtek::start(Backend::Embedded, None).await;
    let (va, _) = t
        .member("va@example.com", "Val Assistant", json!(["user"]))
        .await;
    t.toggle(&va, "reporting.view", "allow").await;
    let at = t.toggle(&va, "contacts.delete", "deny").await;
    let (_, team) = t.get(&format!("/users?min_position={at}")).await;
    let names = [
        (t.owner.as_str(), "[owner]"),
        (va.as_str(), "[va]"),
        (t.tenant.as_str(), "[tenant]"),
    ];
    insta::assert_json_snapshot!("jtek_team", stable(&by_email(team), &names));
    let (_, member) = t.get(&format!("/users/{va}?min_position={at}")).await;
    insta::assert_json_snapshot!("jtek_member", stable(&member, &names));
}
