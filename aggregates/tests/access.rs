//! Effective permissions and the check, with their explanations.

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{
    CheckRequest, Denial, MemberStatus, Resource, Source, Team, check, effective,
};
use rollcall_events::catalog::Scope;
use rollcall_events::*;

const ANN: u128 = 2;
const VIC: u128 = 3;

fn base() -> Given {
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(ANN), &["user"]))
        .and_by(Actor::Operator, joined(user(VIC), &["viewer"]))
}

fn held(team: &Team, u: u128) -> Vec<String> {
    effective(team, user(u))
        .map(|e| e.permissions.keys().map(|p| p.to_string()).collect())
        .unwrap_or_default()
}

fn sources(team: &Team, u: u128, p: &str) -> Vec<Source> {
    effective(team, user(u))
        .and_then(|e| e.permissions.get(&Permission::from(p)).cloned())
        .unwrap_or_default()
}

fn toggled(u: u128, p: &str, to: Toggle) -> Event {
    Event::PermissionToggled(PermissionToggled {
        user_id: user(u),
        permission: p.into(),
        from: Toggle::Inherit,
        to,
    })
}

fn req(u: u128, p: &str, resource: Resource) -> CheckRequest {
    CheckRequest {
        user_id: user(u),
        permission: p.into(),
        resource,
        source_ip: None,
    }
}

#[test]
fn roles_grant_their_expanded_permissions_minus_exceptions() {
    let team = base()
        .and_by(Actor::Operator, joined(user(4), &["manager"]))
        .into_team();
    assert_eq!(held(&team, VIC), vec!["contacts.view", "projects.view"]);
    let manager = held(&team, 4);
    assert!(manager.contains(&"team.manage".to_owned()));
    assert!(!manager.iter().any(|p| p.starts_with("billing.")));
    assert_eq!(effective(&team, user(99)), None);
}

#[test]
fn every_permission_carries_all_its_sources() {
    let team = base()
        .and_by(
            Actor::Operator,
            [Event::RolesChanged(RolesChanged {
                user_id: user(ANN),
                from: vec!["user".into()],
                to: vec!["user".into(), "viewer".into()],
            })],
        )
        .and_by(
            Actor::User(OWNER),
            [toggled(ANN, "contacts.view", Toggle::Allow)],
        )
        .into_team();
    assert_eq!(
        sources(&team, ANN, "contacts.view"),
        vec![
            Source::Role {
                role: "user".into()
            },
            Source::Role {
                role: "viewer".into()
            },
            Source::Override {
                by: Actor::User(OWNER),
                at: t0(),
                position: 7
            },
        ]
    );
}

#[test]
fn the_default_role_applies_to_members_without_a_role() {
    let team = given([tenant_created(catalogs::single_role())])
        .and_by(Actor::Operator, joined(user(ANN), &[]))
        .into_team();
    assert_eq!(
        sources(&team, ANN, "contacts.view"),
        vec![Source::DefaultRole {
            role: "viewer".into()
        }]
    );
    let team = base()
        .and_by(Actor::Operator, joined(user(5), &[]))
        .into_team();
    assert_eq!(held(&team, 5), Vec::<String>::new());
}

fn lite(team: Given) -> Given {
    team.and_by(
        Actor::Operator,
        [Event::PlanChanged(PlanChanged {
            from: "pro".into(),
            to: "lite".into(),
        })],
    )
}

#[test]
fn plans_turn_permissions_on_and_withhold_others() {
    let team = lite(base())
        .and_by(Actor::Operator, joined(user(5), &[]))
        .and_by(Actor::Operator, [toggled(5, "contacts.view", Toggle::Deny)])
        .into_team();
    // Always on, even against a deny.
    assert_eq!(
        sources(&team, 5, "contacts.view"),
        vec![Source::Plan {
            plan: "lite".into()
        }]
    );
    let owner = held(&team, 1);
    assert!(!owner.contains(&"billing.view".to_owned()));
    assert!(!owner.contains(&"projects.share".to_owned()));
    assert!(owner.contains(&"billing.manage".to_owned()));
}

#[test]
fn a_deny_removes_and_an_allow_adds() {
    let team = base()
        .and_by(
            Actor::Operator,
            [
                toggled(VIC, "contacts.view", Toggle::Deny),
                toggled(VIC, "billing.view", Toggle::Allow),
            ],
        )
        .into_team();
    assert_eq!(held(&team, VIC), vec!["billing.view", "projects.view"]);
}

#[test]
fn prerequisites_are_dropped_transitively() {
    let team = base()
        .and_by(
            Actor::Operator,
            [
                toggled(ANN, "projects.share", Toggle::Allow),
                toggled(ANN, "projects.view", Toggle::Deny),
            ],
        )
        .into_team();
    let ann = held(&team, ANN);
    assert!(!ann.iter().any(|p| p.starts_with("projects.")), "{ann:?}");
}

#[test]
fn externals_hold_view_actions_only_even_when_a_role_widens() {
    let team = base()
        .and_by(
            Actor::Operator,
            [
                RoleCreated {
                    role: "sales".into(),
                    label: "Sales".into(),
                    grants: vec!["contacts.view".into()],
                }
                .into_event(),
                invited_as(user(7), &["sales"], MemberKind::External),
                accepted(user(7)),
                Event::RoleUpdated(RoleUpdated {
                    role: "sales".into(),
                    from: RoleSpec {
                        label: "Sales".into(),
                        grants: vec!["contacts.view".into()],
                    },
                    to: RoleSpec {
                        label: "Sales".into(),
                        grants: vec!["contacts.*".into()],
                    },
                }),
            ],
        )
        .into_team();
    assert_eq!(held(&team, 7), vec!["contacts.view"]);
}

trait IntoEvent {
    fn into_event(self) -> Event;
}

impl IntoEvent for RoleCreated {
    fn into_event(self) -> Event {
        Event::RoleCreated(self)
    }
}

#[test]
fn only_active_members_hold_anything() {
    let team = base()
        .and_by(
            Actor::Operator,
            [
                invited(user(8), &["user"]),
                Event::UserDeactivated(UserDeactivated {
                    user_id: user(ANN),
                    reassign_to: None,
                    roles: vec!["user".into()],
                }),
            ],
        )
        .into_team();
    assert_eq!(held(&team, 8), Vec::<String>::new());
    assert_eq!(held(&team, ANN), Vec::<String>::new());
    let e = effective(&team, user(ANN));
    assert_eq!(e.map(|e| e.status), Some(MemberStatus::Deactivated));
    let out = check(&team, &req(ANN, "contacts.view", Resource::default()));
    assert_eq!(out.denial, Some(Denial::NotActive));
    assert!(!out.allowed);
}

#[test]
fn scopes_resolve_to_default_explicit_or_lifted() {
    let team = base()
        .and_by(
            Actor::Operator,
            [Event::ScopeChanged(ScopeChanged {
                user_id: user(ANN),
                area: "contacts".into(),
                from: Scope::All,
                to: Scope::Assigned,
            })],
        )
        .into_team();
    let e = effective(&team, user(ANN));
    assert_eq!(
        e.as_ref()
            .map(|e| (e.scopes["contacts"], e.scopes["projects"], e.all_offices)),
        Some((Scope::Assigned, Scope::Offices, false))
    );
    let team = base()
        .and_by(
            Actor::Operator,
            [toggled(ANN, "offices.all", Toggle::Allow)],
        )
        .into_team();
    let e = effective(&team, user(ANN));
    assert_eq!(
        e.map(|e| (e.scopes["projects"], e.all_offices)),
        Some((Scope::All, true))
    );
}

#[test]
fn assigned_scope_admits_only_the_members_own_resources() {
    let team = base()
        .and_by(
            Actor::Operator,
            [Event::ScopeChanged(ScopeChanged {
                user_id: user(ANN),
                area: "contacts".into(),
                from: Scope::All,
                to: Scope::Assigned,
            })],
        )
        .into_team();
    let own = check(
        &team,
        &req(
            ANN,
            "contacts.edit",
            Resource {
                owner_id: Some(user(ANN)),
                office_id: None,
            },
        ),
    );
    assert!(own.allowed);
    assert_eq!(own.scope, Some(Scope::Assigned));
    let other = check(
        &team,
        &req(
            ANN,
            "contacts.edit",
            Resource {
                owner_id: Some(user(VIC)),
                office_id: None,
            },
        ),
    );
    assert_eq!(
        (other.allowed, other.denial),
        (false, Some(Denial::ScopeExcluded))
    );
    let unowned = check(&team, &req(ANN, "contacts.edit", Resource::default()));
    assert_eq!(
        (unowned.allowed, unowned.denial),
        (false, Some(Denial::ScopeExcluded))
    );
    assert!(unowned.reason.contains("unassigned"), "{}", unowned.reason);
    // Vic has the default scope, all.
    assert!(check(&team, &req(VIC, "contacts.view", Resource::default())).allowed);
}

#[test]
fn offices_scope_admits_resources_in_the_members_offices_unless_lifted() {
    let team = base()
        .and_by(
            Actor::Operator,
            [Event::OfficesChanged(OfficesChanged {
                user_id: user(ANN),
                from: vec![],
                to: vec!["east".into()],
            })],
        )
        .into_team();
    let in_office = |team: &Team, office: Option<&str>| {
        check(
            team,
            &req(
                ANN,
                "projects.edit",
                Resource {
                    owner_id: None,
                    office_id: office.map(OfficeId::from),
                },
            ),
        )
    };
    assert!(in_office(&team, Some("east")).allowed);
    let west = in_office(&team, Some("west"));
    assert_eq!(
        (west.allowed, west.denial, west.scope),
        (false, Some(Denial::ScopeExcluded), Some(Scope::Offices))
    );
    assert!(!in_office(&team, None).allowed);
    let lifted = fold(
        team.clone(),
        &seal_after(
            &team,
            [(Actor::Operator, toggled(ANN, "offices.all", Toggle::Allow))],
        ),
    );
    let west = in_office(&lifted, Some("west"));
    assert_eq!((west.allowed, west.scope), (true, Some(Scope::All)));
}

#[test]
fn networks_restrict_checks_from_other_addresses() {
    let team = base()
        .and_by(
            Actor::Operator,
            [Event::AllowedNetworksChanged(AllowedNetworksChanged {
                user_id: user(VIC),
                from: vec![],
                to: vec!["10.0.0.0/8".into()],
            })],
        )
        .into_team();
    let from = |ip: &str| {
        check(
            &team,
            &CheckRequest {
                source_ip: ip.parse().ok(),
                ..req(VIC, "contacts.view", Resource::default())
            },
        )
    };
    assert!(from("10.9.9.9").allowed);
    let out = from("192.0.2.7");
    assert_eq!(
        (out.allowed, out.denial),
        (false, Some(Denial::NetworkNotAllowed))
    );
}

#[test]
fn a_denial_names_its_reason() {
    let team = base()
        .and_by(
            Actor::User(OWNER),
            [toggled(VIC, "contacts.view", Toggle::Deny)],
        )
        .into_team();
    let out = check(&team, &req(VIC, "contacts.view", Resource::default()));
    assert_eq!(out.denial, Some(Denial::Overridden));
    assert_eq!(
        out.sources,
        vec![Source::Override {
            by: Actor::User(OWNER),
            at: t0(),
            position: 6
        }]
    );
    assert_eq!(
        out.reason,
        format!(
            "`contacts.view` is denied to {} by an override by {OWNER} at 2026-01-01T09:00:00Z (log position 6)",
            user(VIC)
        )
    );
    let none = check(&team, &req(VIC, "billing.view", Resource::default()));
    assert_eq!(none.denial, Some(Denial::NoGrant));
    let unknown = check(&team, &req(VIC, "contacts.fly", Resource::default()));
    assert_eq!(unknown.denial, Some(Denial::UnknownPermission));
    let stranger = check(&team, &req(99, "contacts.view", Resource::default()));
    assert_eq!(stranger.denial, Some(Denial::UnknownUser));
}

#[test]
fn check_outcomes_and_effective_permissions_have_a_stable_wire_format() {
    let team = base()
        .and_by(
            Actor::Operator,
            [
                Event::OfficesChanged(OfficesChanged {
                    user_id: user(ANN),
                    from: vec![],
                    to: vec!["east".into()],
                }),
                toggled(ANN, "contacts.delete", Toggle::Deny),
            ],
        )
        .into_team();
    insta::assert_json_snapshot!("effective", effective(&team, user(ANN)));
    insta::assert_json_snapshot!(
        "check_allowed",
        check(
            &team,
            &req(
                ANN,
                "projects.edit",
                Resource {
                    owner_id: None,
                    office_id: Some("east".into()),
                }
            )
        )
    );
    insta::assert_json_snapshot!(
        "check_denied",
        check(&team, &req(ANN, "contacts.delete", Resource::default()))
    );
}
