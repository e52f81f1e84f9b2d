//! Views as specifications: given events, then the team list, member view,
//! catalog and check read as expected.

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::{OWNER, TENANT, catalogs, joined, tenant_created, user};
use rollcall_aggregates::{CheckRequest, Command, MemberStatus, Resource, check};
use rollcall_events::{Actor, Event, Permission, RoleKey, Toggle};
use rollcall_projections::testing::{History, projections};

/// Acme on the small catalog: the owner, an active user, an invited viewer, and
/// a deactivated manager.
fn acme() -> History {
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    for e in joined(user(2), &["user"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    h.push(
        TENANT,
        Actor::User(OWNER),
        rollcall_aggregates::testing::invited(user(3), &["viewer"]),
    );
    for e in joined(user(4), &["manager"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    let owner = Actor::User(OWNER);
    h.decide(
        TENANT,
        owner,
        Command::TogglePermission {
            user_id: user(2),
            permission: Permission::from("contacts.delete"),
            state: Toggle::Deny,
        },
    )
    .expect("deny accepted");
    h.decide(
        TENANT,
        owner,
        Command::DeactivateUser {
            user_id: user(4),
            reassign_to: Some(user(2)),
        },
    )
    .expect("deactivation accepted");
    h
}

#[test]
fn team_list_keeps_every_member_with_status() {
    let h = acme();
    let p = projections();
    assert_eq!(p.apply(h.events.clone()).unwrap(), h.position());

    let list: Vec<_> = p
        .users(TENANT, None)
        .expect("tenant")
        .users
        .into_iter()
        .map(|u| (u.user_id, u.display_name, u.status))
        .collect();
    assert_eq!(
        list,
        vec![
            (OWNER, "Olive Owner".to_owned(), "active".to_owned()),
            (user(2), "User 2".to_owned(), "active".to_owned()),
            (user(3), "User 3".to_owned(), "invited".to_owned()),
            (user(4), "User 4".to_owned(), "deactivated".to_owned()),
        ]
    );
    let deactivated: Vec<_> = p
        .users(TENANT, Some(MemberStatus::Deactivated))
        .expect("tenant")
        .users
        .into_iter()
        .map(|u| u.user_id)
        .collect();
    assert_eq!(deactivated, vec![user(4)]);
    assert_eq!(p.tenants(), vec![TENANT]);
}

#[test]
fn member_view_has_effective_permissions_with_sources() {
    let h = acme();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let view = p.user(TENANT, user(2)).expect("member view");
    insta::assert_json_snapshot!("member_view", view);

    // Same as resolving on the Team folded from the same events.
    let team = h.team(TENANT);
    let expected = rollcall_aggregates::effective(&team, user(2)).unwrap();
    let effective: BTreeMap<_, _> = view
        .effective
        .iter()
        .map(|e| (e.permission.clone(), e.sources.clone()))
        .collect();
    let expected: BTreeMap<_, _> = expected
        .permissions
        .into_iter()
        .map(|(p, s)| (p.to_string(), s))
        .collect();
    assert_eq!(effective, expected);
    assert_eq!(
        view.overrides.get("contacts.delete").map(String::as_str),
        Some("deny")
    );

    let gone = p
        .user(TENANT, user(4))
        .expect("deactivated member keeps a view");
    assert_eq!(gone.summary.display_name, "User 4");
    assert_eq!(gone.summary.status, "deactivated");
    assert_eq!(gone.reassign_to, Some(user(2)));
    assert!(gone.effective.is_empty());
}

#[test]
fn catalog_view_lists_builtin_and_custom_roles() {
    let mut h = acme();
    h.decide(
        TENANT,
        Actor::User(OWNER),
        Command::CreateRole {
            role: RoleKey::from("auditor"),
            label: "Auditor".to_owned(),
            grants: vec![Permission::from("billing.view")],
        },
    )
    .expect("custom role accepted");
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let view = p.catalog(TENANT).expect("catalog view");
    assert_eq!(view.version, 1);
    assert_eq!(view.plan, "pro");
    assert_eq!(view.catalog, catalogs::small());
    let roles: Vec<_> = view
        .tenant_roles
        .iter()
        .map(|r| (r.key.clone(), r.builtin))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("admin".to_owned(), true),
            ("auditor".to_owned(), false),
            ("manager".to_owned(), true),
            ("user".to_owned(), true),
            ("viewer".to_owned(), true),
        ]
    );
}

#[test]
fn check_from_memory_equals_the_aggregate_check() {
    let h = acme();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let team = h.team(TENANT);
    for who in [OWNER, user(2), user(3), user(4), user(99)] {
        for perm in [
            "contacts.view",
            "contacts.delete",
            "projects.edit",
            "billing.manage",
            "nope.x",
        ] {
            for owner in [None, Some(who), Some(OWNER)] {
                let request = CheckRequest {
                    user_id: who,
                    permission: Permission::from(perm),
                    resource: Resource {
                        owner_id: owner,
                        office_id: None,
                    },
                    source_ip: None,
                };
                assert_eq!(
                    p.check(TENANT, &request),
                    Some(check(&team, &request)),
                    "{who} {perm}"
                );
            }
        }
    }
    let unknown_tenant = CheckRequest {
        user_id: OWNER,
        permission: Permission::from("contacts.view"),
        resource: Resource::default(),
        source_ip: None,
    };
    // An unknown tenant has no answer at all (the gateway says 404).
    assert_eq!(
        p.check(rollcall_events::TenantId::from_u128(404), &unknown_tenant),
        None
    );
}

#[test]
fn platforms_count_active_members_holding_an_area_of_each() {
    let mut catalog = catalogs::small();
    for area in &mut catalog.areas {
        area.platform = match area.key.as_str() {
            "projects" => Some("projects".to_owned()),
            "billing" => Some("payments".to_owned()),
            _ => None,
        };
    }
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalog));
    for e in joined(user(2), &["user"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    for e in joined(user(3), &["manager"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    // Invited members do not count until they accept.
    h.push(
        TENANT,
        Actor::User(OWNER),
        rollcall_aggregates::testing::invited(user(5), &["admin"]),
    );
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let expected: BTreeMap<String, usize> =
        [("payments".to_owned(), 1), ("projects".to_owned(), 3)].into();
    assert_eq!(p.platforms(TENANT).expect("tenant").platforms, expected);
}

#[test]
fn memory_is_rebuilt_from_sled_on_open() {
    let h = acme();
    let dir = tempfile::tempdir().unwrap();
    let hash = {
        let p = rollcall_projections::Projections::open(sled::open(dir.path()).unwrap()).unwrap();
        p.apply(h.events.clone()).unwrap();
        p.flush().unwrap();
        p.state_hash().expect("state hash")
    };
    let p = rollcall_projections::Projections::open(rollcall_tests::open_sled(dir.path())).unwrap();
    assert_eq!(p.position(), h.position());
    assert_eq!(p.state_hash().expect("state hash"), hash);
    assert_eq!(p.team(TENANT).unwrap(), h.team(TENANT));
    // Applying the same events again is a no-op: all at or below the checkpoint.
    p.apply(h.events.clone()).unwrap();
    assert_eq!(p.state_hash().expect("state hash"), hash);
}

#[test]
fn events_of_other_tenants_stay_apart() {
    let other = rollcall_events::TenantId::from_u128(0xbeef);
    let mut h = acme();
    h.push(
        other,
        Actor::Operator,
        tenant_created(catalogs::single_role()),
    );
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    assert_eq!(p.tenants().len(), 2);
    assert_eq!(p.users(other, None).expect("tenant").users.len(), 1);
    assert_eq!(p.users(TENANT, None).expect("tenant").users.len(), 4);
    assert!(matches!(
        p.team(other).unwrap().catalog().map(|c| c.doc().multi_role),
        Some(false)
    ));
    let _ = Event::TYPES;
}
