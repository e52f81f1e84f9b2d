//! Jetbuilt (seeds/001): the project-quoting platform's "User Permission Breakdown"
//! as scenarios against the real binary. No roles besides the owner's; sixteen
//! permissions switched on one by one; View Projects is the baseline; Lite keeps
//! some permissions always on; offices limit which projects a member sees.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::jtek::{by_email, stable};
use crate::support::{Backend, Harness, position, slug};

struct Jetbuilt {
    h: Harness,
    tenant: String,
    owner: String,
    admin: String,
}

impl Jetbuilt {
    /// Settings > Plan: the account moves to Enterprise.
    async fn upgrade(&self) {
        let (status, answer) = self
            .h
            .put(
                &format!("/v1/tenants/{}/plan", self.tenant),
                &self.admin,
                json!({"plan": "enterprise"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    async fn start(plan: Option<&str>) -> Jetbuilt {
        let h = Harness::start(Backend::Embedded);
        let (tenant, owner) = h.create_tenant("jetbuilt", plan).await;
        let admin = h.token(&tenant, &owner);
        Jetbuilt {
            h,
            tenant,
            owner,
            admin,
        }
    }

    /// An active member with no role, in the office `hq`; returns (user_id, position).
    async fn member(&self, email: &str, name: &str) -> (String, u64) {
        let (user, _) = self
            .h
            .join(
                &self.tenant,
                &self.admin,
                email,
                json!({"display_name": name, "roles": []}),
            )
            .await;
        let (status, answer) = self.offices(&user, json!([HQ])).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        (user, position(&answer))
    }

    async fn check_in(&self, at: u64, user: &str, permission: &str, resource: Value) -> Value {
        self.h
            .check(
                &self.tenant,
                &self.admin,
                at,
                json!({"user_id": user, "permission": permission, "resource": resource}),
            )
            .await
    }

    /// The check for a resource (a project) in the office `hq`.
    async fn allowed(&self, at: u64, user: &str, permission: &str) -> bool {
        let answer = self
            .check_in(at, user, permission, json!({"office_id": HQ}))
            .await;
        answer["allowed"].as_bool().expect("allowed")
    }

    async fn toggle(&self, user: &str, permission: &str, state: &str) -> (StatusCode, Value) {
        self.h
            .toggle(&self.tenant, &self.admin, user, permission, state)
            .await
    }

    /// Toggles and expects success; returns the position.
    async fn set(&self, user: &str, permission: &str, state: &str) -> u64 {
        let (status, answer) = self.toggle(user, permission, state).await;
        assert_eq!(status, StatusCode::OK, "{permission} {state}: {answer}");
        position(&answer)
    }

    async fn offices(&self, user: &str, offices: Value) -> (StatusCode, Value) {
        self.h
            .put(
                &format!("/v1/tenants/{}/users/{user}/offices", self.tenant),
                &self.admin,
                json!({"offices": offices}),
            )
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.h
            .get(&format!("/v1/tenants/{}{path}", self.tenant), &self.admin)
            .await
    }
}

/// The office every member of these scenarios belongs to.
const HQ: &str = "hq";

const LITE_ALWAYS_ON: [&str; 7] = [
    "projects.view",
    "projects.all",
    "report_pages.design",
    "product_database.use",
    "company_database.manage",
    "products.push_updates",
    "costs.view",
];

#[tokio::test]
async fn no_roles_besides_the_owners() {
    let t = Jetbuilt::start(None).await;
    let (_, catalog) = t.get("/catalog").await;
    let roles: Vec<&str> = catalog["tenant_roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner"]);
    assert_eq!(catalog["plan"], "enterprise");
    // A new member on Enterprise starts with nothing switched on.
    let (member, at) = t.member("mo@example.com", "Mo Member").await;
    let answer = t.check_in(at, &member, "projects.view", json!({})).await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["denial"], "no-grant");
    let (_, detail) = t.get(&format!("/users/{member}")).await;
    assert_eq!(detail["roles"], json!([]));
    assert_eq!(detail["effective"], json!([]));
    // The owner holds every permission through the owner role.
    let answer = t.check_in(at, &t.owner, "billing.manage", json!({})).await;
    assert_eq!(
        answer["sources"][0],
        json!({"kind": "role", "role": "owner"})
    );
}

#[tokio::test]
async fn the_sixteen_permissions_as_listed() {
    let t = Jetbuilt::start(None).await;
    let (status, catalog) = t.get("/catalog").await;
    assert_eq!(status, StatusCode::OK);
    let mut listed: Vec<(String, String)> = Vec::new();
    for area in catalog["areas"].as_array().unwrap() {
        for action in area["actions"].as_array().unwrap() {
            listed.push((
                format!(
                    "{}.{}",
                    area["key"].as_str().unwrap(),
                    action["key"].as_str().unwrap()
                ),
                action["label"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let mut labels: Vec<&str> = listed.iter().map(|(_, l)| l.as_str()).collect();
    labels.sort_unstable();
    let mut article = vec![
        "Manage Billing Information",
        "Add/Remove Team Members",
        "Edit Company Settings (Admin)",
        "Access All Office Locations",
        "Access All Projects",
        "Control Projects (Manager)",
        "Engineer Projects",
        "Run Company Reports",
        "Share Projects",
        "Design Report Pages",
        "Set Up Items from the Jetbuilt Product Database",
        "Manage Company Database",
        "Push Updates to Products",
        "See Costs and Margins",
        "Create and Edit Clients and Projects",
        "View Projects",
    ];
    article.sort_unstable();
    assert_eq!(labels, article);
    let team = listed
        .iter()
        .find(|(_, l)| l == "Add/Remove Team Members")
        .unwrap();
    assert_eq!(team.0, "team.manage");
    assert_eq!(catalog["team_permission"], "team.manage");
}

#[tokio::test]
async fn view_projects_is_the_baseline_of_every_project_permission() {
    let t = Jetbuilt::start(None).await;
    let (member, _) = t.member("mo@example.com", "Mo Member").await;
    for permission in [
        "projects.edit",
        "projects.all",
        "projects.control",
        "projects.engineer",
        "projects.share",
        "costs.view",
        "report_pages.design",
    ] {
        let (status, problem) = t.toggle(&member, permission, "allow").await;
        assert_eq!(status.as_u16() / 100, 4, "{permission}: {problem}");
        assert_eq!(slug(&problem), "prerequisite-missing", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("projects.view"),
            "{problem}"
        );
        assert_eq!(problem["requires"], "projects.view", "{problem}");
    }
    t.set(&member, "projects.view", "allow").await;
    let at = t.set(&member, "projects.edit", "allow").await;
    assert!(t.allowed(at, &member, "projects.edit").await);
    // Only View Projects: view-only access.
    let (viewer, _) = t.member("vi@example.com", "Vi Viewer").await;
    let at = t.set(&viewer, "projects.view", "allow").await;
    assert!(t.allowed(at, &viewer, "projects.view").await);
    assert!(!t.allowed(at, &viewer, "projects.edit").await);
    // Taking View Projects away drops what depends on it.
    let at = t.set(&member, "projects.view", "deny").await;
    assert!(!t.allowed(at, &member, "projects.edit").await);
}

#[tokio::test]
async fn lite_keeps_its_permissions_on_until_the_plan_changes_to_enterprise() {
    let t = Jetbuilt::start(Some("lite")).await;
    let (member, at) = t.member("li@example.com", "Lee Lite").await;
    for permission in LITE_ALWAYS_ON {
        let answer = t
            .check_in(at, &member, permission, json!({"office_id": HQ}))
            .await;
        assert_eq!(answer["allowed"], true, "{permission}: {answer}");
        assert_eq!(
            answer["sources"][0],
            json!({"kind": "plan", "plan": "lite"})
        );
        let (status, problem) = t.toggle(&member, permission, "deny").await;
        assert_eq!(status.as_u16() / 100, 4, "{permission}: {problem}");
        assert_eq!(slug(&problem), "plan-restriction", "{problem}");
    }
    assert!(!t.allowed(at, &member, "billing.manage").await);
    let (status, problem) = t.toggle(&member, "reports.run", "allow").await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "plan-restriction", "{problem}");
    let (status, problem) = t.offices(&member, json!(["north", "south"])).await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "plan-restriction", "{problem}");
    let (other, _) = t.member("ot@example.com", "Oti Other").await;
    let (status, problem) = t.offices(&other, json!(["south"])).await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "plan-restriction", "{problem}");

    t.upgrade().await;
    // On Enterprise they are ordinary toggles.
    t.set(&member, "projects.view", "allow").await;
    let at = t.set(&member, "costs.view", "allow").await;
    assert!(t.allowed(at, &member, "costs.view").await);
    let at = t.set(&member, "costs.view", "deny").await;
    let answer = t.check_in(at, &member, "costs.view", json!({})).await;
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["denial"], "overridden");
    let at = t.set(&member, "reports.run", "allow").await;
    assert!(t.allowed(at, &member, "reports.run").await);
    let (status, answer) = t.offices(&member, json!(["north", "south"])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// "Lite users will always have access to all projects": Lite has one office at
/// most, so a member in no office still sees every project.
#[tokio::test]
async fn lite_members_see_every_project() {
    let t = Jetbuilt::start(Some("lite")).await;
    let (member, at) =
        t.h.join(
            &t.tenant,
            &t.admin,
            "li@example.com",
            json!({"display_name": "Lee Lite", "roles": []}),
        )
        .await;
    for resource in [json!({}), json!({"office_id": HQ})] {
        let answer = t.check_in(at, &member, "projects.view", resource).await;
        assert_eq!(answer["allowed"], true, "{answer}");
        assert_eq!(
            answer["sources"][0],
            json!({"kind": "plan", "plan": "lite"})
        );
    }
    // After the upgrade to Enterprise, offices apply.
    t.upgrade().await;
    let at = t.set(&member, "projects.view", "allow").await;
    let answer = t
        .check_in(at, &member, "projects.view", json!({"office_id": HQ}))
        .await;
    assert_eq!(answer["denial"], "scope-excluded", "{answer}");
}

#[tokio::test]
async fn office_locations_limit_the_projects_a_member_sees() {
    let t = Jetbuilt::start(None).await;
    let (local, _) = t.member("lo@example.com", "Lou Local").await;
    let (roamer, _) = t.member("ro@example.com", "Roz Roamer").await;
    t.set(&local, "projects.view", "allow").await;
    let (status, answer) = t.offices(&local, json!(["north"])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = t.offices(&roamer, json!(["north", "south"])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    t.set(&roamer, "projects.view", "allow").await;
    let at = t.set(&roamer, "offices.all", "allow").await;

    let north = json!({"office_id": "north"});
    let south = json!({"office_id": "south"});
    let east = json!({"office_id": "east"});
    let answer = t.check_in(at, &local, "projects.view", north.clone()).await;
    assert_eq!(answer["allowed"], true, "{answer}");
    for office in [&south, &east] {
        let answer = t
            .check_in(at, &local, "projects.view", office.clone())
            .await;
        assert_eq!(answer["allowed"], false, "{answer}");
        assert_eq!(answer["denial"], "scope-excluded", "{answer}");
    }
    for office in [north, south, east] {
        let answer = t.check_in(at, &roamer, "projects.view", office).await;
        assert_eq!(answer["allowed"], true, "{answer}");
    }
    // A member holding Access All Office Locations cannot be removed from an office.
    let (status, problem) = t.offices(&roamer, json!(["north"])).await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert_eq!(slug(&problem), "all-offices", "{problem}");
}

#[tokio::test]
async fn add_remove_team_members_is_the_team_permission() {
    let t = Jetbuilt::start(None).await;
    let (member, _) = t.member("mo@example.com", "Mo Member").await;
    let token = t.h.token(&t.tenant, &member);
    let invite = |email: &str| json!({"email": email, "display_name": "New Hire", "roles": []});
    let path = format!("/v1/tenants/{}/invitations", t.tenant);
    let (status, problem) = t.h.post(&path, &token, invite("a@example.com")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) =
        t.h.get(&format!("/v1/tenants/{}/users", t.tenant), &token)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let at = t.set(&member, "team.manage", "allow").await;
    let (status, answer) =
        t.h.post(
            &format!("{path}?min_position={at}"),
            &token,
            invite("b@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let at = answer["position"].as_u64().unwrap();
    let users = format!("/v1/tenants/{}/users?min_position={at}", t.tenant);
    let (status, team) = t.h.get(&users, &token).await;
    assert_eq!(status, StatusCode::OK, "{team}");
    assert_eq!(team["users"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn costs_and_company_database_are_independent_toggles() {
    let t = Jetbuilt::start(None).await;
    let (costs, _) = t.member("co@example.com", "Cy Costs").await;
    let (database, _) = t.member("db@example.com", "Dee Database").await;
    t.set(&costs, "projects.view", "allow").await;
    t.set(&costs, "costs.view", "allow").await;
    let at = t.set(&database, "company_database.manage", "allow").await;
    assert!(t.allowed(at, &costs, "costs.view").await);
    assert!(!t.allowed(at, &costs, "company_database.manage").await);
    assert!(t.allowed(at, &database, "company_database.manage").await);
    assert!(!t.allowed(at, &database, "costs.view").await);
    // Turning costs off leaves the database as it was, and the other way round.
    let at = t.set(&costs, "costs.view", "deny").await;
    let at2 = t.set(&database, "company_database.manage", "inherit").await;
    assert!(!t.allowed(at.max(at2), &costs, "costs.view").await);
    assert!(t.allowed(at.max(at2), &costs, "projects.view").await);
    assert!(
        !t.allowed(at.max(at2), &database, "company_database.manage")
            .await
    );
}

#[tokio::test]
async fn billable_platforms_count_members_with_access() {
    let t = Jetbuilt::start(None).await;
    let (member, at) = t.member("mo@example.com", "Mo Member").await;
    let (status, answer) = t.get(&format!("/platforms?min_position={at}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The owner holds everything; the new member nothing yet.
    assert_eq!(answer, json!({"platforms": {"projects": 1}}));
    let at = t.set(&member, "projects.view", "allow").await;
    let (_, answer) = t.get(&format!("/platforms?min_position={at}")).await;
    assert_eq!(answer["platforms"]["projects"], 2, "{answer}");
    // Members without the team permission cannot read it.
    let token = t.h.token(&t.tenant, &member);
    let (status, _) =
        t.h.get(&format!("/v1/tenants/{}/platforms", t.tenant), &token)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn team_list_and_member_snapshots() {
    let t = Jetbuilt::start(None).await;
    let (member, _) = t.member("es@example.com", "Esti Estimator").await;
    t.set(&member, "projects.view", "allow").await;
    t.set(&member, "projects.edit", "allow").await;
    let (status, answer) = t.offices(&member, json!(["north"])).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let at = answer["position"].as_u64().unwrap();
    let names = [
        (t.owner.as_str(), "[owner]"),
        (member.as_str(), "[member]"),
        (t.tenant.as_str(), "[tenant]"),
    ];
    let (_, team) = t.get(&format!("/users?min_position={at}")).await;
    insta::assert_json_snapshot!("jetbuilt_team", stable(&by_email(team), &names));
    let (_, detail) = t.get(&format!("/users/{member}?min_position={at}")).await;
    insta::assert_json_snapshot!("jetbuilt_member", stable(&detail, &names));
}
