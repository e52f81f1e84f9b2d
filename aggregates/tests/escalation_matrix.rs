//! The escalation matrix, per seed product: each way access can be gained (a
//! grant, lifting a deny, falling back to the default role, reactivating,
//! widening a scope, offices or networks, editing a role, changing the plan),
//! sent once by an actor who holds what it gives and once by one who does not.
//! The first is decided, the second refused with `escalation` naming the
//! permission that would have been gained.

use std::collections::BTreeMap;

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, DomainError};
use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::*;

fn seed(json: &str) -> CatalogDoc {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("seed does not parse: {e}"))
}

fn jtek() -> CatalogDoc {
    seed(include_str!("../../catalogs/jtek.json"))
}
fn jetbuilt() -> CatalogDoc {
    seed(include_str!("../../catalogs/jetbuilt.json"))
}
fn jobtracker() -> CatalogDoc {
    seed(include_str!("../../catalogs/jobtracker.json"))
}
fn jethub() -> CatalogDoc {
    seed(include_str!("../../catalogs/jethub.json"))
}

/// The delegated admin: holds the team permission, but not everything.
const D: u128 = 2;
/// The member whose access changes.
const T: u128 = 3;
/// Someone else, when a case needs one.
const X: u128 = 4;
/// A new invitee.
const NEW: u128 = 9;

fn u(n: u128) -> UserId {
    user(n)
}

fn toggled(n: u128, p: &str, to: Toggle) -> Event {
    Event::PermissionToggled(PermissionToggled {
        user_id: u(n),
        permission: p.into(),
        from: Toggle::Inherit,
        to,
    })
}

fn scoped(n: u128, area: &str, to: Scope) -> Event {
    Event::ScopeChanged(ScopeChanged {
        user_id: u(n),
        area: area.into(),
        from: Scope::All,
        to,
    })
}

fn officed(n: u128, to: &[&str]) -> Event {
    Event::OfficesChanged(OfficesChanged {
        user_id: u(n),
        from: vec![],
        to: to.iter().map(|o| OfficeId::from(*o)).collect(),
    })
}

fn networked(n: u128, to: &[&str]) -> Event {
    Event::AllowedNetworksChanged(AllowedNetworksChanged {
        user_id: u(n),
        from: vec![],
        to: to.iter().map(|c| c.to_string()).collect(),
    })
}

fn role(key: &str, grants: &[&str]) -> Event {
    Event::RoleCreated(RoleCreated {
        role: key.into(),
        label: key.into(),
        grants: grants.iter().map(|g| Permission::from(*g)).collect(),
    })
}

fn deactivated(n: u128) -> Event {
    Event::UserDeactivated(UserDeactivated {
        user_id: u(n),
        reassign_to: None,
        roles: vec![],
    })
}

fn toggle(n: u128, p: &str, state: Toggle) -> Command {
    Command::TogglePermission {
        user_id: u(n),
        permission: p.into(),
        state,
    }
}

fn roles(n: u128, rs: &[&str]) -> Command {
    Command::ChangeRoles {
        user_id: u(n),
        roles: rs.iter().map(|r| RoleKey::from(*r)).collect(),
    }
}

fn invite(rs: &[&str], overrides: &[(&str, Toggle)]) -> Command {
    Command::InviteUser {
        user_id: u(NEW),
        invitation_id: invitation_of(u(NEW)),
        email: "new@acme.test".into(),
        display_name: "New".into(),
        roles: rs.iter().map(|r| RoleKey::from(*r)).collect(),
        overrides: overrides
            .iter()
            .map(|(p, t)| (Permission::from(*p), *t))
            .collect::<BTreeMap<_, _>>(),
        kind: MemberKind::Member,
        nonce: "n1".into(),
    }
}

/// The actor of a case: the owner (who holds everything) or member `n`.
fn by(n: u128) -> Actor {
    if n == 1 {
        Actor::User(OWNER)
    } else {
        Actor::User(u(n))
    }
}

/// The command is decided for `actor`.
#[track_caller]
fn allowed(team: Given, actor: u128, command: Command) {
    let when = team.when(command).by(by(actor)).with_mfa();
    if let Err(e) = when.result() {
        panic!("refused for {actor}: {e}");
    }
}

/// The command is refused for `actor` as an escalation of `permission`.
#[track_caller]
fn escalates(team: Given, actor: u128, command: Command, permission: &str) {
    let when = team.when(command).by(by(actor)).with_mfa();
    match when.result() {
        Err(DomainError::Escalation { permission: p, .. }) if p.as_str() == permission => {}
        other => panic!("expected an escalation of `{permission}`, got {other:?}"),
    }
}

mod jtek {
    use super::*;

    /// D: a custom "lead" role (team management, contacts, conversation views)
    /// limited to assigned contacts. T: a User.
    fn team() -> Given {
        given([
            tenant_created(jtek()),
            role(
                "lead",
                &[
                    "team.manage",
                    "team.view",
                    "contacts.*",
                    "conversations.view",
                ],
            ),
        ])
        .and_by(Actor::Operator, joined(u(D), &["lead"]))
        .and_by(Actor::Operator, [scoped(D, "contacts", Scope::Assigned)])
        .and_by(Actor::Operator, joined(u(T), &["user"]))
    }

    #[test]
    fn grant() {
        allowed(team(), 1, toggle(T, "reporting.view", Toggle::Allow));
        escalates(
            team(),
            D,
            toggle(T, "reporting.view", Toggle::Allow),
            "reporting.view",
        );
        // On oneself too.
        escalates(
            team(),
            D,
            toggle(D, "reporting.view", Toggle::Allow),
            "reporting.view",
        );
    }

    #[test]
    fn role_change_and_invitation() {
        allowed(team(), 1, roles(T, &["admin"]));
        escalates(team(), D, roles(T, &["admin"]), "automations.create");
        allowed(team(), 1, invite(&["user"], &[]));
        escalates(team(), D, invite(&["user"], &[]), "calendar.create");
    }

    #[test]
    fn lift_deny() {
        let denied = || {
            team().and_by(
                Actor::Operator,
                [toggled(T, "contacts.delete", Toggle::Deny)],
            )
        };
        allowed(denied(), 1, toggle(T, "contacts.delete", Toggle::Inherit));
        // D holds contacts.delete for assigned contacts only; T would hold it for all.
        escalates(
            denied(),
            D,
            toggle(T, "contacts.delete", Toggle::Inherit),
            "contacts.delete",
        );
        // Lifting one's own deny is a gain too.
        let own = || team().and_by(Actor::Operator, [toggled(D, "contacts.view", Toggle::Deny)]);
        escalates(
            own(),
            D,
            toggle(D, "contacts.view", Toggle::Inherit),
            "contacts.view",
        );
    }

    #[test]
    fn widen_scope() {
        let assigned = || team().and_by(Actor::Operator, [scoped(T, "contacts", Scope::Assigned)]);
        allowed(
            assigned(),
            1,
            Command::SetScope {
                user_id: u(T),
                area: "contacts".into(),
                scope: Scope::All,
            },
        );
        escalates(
            assigned(),
            D,
            Command::SetScope {
                user_id: u(T),
                area: "contacts".into(),
                scope: Scope::All,
            },
            "contacts.create",
        );
        // Narrowing gains nothing.
        allowed(
            team(),
            D,
            Command::SetScope {
                user_id: u(T),
                area: "contacts".into(),
                scope: Scope::Assigned,
            },
        );
    }

    #[test]
    fn reactivate() {
        let gone = || team().and_by(Actor::Operator, [deactivated(T)]);
        allowed(gone(), 1, Command::ReactivateUser { user_id: u(T) });
        escalates(
            gone(),
            D,
            Command::ReactivateUser { user_id: u(T) },
            "calendar.create",
        );
    }

    #[test]
    fn widen_networks() {
        // The owner may act only from 10/8.
        let fenced = || {
            team().and_by(
                Actor::Operator,
                [
                    networked(1, &["10.0.0.0/8"]),
                    networked(T, &["10.1.0.0/16"]),
                ],
            )
        };
        let nets = |cidrs: &[&str]| Command::SetAllowedNetworks {
            user_id: u(T),
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        };
        allowed(fenced(), 1, nets(&["10.0.0.0/8"]));
        escalates(fenced(), 1, nets(&["192.168.0.0/16"]), "calendar.create");
        escalates(fenced(), 1, nets(&[]), "calendar.create");
    }

    #[test]
    fn role_edit() {
        let holder = || {
            team()
                .and_by(Actor::Operator, [role("assistant", &["contacts.view"])])
                .and_by(Actor::Operator, joined(u(X), &["assistant"]))
        };
        let widen = |grants: &[&str]| Command::UpdateRole {
            role: "assistant".into(),
            label: "assistant".into(),
            grants: grants.iter().map(|g| Permission::from(*g)).collect(),
        };
        allowed(holder(), 1, widen(&["contacts.view", "reporting.view"]));
        escalates(
            holder(),
            D,
            widen(&["contacts.view", "reporting.view"]),
            "reporting.view",
        );
        // D's contacts reach only assigned ones; X's would reach all.
        escalates(holder(), D, widen(&["contacts.*"]), "contacts.create");
    }

    #[test]
    fn plan_change() {
        // Starter and Pro differ in custom roles only: nobody's access changes.
        allowed(
            team(),
            1,
            Command::ChangePlan {
                plan: "starter".into(),
            },
        );
        match team()
            .when(Command::ChangePlan {
                plan: "starter".into(),
            })
            .by(by(D))
            .result()
        {
            Err(DomainError::PermissionRequired { .. }) => {}
            other => panic!("a team manager changed the plan: {other:?}"),
        }
    }
}

mod jetbuilt {
    use super::*;

    /// D: team management and project view/edit in office east. T: project
    /// view in office east. X: a second account owner.
    fn team() -> Given {
        given([tenant_created(jetbuilt())])
            .and_by(Actor::Operator, joined(u(D), &[]))
            .and_by(
                Actor::Operator,
                [
                    toggled(D, "team.manage", Toggle::Allow),
                    toggled(D, "projects.view", Toggle::Allow),
                    toggled(D, "projects.edit", Toggle::Allow),
                    officed(D, &["east"]),
                ],
            )
            .and_by(Actor::Operator, joined(u(T), &[]))
            .and_by(
                Actor::Operator,
                [
                    toggled(T, "projects.view", Toggle::Allow),
                    officed(T, &["east"]),
                ],
            )
    }

    #[test]
    fn grant() {
        allowed(team(), 1, toggle(T, "costs.view", Toggle::Allow));
        escalates(
            team(),
            D,
            toggle(T, "costs.view", Toggle::Allow),
            "costs.view",
        );
        // D holds projects.edit in east, and T would hold it in east only.
        allowed(team(), D, toggle(T, "projects.edit", Toggle::Allow));
    }

    #[test]
    fn widen_offices() {
        let offices = |os: &[&str]| Command::SetOffices {
            user_id: u(T),
            offices: os.iter().map(|o| OfficeId::from(*o)).collect(),
        };
        allowed(team(), 1, offices(&["east", "west"]));
        escalates(team(), D, offices(&["east", "west"]), "projects.view");
        allowed(team(), D, offices(&[]));
        // Access All Office Locations lifts the scope: a gain D cannot give.
        escalates(
            team(),
            D,
            toggle(T, "offices.all", Toggle::Allow),
            "offices.all",
        );
    }

    #[test]
    fn lift_deny_and_reactivate() {
        let owners = || {
            team()
                .and_by(Actor::Operator, joined(u(X), &["owner"]))
                .and_by(Actor::Operator, [toggled(X, "costs.view", Toggle::Deny)])
        };
        allowed(owners(), 1, toggle(X, "costs.view", Toggle::Inherit));
        escalates(
            owners(),
            D,
            toggle(X, "costs.view", Toggle::Inherit),
            "costs.view",
        );
        // T holds only what D holds, where D holds it: D may bring T back.
        let gone = || team().and_by(Actor::Operator, [deactivated(T)]);
        allowed(gone(), D, Command::ReactivateUser { user_id: u(T) });
        let gone_owner = || owners().and_by(Actor::Operator, [deactivated(X)]);
        allowed(gone_owner(), 1, Command::ReactivateUser { user_id: u(X) });
        escalates(
            gone_owner(),
            D,
            Command::ReactivateUser { user_id: u(X) },
            "billing.manage",
        );
    }

    #[test]
    fn plan_change() {
        // Going to Lite turns on costs, pricing and more for everyone: what the
        // plan defines, on the authority of the billing permission alone.
        let billing = || {
            team().and_by(Actor::Operator, joined(u(X), &[])).and_by(
                Actor::Operator,
                [toggled(X, "billing.manage", Toggle::Allow)],
            )
        };
        let lite = || Command::ChangePlan {
            plan: "lite".into(),
        };
        allowed(billing(), 1, lite());
        allowed(billing(), X, lite());
        match billing().when(lite()).by(by(D)).result() {
            Err(DomainError::PermissionRequired { permission, .. }) => {
                assert_eq!(permission.as_str(), "billing.manage")
            }
            other => panic!("a team manager changed the plan: {other:?}"),
        }
    }
}

mod jobtracker {
    use super::*;

    /// D: an office manager (users, jobs, account reads). T: a clerk reading jobs.
    fn team() -> Given {
        given([
            tenant_created(jobtracker()),
            role(
                "office_manager",
                &["users.manage", "jobs.*", "accounts.read"],
            ),
            role("clerk", &["jobs.read"]),
            role("estimator", &["quotes.*"]),
        ])
        .and_by(Actor::Operator, joined(u(D), &["office_manager"]))
        .and_by(Actor::Operator, joined(u(T), &["clerk"]))
    }

    #[test]
    fn security_roles() {
        allowed(team(), 1, roles(T, &["clerk", "estimator"]));
        escalates(
            team(),
            D,
            roles(T, &["clerk", "estimator"]),
            "quotes.create",
        );
        allowed(team(), D, roles(T, &["office_manager"]));
        // No role ticked means no access at all here: nothing is gained.
        allowed(team(), D, roles(T, &[]));
        escalates(team(), D, roles(T, &["administrator"]), "accounts.create");
    }

    #[test]
    fn reactivate_an_administrator() {
        let gone = || {
            team()
                .and_by(Actor::Operator, joined(u(X), &["administrator"]))
                .and_by(Actor::Operator, [deactivated(X)])
        };
        allowed(gone(), 1, Command::ReactivateUser { user_id: u(X) });
        escalates(
            gone(),
            D,
            Command::ReactivateUser { user_id: u(X) },
            "accounts.create",
        );
    }

    #[test]
    fn login_locations() {
        let fenced = || {
            team().and_by(
                Actor::Operator,
                [
                    networked(D, &["203.0.113.0/24"]),
                    networked(T, &["203.0.113.8/29"]),
                ],
            )
        };
        let nets = |cidrs: &[&str]| Command::SetAllowedNetworks {
            user_id: u(T),
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        };
        allowed(fenced(), D, nets(&["203.0.113.0/24"]));
        // "Login from anywhere" for T, from an admin limited to the office.
        escalates(fenced(), D, nets(&[]), "jobs.read");
        allowed(fenced(), 1, nets(&[]));
    }
}

mod jethub {
    use super::*;

    /// D: an Account Admin. X: an Account Admin denied reports. T: a Billing User.
    fn team() -> Given {
        given([tenant_created(jethub())])
            .and_by(Actor::Operator, joined(u(D), &["account_admin"]))
            .and_by(Actor::Operator, joined(u(X), &["account_admin"]))
            .and_by(Actor::Operator, [toggled(X, "reports.view", Toggle::Deny)])
            .and_by(Actor::Operator, joined(u(T), &["billing_user"]))
    }

    #[test]
    fn billing_is_not_admin() {
        allowed(team(), 1, roles(D, &["account_admin", "billing_user"]));
        escalates(
            team(),
            D,
            roles(D, &["account_admin", "billing_user"]),
            "billing.manage",
        );
        escalates(
            team(),
            D,
            toggle(D, "billing.view", Toggle::Allow),
            "billing.view",
        );
    }

    #[test]
    fn no_role_ticked_is_a_standard_user() {
        // Falling back to the default role is a gain of its permissions.
        allowed(team(), D, roles(T, &[]));
        escalates(team(), X, roles(T, &[]), "reports.view");
        allowed(team(), D, invite(&[], &[]));
        escalates(team(), X, invite(&[], &[]), "reports.view");
    }

    #[test]
    fn lift_deny_and_reactivate() {
        allowed(team(), 1, toggle(X, "reports.view", Toggle::Inherit));
        escalates(
            team(),
            X,
            toggle(X, "reports.view", Toggle::Inherit),
            "reports.view",
        );
        let gone = || team().and_by(Actor::Operator, [deactivated(T)]);
        allowed(gone(), 1, Command::ReactivateUser { user_id: u(T) });
        escalates(
            gone(),
            D,
            Command::ReactivateUser { user_id: u(T) },
            "billing.manage",
        );
    }
}
