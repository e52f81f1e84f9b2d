//! Specifications of member access changes, profiles, deactivation and logins,
//! and of who may issue them.

use std::collections::BTreeMap;

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, DomainError, MemberStatus, effective};
use rollcall_events::catalog::Scope;
use rollcall_events::*;

const ANN: u128 = 2; // user
const VIC: u128 = 3; // viewer
const MANAGER: u128 = 4; // manager: admin without billing

fn base() -> Given {
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(ANN), &["user"]))
        .and_by(Actor::Operator, joined(user(VIC), &["viewer"]))
        .and_by(Actor::Operator, joined(user(MANAGER), &["manager"]))
}

fn roles(rs: &[&str]) -> Vec<RoleKey> {
    rs.iter().map(|r| RoleKey::from(*r)).collect()
}

fn change_roles(u: u128, rs: &[&str]) -> Command {
    Command::ChangeRoles {
        user_id: user(u),
        roles: roles(rs),
    }
}

fn toggle(u: u128, p: &str, state: Toggle) -> Command {
    Command::TogglePermission {
        user_id: user(u),
        permission: p.into(),
        state,
    }
}

fn toggled(u: u128, p: &str, from: Toggle, to: Toggle) -> Event {
    Event::PermissionToggled(PermissionToggled {
        user_id: user(u),
        permission: p.into(),
        from,
        to,
    })
}

// ---- who may act ---------------------------------------------------------------

#[test]
fn a_non_admin_may_not_manage_the_team() {
    base()
        .when(change_roles(VIC, &["user"]))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::NotAuthorized {
            actor: Actor::User(user(ANN)),
        });
    base()
        .when(change_roles(VIC, &["user"]))
        .by(Actor::User(user(99)))
        .then_err(DomainError::NotAuthorized {
            actor: Actor::User(user(99)),
        });
}

#[test]
fn a_deactivated_admin_may_not_manage_the_team() {
    base()
        .and_by(
            Actor::Operator,
            [Event::UserDeactivated(UserDeactivated {
                user_id: user(MANAGER),
                reassign_to: None,
                roles: roles(&["manager"]),
            })],
        )
        .when(change_roles(VIC, &["user"]))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::NotAuthorized {
            actor: Actor::User(user(MANAGER)),
        });
}

#[test]
fn only_admins_change_admins() {
    base()
        .when(change_roles(MANAGER, &["viewer"]))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::OnlyAdminsChangeAdmins {
            user_id: user(MANAGER),
        });
    base()
        .when(Command::DeactivateUser {
            user_id: OWNER,
            reassign_to: None,
        })
        .by(Actor::User(user(VIC)))
        .then_err(DomainError::OnlyAdminsChangeAdmins { user_id: OWNER });
    base()
        .when(change_roles(MANAGER, &["viewer"]))
        .by(Actor::User(OWNER))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(MANAGER),
            from: roles(&["manager"]),
            to: roles(&["viewer"]),
        }));
}

#[test]
fn the_operator_may_do_anything_the_rules_allow() {
    base()
        .when(change_roles(VIC, &["admin"]))
        .by(Actor::Operator)
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(VIC),
            from: roles(&["viewer"]),
            to: roles(&["admin"]),
        }));
}

// ---- roles ---------------------------------------------------------------------

#[test]
fn an_admin_changes_roles() {
    let team = base()
        .when(change_roles(VIC, &["user", "viewer"]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(VIC),
            from: roles(&["viewer"]),
            to: roles(&["user", "viewer"]),
        }));
    let e = effective(&team, user(VIC));
    assert!(e.is_some_and(|e| {
        e.permissions
            .contains_key(&Permission::from("contacts.edit"))
    }));
}

#[test]
fn role_changes_name_known_roles_and_change_something() {
    base()
        .when(change_roles(VIC, &["pilot"]))
        .then_err(DomainError::UnknownRole {
            role: "pilot".into(),
        });
    base()
        .when(change_roles(ANN, &["user", "user"]))
        .then_err(DomainError::Unchanged { what: "roles" });
    base()
        .when(change_roles(99, &["user"]))
        .then_err(DomainError::UnknownMember { user_id: user(99) });
}

#[test]
fn single_role_catalogs_refuse_two_roles() {
    given([tenant_created(catalogs::single_role())])
        .and_by(Actor::Operator, joined(user(ANN), &["user"]))
        .when(change_roles(ANN, &["user", "viewer"]))
        .then_err(DomainError::SingleRole { count: 2 });
}

#[test]
fn an_empty_role_list_falls_back_to_the_default_role_or_to_nothing() {
    let team = base()
        .when(change_roles(VIC, &[]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(VIC),
            from: roles(&["viewer"]),
            to: vec![],
        }));
    assert_eq!(
        effective(&team, user(VIC)).map(|e| e.permissions.len()),
        Some(0)
    );
    let team = given([tenant_created(catalogs::single_role())])
        .and_by(Actor::Operator, joined(user(ANN), &["user"]))
        .when(change_roles(ANN, &[]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(ANN),
            from: roles(&["user"]),
            to: vec![],
        }));
    let held: Vec<String> = effective(&team, user(ANN))
        .map(|e| e.permissions.keys().map(|p| p.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(held, vec!["contacts.view", "projects.view"]);
}

#[test]
fn a_member_may_not_assign_a_role_granting_more_than_it_holds() {
    base()
        .when(change_roles(VIC, &["admin"]))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(VIC),
            permission: "billing.manage".into(),
            reach: "scope all, from anywhere".into(),
        });
}

#[test]
fn externals_get_no_role_beyond_view_actions() {
    base()
        .and_by(
            Actor::Operator,
            [
                invited_as(user(7), &["viewer"], MemberKind::External),
                accepted(user(7)),
            ],
        )
        .when(change_roles(7, &["user"]))
        .then_err(DomainError::ExternalViewOnly {
            permission: "contacts.delete".into(),
        });
}

#[test]
fn a_role_change_whose_prerequisite_is_denied_is_refused() {
    base()
        .and_by(
            Actor::Operator,
            [toggled(VIC, "projects.view", Toggle::Inherit, Toggle::Deny)],
        )
        .when(change_roles(VIC, &["user"]))
        .then_err(DomainError::PrerequisiteMissing {
            permission: "projects.edit".into(),
            requires: "projects.view".into(),
        });
}

#[test]
fn the_last_admin_keeps_the_team_permission() {
    given([tenant_created(catalogs::small())])
        .when(change_roles(0x1, &["user"]))
        .then_err(DomainError::LastActiveAdmin {
            admins: vec![OWNER],
        });
    given([tenant_created(catalogs::small())])
        .when(toggle(0x1, "team.manage", Toggle::Deny))
        .then_err(DomainError::LastActiveAdmin {
            admins: vec![OWNER],
        });
    given([tenant_created(catalogs::small())])
        .when(Command::DeactivateUser {
            user_id: OWNER,
            reassign_to: None,
        })
        .by(Actor::Operator)
        .then_err(DomainError::LastActiveAdmin {
            admins: vec![OWNER],
        });
}

#[test]
fn an_admin_may_step_down_while_another_remains() {
    base()
        .when(change_roles(0x1, &["user"]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: OWNER,
            from: roles(&["admin"]),
            to: roles(&["user"]),
        }));
}

// ---- toggles -------------------------------------------------------------------

#[test]
fn an_admin_allows_denies_and_inherits() {
    let team = base()
        .when(toggle(VIC, "contacts.edit", Toggle::Allow))
        .then(toggled(
            VIC,
            "contacts.edit",
            Toggle::Inherit,
            Toggle::Allow,
        ));
    let o = team
        .member(user(VIC))
        .and_then(|m| m.overrides.get(&Permission::from("contacts.edit")).cloned());
    assert_eq!(
        o.map(|o| (o.state, o.by, o.position)),
        Some((Toggle::Allow, Actor::User(OWNER), 8))
    );
    base()
        .when(toggle(VIC, "contacts.view", Toggle::Deny))
        .then(toggled(VIC, "contacts.view", Toggle::Inherit, Toggle::Deny));
    let team = base()
        .and_by(
            Actor::Operator,
            [toggled(VIC, "contacts.view", Toggle::Inherit, Toggle::Deny)],
        )
        .when(toggle(VIC, "contacts.view", Toggle::Inherit))
        .then(toggled(VIC, "contacts.view", Toggle::Deny, Toggle::Inherit));
    assert!(
        team.member(user(VIC))
            .is_some_and(|m| m.overrides.is_empty())
    );
}

#[test]
fn a_toggle_must_change_something_and_name_a_permission() {
    base()
        .when(toggle(VIC, "contacts.view", Toggle::Inherit))
        .then_err(DomainError::Unchanged { what: "permission" });
    base()
        .when(toggle(VIC, "contacts.*", Toggle::Allow))
        .then_err(DomainError::UnknownPermission {
            permission: "contacts.*".into(),
        });
}

#[test]
fn plans_decide_what_may_be_toggled() {
    let lite = || {
        base().and_by(
            Actor::Operator,
            [Event::PlanChanged(PlanChanged {
                from: "pro".into(),
                to: "lite".into(),
            })],
        )
    };
    lite()
        .when(toggle(VIC, "contacts.view", Toggle::Deny))
        .then_err(DomainError::AlwaysOn {
            plan: "lite".into(),
            permission: "contacts.view".into(),
        });
    lite()
        .when(toggle(VIC, "billing.view", Toggle::Allow))
        .then_err(DomainError::PlanUnavailable {
            plan: "lite".into(),
            permission: "billing.view".into(),
        });
}

#[test]
fn allows_respect_externals_escalation_and_prerequisites() {
    base()
        .and_by(
            Actor::Operator,
            [
                invited_as(user(7), &["viewer"], MemberKind::External),
                accepted(user(7)),
            ],
        )
        .when(toggle(7, "contacts.edit", Toggle::Allow))
        .then_err(DomainError::ExternalViewOnly {
            permission: "contacts.edit".into(),
        });
    base()
        .when(toggle(VIC, "billing.view", Toggle::Allow))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(VIC),
            permission: "billing.view".into(),
            reach: "scope all, from anywhere".into(),
        });
    base()
        .when(toggle(VIC, "projects.share", Toggle::Allow))
        .then_err(DomainError::PrerequisiteMissing {
            permission: "projects.share".into(),
            requires: "projects.edit".into(),
        });
    base()
        .when(toggle(ANN, "projects.share", Toggle::Allow))
        .then(toggled(
            ANN,
            "projects.share",
            Toggle::Inherit,
            Toggle::Allow,
        ));
}

// ---- scopes, offices, networks ---------------------------------------------------

fn set_scope(area: &str, scope: Scope) -> Command {
    Command::SetScope {
        user_id: user(ANN),
        area: area.into(),
        scope,
    }
}

#[test]
fn an_admin_sets_a_scope_the_area_offers() {
    let team = base()
        .when(set_scope("contacts", Scope::Assigned))
        .then(Event::ScopeChanged(ScopeChanged {
            user_id: user(ANN),
            area: "contacts".into(),
            from: Scope::All,
            to: Scope::Assigned,
        }));
    assert_eq!(
        team.member(user(ANN))
            .and_then(|m| m.scopes.get("contacts").copied()),
        Some(Scope::Assigned)
    );
    base()
        .when(set_scope("rockets", Scope::All))
        .then_err(DomainError::UnknownArea {
            area: "rockets".into(),
        });
    base()
        .when(set_scope("billing", Scope::All))
        .then_err(DomainError::AreaNotScoped {
            area: "billing".into(),
        });
    base()
        .when(set_scope("contacts", Scope::Offices))
        .then_err(DomainError::ScopeNotOffered {
            area: "contacts".into(),
            scope: "offices",
        });
    base()
        .when(set_scope("contacts", Scope::All))
        .then_err(DomainError::Unchanged { what: "scope" });
}

fn offices(u: u128, os: &[&str]) -> Command {
    Command::SetOffices {
        user_id: user(u),
        offices: os.iter().map(|o| OfficeId::from(*o)).collect(),
    }
}

#[test]
fn an_admin_sets_offices() {
    base()
        .when(offices(ANN, &["east", "west", "east"]))
        .then(Event::OfficesChanged(OfficesChanged {
            user_id: user(ANN),
            from: vec![],
            to: vec!["east".into(), "west".into()],
        }));
    base()
        .when(offices(ANN, &[]))
        .then_err(DomainError::Unchanged { what: "offices" });
}

#[test]
fn plans_cap_the_offices_a_tenant_uses() {
    let lite = base().and_by(
        Actor::Operator,
        [
            Event::PlanChanged(PlanChanged {
                from: "pro".into(),
                to: "lite".into(),
            }),
            Event::OfficesChanged(OfficesChanged {
                user_id: user(VIC),
                from: vec![],
                to: vec!["east".into()],
            }),
        ],
    );
    lite.when(offices(ANN, &["west"]))
        .then_err(DomainError::TooManyOffices {
            plan: "lite".into(),
            max: 1,
            requested: 2,
        });
}

#[test]
fn a_member_in_every_office_cannot_be_removed_from_one() {
    let all = || {
        base().and_by(
            Actor::Operator,
            [
                Event::OfficesChanged(OfficesChanged {
                    user_id: user(ANN),
                    from: vec![],
                    to: vec!["east".into(), "west".into()],
                }),
                toggled(ANN, "offices.all", Toggle::Inherit, Toggle::Allow),
            ],
        )
    };
    all()
        .when(offices(ANN, &["east"]))
        .then_err(DomainError::AllOffices {
            user_id: user(ANN),
            permission: "offices.all".into(),
        });
    all()
        .when(offices(ANN, &["east", "west", "north"]))
        .then(Event::OfficesChanged(OfficesChanged {
            user_id: user(ANN),
            from: vec!["east".into(), "west".into()],
            to: vec!["east".into(), "west".into(), "north".into()],
        }));
}

fn networks(cidrs: &[&str]) -> Command {
    Command::SetAllowedNetworks {
        user_id: user(ANN),
        cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn an_admin_restricts_networks_with_valid_cidrs() {
    base()
        .when(networks(&[" 10.0.0.0/8", "2001:db8::/32"]))
        .then(Event::AllowedNetworksChanged(AllowedNetworksChanged {
            user_id: user(ANN),
            from: vec![],
            to: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
        }));
    base()
        .when(networks(&["10.0.0.0/33"]))
        .then_err(DomainError::InvalidCidr {
            cidr: "10.0.0.0/33".into(),
        });
    base()
        .when(networks(&[]))
        .then_err(DomainError::Unchanged { what: "networks" });
}

// ---- logins --------------------------------------------------------------------

fn login(u: u128, ip: Option<&str>) -> Command {
    Command::RecordLogin {
        user_id: user(u),
        source_ip: ip.and_then(|i| i.parse().ok()),
    }
}

#[test]
fn a_member_records_its_own_login() {
    let team = base()
        .when(login(ANN, Some("192.0.2.1")))
        .by(Actor::User(user(ANN)))
        .then(Event::UserLoggedIn(UserLoggedIn {
            user_id: user(ANN),
            source_ip: Some("192.0.2.1".into()),
        }));
    assert_eq!(
        team.member(user(ANN)).and_then(|m| m.last_login_at),
        Some(t0())
    );
    base()
        .when(login(ANN, None))
        .by(Actor::Operator)
        .then(Event::UserLoggedIn(UserLoggedIn {
            user_id: user(ANN),
            source_ip: None,
        }));
    base()
        .when(login(ANN, None))
        .by(Actor::User(user(VIC)))
        .then_err(DomainError::Forbidden {
            actor: Actor::User(user(VIC)),
            action: "record another member's login",
        });
}

#[test]
fn logins_come_from_allowed_networks() {
    let restricted = || {
        base().and_by(
            Actor::Operator,
            [Event::AllowedNetworksChanged(AllowedNetworksChanged {
                user_id: user(ANN),
                from: vec![],
                to: vec!["10.0.0.0/8".into()],
            })],
        )
    };
    restricted()
        .when(login(ANN, Some("10.1.2.3")))
        .by(Actor::User(user(ANN)))
        .then(Event::UserLoggedIn(UserLoggedIn {
            user_id: user(ANN),
            source_ip: Some("10.1.2.3".into()),
        }));
    restricted()
        .when(login(ANN, Some("192.0.2.1")))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::NetworkNotAllowed {
            user_id: user(ANN),
            ip: "192.0.2.1".into(),
        });
}

#[test]
fn only_active_members_log_in() {
    base()
        .and_by(Actor::Operator, [invited(user(8), &["user"])])
        .when(login(8, None))
        .by(Actor::User(user(8)))
        .then_err(DomainError::NotActive {
            user_id: user(8),
            status: MemberStatus::Invited,
        });
    deactivated()
        .when(login(ANN, None))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::NotActive {
            user_id: user(ANN),
            status: MemberStatus::Deactivated,
        });
}

// ---- profiles ------------------------------------------------------------------

fn profile(
    u: u128,
    name: Option<&str>,
    must: Option<bool>,
    links: Option<&[(&str, &str)]>,
) -> Command {
    Command::UpdateProfile {
        user_id: user(u),
        display_name: name.map(str::to_owned),
        must_change_password: must,
        links: links.map(|l| {
            l.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        }),
    }
}

fn profile_of(name: &str) -> Profile {
    Profile {
        display_name: name.into(),
        ..Profile::default()
    }
}

#[test]
fn members_rename_themselves_and_admins_rename_anyone() {
    base()
        .when(profile(ANN, Some("Ann A."), None, None))
        .by(Actor::User(user(ANN)))
        .then(Event::ProfileUpdated(ProfileUpdated {
            user_id: user(ANN),
            from: profile_of("User 2"),
            to: profile_of("Ann A."),
        }));
    base()
        .when(profile(ANN, Some("Ann A."), None, None))
        .then(Event::ProfileUpdated(ProfileUpdated {
            user_id: user(ANN),
            from: profile_of("User 2"),
            to: profile_of("Ann A."),
        }));
    base()
        .when(profile(VIC, Some("Vic"), None, None))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::NotAuthorized {
            actor: Actor::User(user(ANN)),
        });
}

#[test]
fn only_admins_set_must_change_password_and_links() {
    base()
        .when(profile(ANN, None, Some(true), None))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::Forbidden {
            actor: Actor::User(user(ANN)),
            action: "change whether a password must be changed",
        });
    base()
        .when(profile(ANN, None, None, Some(&[("assignee", "42")])))
        .by(Actor::User(user(ANN)))
        .then_err(DomainError::NotAuthorized {
            actor: Actor::User(user(ANN)),
        });
    let mut to = profile_of("User 2");
    to.must_change_password = true;
    to.links.insert("assignee".into(), "42".into());
    base()
        .when(profile(ANN, None, Some(true), Some(&[("assignee", "42")])))
        .then(Event::ProfileUpdated(ProfileUpdated {
            user_id: user(ANN),
            from: profile_of("User 2"),
            to,
        }));
}

#[test]
fn profiles_are_validated() {
    base()
        .when(profile(ANN, Some("  "), None, None))
        .then_err(DomainError::Empty {
            field: "display name",
        });
    base()
        .when(profile(ANN, None, None, Some(&[("salesperson", "42")])))
        .then_err(DomainError::UnknownProfileLink {
            link: "salesperson".into(),
        });
    base()
        .when(profile(ANN, Some("User 2"), Some(false), None))
        .then_err(DomainError::Unchanged { what: "profile" });
}

// ---- deactivation --------------------------------------------------------------

fn deactivated() -> Given {
    base().and_by(
        Actor::Operator,
        [Event::UserDeactivated(UserDeactivated {
            user_id: user(ANN),
            reassign_to: Some(user(VIC)),
            roles: roles(&["user"]),
        })],
    )
}

#[test]
fn an_admin_deactivates_a_member_and_everything_is_revoked() {
    let team = base()
        .when(Command::DeactivateUser {
            user_id: user(ANN),
            reassign_to: Some(user(VIC)),
        })
        .then(Event::UserDeactivated(UserDeactivated {
            user_id: user(ANN),
            reassign_to: Some(user(VIC)),
            roles: roles(&["user"]),
        }));
    let m = team.member(user(ANN)).cloned();
    assert_eq!(
        m.as_ref().map(|m| m.status),
        Some(MemberStatus::Deactivated)
    );
    assert_eq!(
        m.as_ref().map(|m| m.profile.display_name.as_str()),
        Some("User 2")
    );
    assert_eq!(m.and_then(|m| m.reassign_to), Some(user(VIC)));
    assert_eq!(
        effective(&team, user(ANN)).map(|e| e.permissions.is_empty()),
        Some(true)
    );
}

#[test]
fn only_active_members_are_deactivated_onto_another_active_member() {
    deactivated()
        .when(Command::DeactivateUser {
            user_id: user(ANN),
            reassign_to: None,
        })
        .then_err(DomainError::NotActive {
            user_id: user(ANN),
            status: MemberStatus::Deactivated,
        });
    base()
        .when(Command::DeactivateUser {
            user_id: user(ANN),
            reassign_to: Some(user(ANN)),
        })
        .then_err(DomainError::InvalidReassign { user_id: user(ANN) });
    deactivated()
        .when(Command::DeactivateUser {
            user_id: user(VIC),
            reassign_to: Some(user(ANN)),
        })
        .then_err(DomainError::InvalidReassign { user_id: user(ANN) });
}

#[test]
fn an_admin_reactivates_a_deactivated_member() {
    let team = deactivated()
        .when(Command::ReactivateUser { user_id: user(ANN) })
        .then(Event::UserReactivated(UserReactivated {
            user_id: user(ANN),
        }));
    assert_eq!(
        team.member(user(ANN)).map(|m| m.status),
        Some(MemberStatus::Active)
    );
    base()
        .when(Command::ReactivateUser { user_id: user(ANN) })
        .then_err(DomainError::NotDeactivated {
            user_id: user(ANN),
            status: MemberStatus::Active,
        });
}

#[test]
fn a_canceled_invitee_cannot_be_changed() {
    base()
        .and_by(
            Actor::Operator,
            [
                invited(user(8), &["user"]),
                Event::InvitationCanceled(InvitationCanceled {
                    user_id: user(8),
                    invitation_id: invitation_of(user(8)),
                }),
            ],
        )
        .when(change_roles(8, &["viewer"]))
        .then_err(DomainError::NotActive {
            user_id: user(8),
            status: MemberStatus::Canceled,
        });
}

// ---- access changes before acceptance ----------------------------------------------

/// A catalog that changes access for active members only, with Ann still invited.
fn pending_on_active_only() -> Given {
    given([tenant_created(catalogs::active_only())])
        .and_by(Actor::Operator, [invited(user(ANN), &["user"])])
}

#[test]
fn active_only_catalogs_refuse_access_changes_before_acceptance() {
    let refused = DomainError::NotAccepted { user_id: user(ANN) };
    let commands = [
        change_roles(ANN, &["viewer"]),
        toggle(ANN, "billing.view", Toggle::Allow),
        set_scope("contacts", Scope::Assigned),
        Command::SetOffices {
            user_id: user(ANN),
            offices: vec![OfficeId::from("hq")],
        },
        networks(&["10.0.0.0/8"]),
    ];
    for command in commands {
        pending_on_active_only()
            .when(command)
            .then_err(refused.clone());
    }
    // The profile is not access: it may still be corrected before acceptance.
    pending_on_active_only()
        .when(profile(ANN, Some("Ann A."), None, None))
        .then(Event::ProfileUpdated(ProfileUpdated {
            user_id: user(ANN),
            from: profile_of("User 2"),
            to: profile_of("Ann A."),
        }));
    // Once accepted, the same change goes through.
    pending_on_active_only()
        .and_by(Actor::User(user(ANN)), [accepted(user(ANN))])
        .when(change_roles(ANN, &["viewer"]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(ANN),
            from: roles(&["user"]),
            to: roles(&["viewer"]),
        }));
}

#[test]
fn other_catalogs_let_admins_shape_a_pending_invitees_access() {
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, [invited(user(ANN), &["user"])])
        .when(change_roles(ANN, &["viewer"]))
        .then(Event::RolesChanged(RolesChanged {
            user_id: user(ANN),
            from: roles(&["user"]),
            to: roles(&["viewer"]),
        }));
}
