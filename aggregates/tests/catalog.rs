//! Catalog compilation: the indexes, pattern expansion, and one refusal per problem.

use std::collections::BTreeSet;

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::catalogs;
use rollcall_aggregates::{Catalog, CatalogError, DomainError};
use rollcall_events::catalog::{ActionDoc, CatalogDoc, PlanDoc, Scope};
use rollcall_events::{Permission, RoleKey};

fn compiled() -> Catalog {
    match Catalog::compile(catalogs::small()) {
        Ok(c) => c,
        Err(e) => panic!("the fixture does not compile: {e}"),
    }
}

fn set(ps: &[&str]) -> BTreeSet<Permission> {
    ps.iter().map(|p| Permission::from(*p)).collect()
}

#[test]
fn a_catalog_indexes_its_permissions() {
    let c = compiled();
    assert_eq!(c.key(), "small");
    assert_eq!(c.permissions().len(), 11);
    assert!(c.has_permission(&"offices.all".into()));
    assert!(!c.has_permission(&"offices.view".into()));
    assert!(c.is_view(&"billing.view".into()));
    assert!(!c.is_view(&"billing.manage".into()));
    assert_eq!(
        c.requires(&"projects.share".into()),
        &[Permission::from("projects.edit")]
    );
    assert_eq!(c.requires(&"contacts.view".into()), &[] as &[Permission]);
    assert_eq!(c.area("projects").map(|a| a.actions.len()), Some(3));
    assert_eq!(c.plan("lite").and_then(|p| p.max_offices), Some(1));
    assert_eq!(c.plan("gold"), None);
    assert_eq!(
        c.lifting_permission(Scope::Offices),
        Some(&Permission::from("offices.all"))
    );
    assert_eq!(c.doc(), &catalogs::small());
}

#[test]
fn patterns_expand_to_concrete_permissions() {
    let c = compiled();
    assert_eq!(c.expand(&"*".into()).map(|s| s.len()), Ok(11));
    assert_eq!(
        c.expand(&"billing.*".into()),
        Ok(set(&["billing.manage", "billing.view"]))
    );
    assert_eq!(c.expand(&"team.view".into()), Ok(set(&["team.view"])));
    for bad in ["team.fly", "rockets.*", "", "team", "*.*"] {
        assert_eq!(
            c.expand(&bad.into()),
            Err(DomainError::UnknownPermission {
                permission: bad.into()
            }),
            "{bad}"
        );
    }
}

#[test]
fn a_role_is_its_grants_minus_its_exceptions() {
    let c = compiled();
    let manager = c.role_permissions(&["*".into()], &["billing.*".into()]);
    assert_eq!(manager.len(), 9);
    assert!(!manager.contains(&Permission::from("billing.view")));
}

fn refused(change: impl FnOnce(&mut CatalogDoc)) -> CatalogError {
    let mut doc = catalogs::small();
    change(&mut doc);
    match Catalog::compile(doc) {
        Ok(_) => panic!("the catalog was accepted"),
        Err(e) => e,
    }
}

#[test]
fn each_problem_is_named() {
    assert_eq!(
        refused(|d| d.key = "Small CRM".into()),
        CatalogError::InvalidKey {
            key: "Small CRM".into()
        }
    );
    assert_eq!(refused(|d| d.areas.clear()), CatalogError::NoAreas);
    assert_eq!(
        refused(|d| d.areas[1].key = "contacts".into()),
        CatalogError::DuplicateArea {
            area: "contacts".into()
        }
    );
    assert_eq!(
        refused(|d| d.areas[0].key = "con.tacts".into()),
        CatalogError::InvalidAreaKey {
            area: "con.tacts".into()
        }
    );
    assert_eq!(
        refused(|d| d.areas[0].actions.clear()),
        CatalogError::NoActions {
            area: "contacts".into()
        }
    );
    assert_eq!(
        refused(|d| d.areas[0].actions.push(ActionDoc {
            key: "view".into(),
            label: "Again".into(),
            description: String::new()
        })),
        CatalogError::DuplicateAction {
            area: "contacts".into(),
            action: "view".into()
        }
    );
    assert_eq!(
        refused(|d| d.areas[0].actions[0].key = "*".into()),
        CatalogError::InvalidActionKey {
            area: "contacts".into(),
            action: "*".into()
        }
    );
    assert_eq!(
        refused(|d| {
            if let Some(s) = d.areas[0].scope.as_mut() {
                s.default = Scope::Offices;
            }
        }),
        CatalogError::ScopeDefaultNotOffered {
            area: "contacts".into(),
            scope: "offices"
        }
    );
    assert_eq!(
        refused(|d| {
            if let Some(s) = d.areas[0].scope.as_mut() {
                s.options.clear();
            }
        }),
        CatalogError::NoScopeOptions {
            area: "contacts".into()
        }
    );
    assert_eq!(
        refused(|d| {
            if let Some(s) = d.areas[1].scope.as_mut() {
                s.lifted_by.insert(Scope::Offices, "offices.fly".into());
            }
        }),
        CatalogError::UnknownLiftingPermission {
            area: "projects".into(),
            scope: "offices",
            permission: "offices.fly".into()
        }
    );
}

#[test]
fn prerequisites_are_known_and_acyclic() {
    assert_eq!(
        refused(|d| {
            d.requires.insert("projects.fly".into(), vec![]);
        }),
        CatalogError::UnknownRequiringPermission {
            permission: "projects.fly".into()
        }
    );
    assert_eq!(
        refused(|d| {
            d.requires
                .insert("contacts.edit".into(), vec!["contacts.see".into()]);
        }),
        CatalogError::UnknownPrerequisite {
            permission: "contacts.edit".into(),
            requires: "contacts.see".into()
        }
    );
    assert_eq!(
        refused(|d| {
            d.requires
                .insert("projects.view".into(), vec!["projects.share".into()]);
        }),
        CatalogError::PrerequisiteCycle {
            permission: "projects.edit".into()
        }
    );
}

#[test]
fn roles_are_unique_and_grant_known_permissions() {
    let err = refused(|d| d.roles[2].grants.push("contacts.fly".into()));
    assert_eq!(
        err.to_string(),
        "role `user` grants unknown permission `contacts.fly`"
    );
    assert_eq!(
        refused(|d| d.roles[1].except.push("billing.fly".into())),
        CatalogError::RoleExceptsUnknown {
            role: "manager".into(),
            permission: "billing.fly".into()
        }
    );
    assert_eq!(
        refused(|d| d.roles[1].key = "admin".into()),
        CatalogError::DuplicateRole {
            role: "admin".into()
        }
    );
    assert_eq!(
        refused(|d| d.roles[1].key = "Manager".into()),
        CatalogError::InvalidRoleKey {
            role: "Manager".into()
        }
    );
    assert_eq!(
        refused(|d| d.default_role = Some("guest".into())),
        CatalogError::UnknownDefaultRole {
            role: "guest".into()
        }
    );
}

#[test]
fn the_owner_is_an_admin() {
    assert_eq!(
        refused(|d| d.owner_roles.clear()),
        CatalogError::NoOwnerRoles
    );
    assert_eq!(
        refused(|d| d.owner_roles = vec![RoleKey::from("boss")]),
        CatalogError::UnknownOwnerRole {
            role: "boss".into()
        }
    );
    assert_eq!(
        refused(|d| {
            d.multi_role = false;
            d.owner_roles.push("viewer".into());
        }),
        CatalogError::OwnerRolesExceedSingleRole { count: 2 }
    );
    assert_eq!(
        refused(|d| d.team_permission = "team.fly".into()),
        CatalogError::UnknownTeamPermission {
            permission: "team.fly".into()
        }
    );
    assert_eq!(
        refused(|d| d.owner_roles = vec!["viewer".into()]),
        CatalogError::OwnerLacksTeamPermission {
            permission: "team.manage".into()
        }
    );
}

#[test]
fn plans_are_consistent() {
    assert_eq!(refused(|d| d.plans.clear()), CatalogError::NoPlans);
    assert_eq!(
        refused(|d| d.plans[1].key = "pro".into()),
        CatalogError::DuplicatePlan { plan: "pro".into() }
    );
    assert_eq!(
        refused(|d| d.default_plan = "gold".into()),
        CatalogError::UnknownDefaultPlan {
            plan: "gold".into()
        }
    );
    assert_eq!(
        refused(|d| d.plans[1].always_on.push("contacts.fly".into())),
        CatalogError::PlanAlwaysOnUnknown {
            plan: "lite".into(),
            permission: "contacts.fly".into()
        }
    );
    assert_eq!(
        refused(|d| d.plans[1].unavailable.push("rockets.*".into())),
        CatalogError::PlanUnavailableUnknown {
            plan: "lite".into(),
            permission: "rockets.*".into()
        }
    );
    assert_eq!(
        refused(|d| d.plans[1].always_on.push("billing.view".into())),
        CatalogError::PlanAlwaysOnUnavailable {
            plan: "lite".into(),
            permission: "billing.view".into()
        }
    );
    assert_eq!(
        refused(|d| d.plans.push(PlanDoc {
            key: "free".into(),
            label: "Free".into(),
            always_on: vec![],
            unavailable: vec!["team.*".into()],
            custom_roles: false,
            max_offices: None
        })),
        CatalogError::PlanWithholdsTeamPermission {
            plan: "free".into(),
            permission: "team.manage".into()
        }
    );
}

#[test]
fn invitations_last_and_profile_links_are_keys() {
    assert_eq!(
        refused(|d| d.invite_ttl_hours = 0),
        CatalogError::ZeroInviteTtl
    );
    assert_eq!(
        refused(|d| d.profile_links.push("assignee".into())),
        CatalogError::InvalidProfileLink {
            link: "assignee".into()
        }
    );
}

#[test]
fn plan_keys_are_keys() {
    assert_eq!(
        refused(|d| d.plans[1].key = "Lite Plan".into()),
        CatalogError::InvalidPlanKey {
            plan: "Lite Plan".into()
        }
    );
}

#[test]
fn view_actions_come_from_the_catalog() {
    let c = match Catalog::compile(catalogs::tracker()) {
        Ok(c) => c,
        Err(e) => panic!("the tracker fixture does not compile: {e}"),
    };
    assert!(c.is_view(&"jobs.read".into()));
    assert!(!c.is_view(&"jobs.update".into()));
    assert_eq!(c.permissions().len(), 13);
}
