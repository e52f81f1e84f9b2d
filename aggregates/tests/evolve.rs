//! `evolve` folds real envelopes: it tracks the chain and never fails on a fact.

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{MemberStatus, Team, evolve};
use rollcall_events::*;

#[test]
fn an_empty_team_starts_at_genesis() {
    let team = Team::default();
    assert_eq!(team.head_hash, GENESIS_HASH);
    assert_eq!(
        (team.tenant_seq, team.position, team.tenant_id),
        (0, 0, None)
    );
}

#[test]
fn folding_tracks_sequence_hash_and_position() {
    let envelopes = seal_after(
        &Team::default(),
        [
            (Actor::Operator, tenant_created(catalogs::small())),
            (Actor::Operator, invited(user(2), &["user"])),
        ],
    );
    let team = fold(Team::default(), &envelopes);
    assert_eq!(Team::replay(&envelopes), team);
    assert_eq!(Team::replay(&envelopes[..1]).members.len(), 1);
    assert_eq!(team.tenant_id, Some(TENANT));
    assert_eq!(team.tenant_seq, 2);
    assert_eq!(team.position, 2);
    assert_eq!(team.head_hash, envelopes[1].hash);
    assert_eq!(envelopes[1].prev_hash, envelopes[0].hash);
    assert_eq!(
        team.member(user(2)).map(|m| (m.status, m.invited_at)),
        Some((MemberStatus::Invited, Some(t0())))
    );
}

#[test]
fn events_about_unknown_members_or_roles_change_nothing_but_the_chain() {
    let team = given([tenant_created(catalogs::small())]).into_team();
    let strays = [
        Event::OfficesChanged(OfficesChanged {
            user_id: user(42),
            from: vec![],
            to: vec!["east".into()],
        }),
        Event::RoleDeleted(RoleDeleted {
            role: "admin".into(),
            was: RoleSpec {
                label: "Admin".into(),
                grants: vec!["*".into()],
            },
        }),
        Event::RoleUpdated(RoleUpdated {
            role: "ghost".into(),
            from: RoleSpec {
                label: "Ghost".into(),
                grants: vec![],
            },
            to: RoleSpec {
                label: "Ghost".into(),
                grants: vec!["*".into()],
            },
        }),
    ];
    let envelopes = seal_after(&team, strays.into_iter().map(|e| (Actor::Operator, e)));
    let after = envelopes.iter().fold(team.clone(), evolve);
    assert_eq!(after.members, team.members);
    assert_eq!(after.roles, team.roles);
    assert_eq!(after.tenant_seq, 4);
}

#[test]
fn a_catalog_redefinition_keeps_custom_roles_and_replaces_built_in_ones() {
    let mut doc = catalogs::small();
    doc.roles.retain(|r| r.key.as_str() != "viewer");
    let team = given([
        tenant_created(catalogs::small()),
        Event::RoleCreated(RoleCreated {
            role: "sales".into(),
            label: "Sales".into(),
            grants: vec!["contacts.view".into()],
        }),
        Event::CatalogDefined(CatalogDefined {
            version: 2,
            catalog: doc,
        }),
    ])
    .into_team();
    let keys: Vec<&str> = team.roles.keys().map(RoleKey::as_str).collect();
    assert_eq!(keys, vec!["admin", "manager", "sales", "user"]);
    assert_eq!(team.catalog_version, 2);
}

#[test]
fn overrides_remember_who_when_and_where() {
    let team = given([tenant_created(catalogs::small())])
        .and_by(
            Actor::User(OWNER),
            [Event::PermissionToggled(PermissionToggled {
                user_id: OWNER,
                permission: "billing.view".into(),
                from: Toggle::Inherit,
                to: Toggle::Deny,
            })],
        )
        .into_team();
    let o = team
        .member(OWNER)
        .and_then(|m| m.overrides.get(&Permission::from("billing.view")).cloned());
    assert_eq!(
        o.map(|o| (o.state, o.by, o.at, o.position)),
        Some((Toggle::Deny, Actor::User(OWNER), t0(), 2))
    );
}
