//! Specifications of custom roles.

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, DomainError};
use rollcall_events::*;

const MANAGER: u128 = 4;

fn perms(ps: &[&str]) -> Vec<Permission> {
    ps.iter().map(|p| Permission::from(*p)).collect()
}

fn team() -> Given {
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(MANAGER), &["manager"]))
}

fn create(role: &str, grants: &[&str]) -> Command {
    Command::CreateRole {
        role: role.into(),
        label: "Sales".into(),
        grants: perms(grants),
    }
}

fn created(role: &str, grants: &[&str]) -> Event {
    Event::RoleCreated(RoleCreated {
        role: role.into(),
        label: "Sales".into(),
        grants: perms(grants),
    })
}

#[test]
fn an_admin_creates_a_custom_role() {
    let team = team()
        .when(create("sales", &["contacts.*", "projects.view"]))
        .then(created("sales", &["contacts.*", "projects.view"]));
    let role = &team.roles[&RoleKey::from("sales")];
    assert!(!role.builtin);
}

#[test]
fn role_keys_are_unique_and_well_formed() {
    team()
        .when(create("viewer", &["contacts.view"]))
        .then_err(DomainError::RoleExists {
            role: "viewer".into(),
        });
    team()
        .when(create("Sales Team", &["contacts.view"]))
        .then_err(DomainError::InvalidRoleKey {
            role: "Sales Team".into(),
        });
}

#[test]
fn role_grants_must_be_known() {
    team()
        .when(create("sales", &["contacts.fly"]))
        .then_err(DomainError::UnknownPermission {
            permission: "contacts.fly".into(),
        });
    team()
        .when(create("sales", &["rockets.*"]))
        .then_err(DomainError::UnknownPermission {
            permission: "rockets.*".into(),
        });
}

#[test]
fn role_grants_may_not_include_what_the_plan_withholds() {
    let mut doc = catalogs::small();
    doc.plans[1].custom_roles = true;
    given([tenant_created(doc)])
        .and_by(
            Actor::Operator,
            [Event::PlanChanged(PlanChanged {
                from: "pro".into(),
                to: "lite".into(),
            })],
        )
        .when(create("sales", &["billing.view"]))
        .then_err(DomainError::PlanUnavailable {
            plan: "lite".into(),
            permission: "billing.view".into(),
        });
}

#[test]
fn plans_without_custom_roles_refuse_them() {
    let lite = given([
        tenant_created(catalogs::small()),
        Event::RoleCreated(RoleCreated {
            role: "sales".into(),
            label: "Sales".into(),
            grants: perms(&["contacts.view"]),
        }),
        Event::PlanChanged(PlanChanged {
            from: "pro".into(),
            to: "lite".into(),
        }),
    ]);
    let err = DomainError::CustomRolesNotAllowed {
        plan: "lite".into(),
    };
    let team = lite.into_team();
    for cmd in [
        create("other", &["contacts.view"]),
        Command::UpdateRole {
            role: "sales".into(),
            label: "Sales".into(),
            grants: perms(&["contacts.edit", "contacts.view"]),
        },
        Command::DeleteRole {
            role: "sales".into(),
        },
    ] {
        let ctx = rollcall_aggregates::Context {
            now: t0(),
            actor: Actor::User(OWNER),
            mfa: false,
            reason: None,
        };
        assert_eq!(
            rollcall_aggregates::decide(&team, &cmd, &ctx),
            Err(err.clone())
        );
    }
}

#[test]
fn a_role_nobody_holds_changes_nobodys_access_but_giving_it_is_a_grant() {
    // Creating a role grants nothing; handing it out is what the invariant judges.
    let team = team()
        .when(create("sales", &["billing.view"]))
        .by(Actor::User(user(MANAGER)))
        .then(created("sales", &["billing.view"]));
    given_team(team)
        .when(Command::ChangeRoles {
            user_id: user(MANAGER),
            roles: vec!["manager".into(), "sales".into()],
        })
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(MANAGER),
            permission: "billing.view".into(),
            reach: "scope all, from anywhere".into(),
        });
}

#[test]
fn a_role_must_carry_its_prerequisites() {
    team()
        .when(create("sales", &["projects.edit"]))
        .then_err(DomainError::PrerequisiteMissing {
            permission: "projects.edit".into(),
            requires: "projects.view".into(),
        });
}

fn with_sales() -> Given {
    team().and_by(Actor::Operator, [created("sales", &["contacts.view"])])
}

#[test]
fn an_admin_updates_a_custom_role() {
    let team = with_sales()
        .when(Command::UpdateRole {
            role: "sales".into(),
            label: "Sales".into(),
            grants: perms(&["contacts.view", "contacts.edit"]),
        })
        .then(Event::RoleUpdated(RoleUpdated {
            role: "sales".into(),
            from: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view"]),
            },
            to: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view", "contacts.edit"]),
            },
        }));
    assert_eq!(team.roles[&RoleKey::from("sales")].grants.len(), 2);
}

#[test]
fn updates_name_a_known_custom_role_and_change_it() {
    with_sales()
        .when(Command::UpdateRole {
            role: "ghost".into(),
            label: "Ghost".into(),
            grants: vec![],
        })
        .then_err(DomainError::UnknownRole {
            role: "ghost".into(),
        });
    with_sales()
        .when(Command::UpdateRole {
            role: "admin".into(),
            label: "Admin".into(),
            grants: vec![],
        })
        .then_err(DomainError::BuiltinRole {
            role: "admin".into(),
        });
    with_sales()
        .when(Command::UpdateRole {
            role: "sales".into(),
            label: "Sales".into(),
            grants: perms(&["contacts.view"]),
        })
        .then_err(DomainError::Unchanged { what: "role" });
}

#[test]
fn a_member_may_not_widen_a_role_beyond_what_it_holds() {
    let widen = || Command::UpdateRole {
        role: "sales".into(),
        label: "Sales".into(),
        grants: perms(&["contacts.view", "billing.manage"]),
    };
    // Nobody holds it yet: nobody gains.
    with_sales()
        .when(widen())
        .by(Actor::User(user(MANAGER)))
        .then(Event::RoleUpdated(RoleUpdated {
            role: "sales".into(),
            from: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view"]),
            },
            to: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view", "billing.manage"]),
            },
        }));
    // Its holder would gain what the actor lacks.
    with_sales()
        .and_by(Actor::Operator, joined(user(5), &["sales"]))
        .when(widen())
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(5),
            permission: "billing.manage".into(),
            reach: "scope all, from anywhere".into(),
        });
    // The owner holds it all.
    with_sales()
        .and_by(Actor::Operator, joined(user(5), &["sales"]))
        .when(widen())
        .by(Actor::User(OWNER))
        .result()
        .expect("the owner may widen the role");
}

#[test]
fn a_role_update_may_not_remove_the_last_admin() {
    let boss = || {
        given([
            tenant_created(catalogs::small()),
            Event::RoleCreated(RoleCreated {
                role: "boss".into(),
                label: "Boss".into(),
                grants: perms(&["team.*"]),
            }),
        ])
        .and_by(Actor::Operator, joined(user(2), &["boss"]))
        .and_by(
            Actor::Operator,
            [Event::UserDeactivated(UserDeactivated {
                user_id: OWNER,
                reassign_to: None,
                roles: vec!["admin".into()],
            })],
        )
    };
    assert_eq!(boss().team().active_admins(), vec![user(2)]);
    boss()
        .when(Command::UpdateRole {
            role: "boss".into(),
            label: "Boss".into(),
            grants: perms(&["team.view"]),
        })
        .by(Actor::Operator)
        .then_err(DomainError::LastActiveAdmin {
            admins: vec![user(2)],
        });
}

#[test]
fn an_admin_deletes_an_unused_custom_role() {
    let team = with_sales()
        .when(Command::DeleteRole {
            role: "sales".into(),
        })
        .then(Event::RoleDeleted(RoleDeleted {
            role: "sales".into(),
            was: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view"]),
            },
        }));
    assert!(!team.roles.contains_key(&RoleKey::from("sales")));
}

#[test]
fn built_in_roles_and_roles_in_use_stay() {
    with_sales()
        .when(Command::DeleteRole {
            role: "viewer".into(),
        })
        .then_err(DomainError::BuiltinRole {
            role: "viewer".into(),
        });
    with_sales()
        .and_by(Actor::Operator, joined(user(5), &["sales"]))
        .and_by(Actor::Operator, [invited(user(6), &["sales"])])
        .when(Command::DeleteRole {
            role: "sales".into(),
        })
        .then_err(DomainError::RoleInUse {
            role: "sales".into(),
            members: 2,
        });
}

#[test]
fn a_canceled_invitation_does_not_hold_a_role() {
    with_sales()
        .and_by(
            Actor::Operator,
            [
                invited(user(6), &["sales"]),
                Event::InvitationCanceled(InvitationCanceled {
                    user_id: user(6),
                    invitation_id: invitation_of(user(6)),
                }),
            ],
        )
        .when(Command::DeleteRole {
            role: "sales".into(),
        })
        .then(Event::RoleDeleted(RoleDeleted {
            role: "sales".into(),
            was: RoleSpec {
                label: "Sales".into(),
                grants: perms(&["contacts.view"]),
            },
        }));
}
