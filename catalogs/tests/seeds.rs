//! The seed catalogs hold every key that CATALOGS.md fixes: applications and admin
//! frontends name permissions and roles by these keys, so they are a contract.

use std::collections::{BTreeMap, BTreeSet};

use pretty_assertions::assert_eq;
use rollcall_catalogs::{by_name, names, source};
use rollcall_events::catalog::{PlanDoc, RoleDoc, ScopeDoc};
use rollcall_events::{CatalogDoc, Permission, RoleKey, Scope};

fn seed(name: &str) -> CatalogDoc {
    match by_name(name) {
        Some(doc) => doc,
        None => panic!(
            "seed `{name}` is missing or does not parse: {:?}",
            source(name).map(rollcall_catalogs::parse)
        ),
    }
}

fn permissions(doc: &CatalogDoc) -> BTreeSet<String> {
    doc.areas
        .iter()
        .flat_map(|a| {
            a.actions
                .iter()
                .map(move |x| format!("{}.{}", a.key, x.key))
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn perms(items: &[&str]) -> Vec<Permission> {
    items.iter().map(|s| Permission::from(*s)).collect()
}

fn role<'a>(doc: &'a CatalogDoc, key: &str) -> &'a RoleDoc {
    match doc.roles.iter().find(|r| r.key.as_str() == key) {
        Some(r) => r,
        None => panic!("{} has no role `{key}`", doc.key),
    }
}

fn plan<'a>(doc: &'a CatalogDoc, key: &str) -> &'a PlanDoc {
    match doc.plans.iter().find(|p| p.key == key) {
        Some(p) => p,
        None => panic!("{} has no plan `{key}`", doc.key),
    }
}

fn role_keys(doc: &CatalogDoc) -> Vec<&str> {
    doc.roles.iter().map(|r| r.key.as_str()).collect()
}

fn roles(items: &[&str]) -> Vec<RoleKey> {
    items.iter().map(|s| RoleKey::from(*s)).collect()
}

#[test]
fn names_are_the_four_seeds_and_each_parses_with_its_own_key() {
    assert_eq!(names(), &["jtek", "jetbuilt", "jobtracker", "jethub"]);
    for name in names() {
        assert_eq!(seed(name).key, *name);
    }
    assert!(by_name("nope").is_none());
    assert!(source("nope").is_none());
}

#[test]
fn every_label_is_filled_in() {
    for name in names() {
        let doc = seed(name);
        assert!(
            !doc.label.is_empty() && !doc.description.is_empty(),
            "{name}"
        );
        for area in &doc.areas {
            assert!(!area.label.is_empty(), "{name}: area {}", area.key);
            assert!(!area.actions.is_empty(), "{name}: area {}", area.key);
            for action in &area.actions {
                assert!(
                    !action.label.is_empty() && !action.description.is_empty(),
                    "{name}: {}.{}",
                    area.key,
                    action.key
                );
            }
        }
        for role in &doc.roles {
            assert!(
                !role.label.is_empty() && !role.description.is_empty(),
                "{name}: role {}",
                role.key
            );
        }
        for plan in &doc.plans {
            assert!(!plan.label.is_empty(), "{name}: plan {}", plan.key);
        }
    }
}

#[test]
fn every_seed_round_trips_through_serde_unchanged() {
    for name in names() {
        let doc = seed(name);
        let again = serde_json::to_string(&doc).map_err(|e| e.to_string());
        let reparsed = again
            .as_deref()
            .map(|json| rollcall_catalogs::parse(json).map_err(|e| e.to_string()));
        assert_eq!(reparsed, Ok(Ok(doc)), "{name}");
    }
}

#[test]
fn jtek() {
    let doc = seed("jtek");
    let mut expected = BTreeSet::new();
    for area in [
        "contacts",
        "conversations",
        "calendar",
        "opportunities",
        "reporting",
        "automations",
        "sites",
    ] {
        for action in ["view", "create", "edit", "delete"] {
            expected.insert(format!("{area}.{action}"));
        }
    }
    expected.extend(set(&[
        "settings.view",
        "settings.edit",
        "billing.view",
        "billing.edit",
        "team.view",
        "team.manage",
    ]));
    assert_eq!(permissions(&doc), expected);

    let scoped = ScopeDoc {
        options: vec![Scope::All, Scope::Assigned],
        default: Scope::All,
        lifted_by: BTreeMap::new(),
    };
    let scopes: BTreeMap<&str, Option<&ScopeDoc>> = doc
        .areas
        .iter()
        .map(|a| (a.key.as_str(), a.scope.as_ref()))
        .collect();
    for (area, scope) in &scopes {
        let want = matches!(*area, "contacts" | "conversations").then_some(&scoped);
        assert_eq!(*scope, want, "scope of {area}");
    }

    assert_eq!(role_keys(&doc), vec!["admin", "user"]);
    assert_eq!(role(&doc, "admin").grants, perms(&["*"]));
    assert_eq!(
        role(&doc, "user").grants,
        perms(&[
            "contacts.*",
            "conversations.*",
            "calendar.*",
            "opportunities.*"
        ])
    );
    assert!(doc.roles.iter().all(|r| r.except.is_empty()));
    assert_eq!(doc.default_role, None);
    assert!(!doc.multi_role);
    assert_eq!(doc.owner_roles, roles(&["admin"]));
    assert_eq!(doc.team_permission, Permission::from("team.manage"));
    assert!(doc.requires.is_empty());

    assert_eq!(
        doc.plans.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        vec!["starter", "pro"]
    );
    assert!(!plan(&doc, "starter").custom_roles);
    assert!(plan(&doc, "pro").custom_roles);
    assert_eq!(doc.default_plan, "pro");
    assert_eq!(doc.invite_ttl_hours, 72);
    assert!(!doc.invite_requires_mfa);
}

const JETBUILT_PROJECT_PERMISSIONS: [&str; 7] = [
    "projects.all",
    "projects.control",
    "projects.engineer",
    "projects.share",
    "projects.edit",
    "costs.view",
    "report_pages.design",
];

#[test]
fn jetbuilt() {
    let doc = seed("jetbuilt");
    assert_eq!(
        permissions(&doc),
        set(&[
            "billing.manage",
            "team.manage",
            "company_settings.edit",
            "offices.all",
            "projects.all",
            "projects.control",
            "projects.engineer",
            "reports.run",
            "projects.share",
            "report_pages.design",
            "product_database.use",
            "company_database.manage",
            "products.push_updates",
            "costs.view",
            "projects.edit",
            "projects.view",
        ])
    );

    // The article's headings are the labels a Jetbuilt admin knows.
    let label = |perm: &str| {
        doc.areas
            .iter()
            .flat_map(|a| {
                a.actions
                    .iter()
                    .map(move |x| (format!("{}.{}", a.key, x.key), x.label.as_str()))
            })
            .find(|(p, _)| p == perm)
            .map(|(_, l)| l)
    };
    assert_eq!(label("billing.manage"), Some("Manage Billing Information"));
    assert_eq!(label("team.manage"), Some("Add/Remove Team Members"));
    assert_eq!(
        label("company_settings.edit"),
        Some("Edit Company Settings (Admin)")
    );
    assert_eq!(label("offices.all"), Some("Access All Office Locations"));
    assert_eq!(label("projects.view"), Some("View Projects"));
    assert_eq!(label("costs.view"), Some("See Costs and Margins"));

    for p in JETBUILT_PROJECT_PERMISSIONS {
        assert_eq!(
            doc.requires.get(&Permission::from(p)),
            Some(&perms(&["projects.view"])),
            "{p}"
        );
    }
    assert!(
        !doc.requires
            .contains_key(&Permission::from("projects.view"))
    );

    let projects = doc.areas.iter().find(|a| a.key == "projects");
    let want = ScopeDoc {
        options: vec![Scope::Offices, Scope::All],
        default: Scope::Offices,
        lifted_by: BTreeMap::from([(Scope::Offices, Permission::from("offices.all"))]),
    };
    assert_eq!(projects.and_then(|a| a.scope.as_ref()), Some(&want));
    assert_eq!(
        projects.and_then(|a| a.platform.as_deref()),
        Some("projects")
    );
    for account_area in ["billing", "team", "company_settings"] {
        let area = doc.areas.iter().find(|a| a.key == account_area);
        assert_eq!(
            area.map(|a| a.platform.as_deref()),
            Some(None),
            "{account_area}"
        );
    }

    assert_eq!(role_keys(&doc), vec!["owner"]);
    assert_eq!(role(&doc, "owner").grants, perms(&["*"]));
    assert_eq!(doc.owner_roles, roles(&["owner"]));
    assert_eq!(doc.default_role, None);
    assert!(!doc.multi_role);
    assert_eq!(doc.team_permission, Permission::from("team.manage"));

    assert_eq!(
        doc.plans.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        vec!["lite", "enterprise"]
    );
    let lite = plan(&doc, "lite");
    assert_eq!(
        lite.always_on,
        perms(&[
            "projects.view",
            "projects.all",
            "report_pages.design",
            "product_database.use",
            "company_database.manage",
            "products.push_updates",
            "costs.view"
        ])
    );
    assert_eq!(lite.unavailable, perms(&["reports.run"]));
    assert_eq!(lite.max_offices, Some(1));
    let enterprise = plan(&doc, "enterprise");
    assert!(enterprise.always_on.is_empty() && enterprise.unavailable.is_empty());
    assert_eq!(enterprise.max_offices, None);
    assert_eq!(doc.default_plan, "enterprise");
}

#[test]
fn jobtracker() {
    let doc = seed("jobtracker");
    let mut expected = set(&["users.manage"]);
    for area in ["accounts", "jobs", "quotes"] {
        for action in ["create", "read", "update", "delete"] {
            expected.insert(format!("{area}.{action}"));
        }
    }
    assert_eq!(permissions(&doc), expected);
    assert_eq!(doc.team_permission, Permission::from("users.manage"));
    assert_eq!(role_keys(&doc), vec!["administrator"]);
    assert_eq!(role(&doc, "administrator").grants, perms(&["*"]));
    assert_eq!(doc.owner_roles, roles(&["administrator"]));
    assert_eq!(doc.default_role, None);
    assert!(doc.multi_role);
    assert_eq!(doc.view_actions, vec!["read".to_owned()]);
    assert_eq!(
        doc.profile_links,
        vec!["assignee".to_owned(), "salesperson".to_owned()]
    );
    assert_eq!(doc.plans.len(), 1);
    // Security roles are the tenant's own custom roles.
    assert!(doc.plans.iter().all(|p| p.custom_roles));
    assert_eq!(
        Some(doc.default_plan.as_str()),
        doc.plans.first().map(|p| p.key.as_str())
    );
}

#[test]
fn jethub() {
    let doc = seed("jethub");
    assert_eq!(
        permissions(&doc),
        set(&[
            "numbers.view",
            "reports.view",
            "service_names.edit",
            "callflows.view",
            "callflows.edit",
            "phone_users.view",
            "phone_users.edit",
            "queues.view",
            "queues.edit",
            "account_notices.view",
            "billing.view",
            "billing.manage",
            "support.account_changes",
            "support.billing_changes",
            "users.manage",
        ])
    );
    assert_eq!(doc.team_permission, Permission::from("users.manage"));
    assert_eq!(
        role_keys(&doc),
        vec!["account_admin", "standard_user", "billing_user"]
    );
    let admin = role(&doc, "account_admin");
    assert_eq!(admin.grants, perms(&["*"]));
    assert_eq!(
        admin.except,
        perms(&["billing.*", "support.billing_changes"])
    );
    assert_eq!(
        role(&doc, "standard_user").grants,
        perms(&["numbers.view", "reports.view", "service_names.edit"])
    );
    assert_eq!(
        role(&doc, "billing_user").grants,
        perms(&["billing.*", "support.billing_changes"])
    );
    assert_eq!(doc.default_role, Some(RoleKey::from("standard_user")));
    assert!(doc.multi_role);
    assert!(doc.invite_requires_mfa);
    assert!(doc.edit_active_members_only);
    assert_eq!(doc.owner_roles, roles(&["account_admin", "billing_user"]));
    assert_eq!(doc.plans.len(), 1);
    assert_eq!(
        Some(doc.default_plan.as_str()),
        doc.plans.first().map(|p| p.key.as_str())
    );
}

#[test]
fn every_reference_in_a_seed_names_a_permission_of_that_seed() {
    // A light check that the seeds are internally consistent; full semantic
    // validation belongs to `Catalog::compile`.
    for name in names() {
        let doc = seed(name);
        let all = permissions(&doc);
        let areas: BTreeSet<&str> = doc.areas.iter().map(|a| a.key.as_str()).collect();
        let known = |p: &Permission| {
            let p = p.as_str();
            p == "*" || all.contains(p) || p.strip_suffix(".*").is_some_and(|a| areas.contains(a))
        };
        let mut refs: Vec<&Permission> = vec![&doc.team_permission];
        refs.extend(
            doc.requires
                .iter()
                .flat_map(|(k, v)| std::iter::once(k).chain(v)),
        );
        refs.extend(
            doc.roles
                .iter()
                .flat_map(|r| r.grants.iter().chain(&r.except)),
        );
        refs.extend(
            doc.plans
                .iter()
                .flat_map(|p| p.always_on.iter().chain(&p.unavailable)),
        );
        refs.extend(
            doc.areas
                .iter()
                .filter_map(|a| a.scope.as_ref())
                .flat_map(|s| s.lifted_by.values()),
        );
        for r in refs {
            assert!(
                known(r),
                "{name}: `{r}` is not a permission or pattern of the catalog"
            );
        }
        let role_keys: BTreeSet<&RoleKey> = doc.roles.iter().map(|r| &r.key).collect();
        for r in doc.owner_roles.iter().chain(&doc.default_role) {
            assert!(role_keys.contains(r), "{name}: role `{r}`");
        }
        assert!(
            doc.plans.iter().any(|p| p.key == doc.default_plan),
            "{name}"
        );
    }
}
