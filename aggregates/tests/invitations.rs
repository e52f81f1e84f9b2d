//! Specifications of invitations: invite, resend, cancel, accept.

use std::collections::BTreeMap;

use chrono::Duration;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, DomainError, MemberStatus};
use rollcall_events::*;

const NEW: u128 = 10;
const MANAGER: u128 = 4;

fn team() -> Given {
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(MANAGER), &["manager"]))
}

fn invite(email: &str, roles: &[&str]) -> Command {
    Command::InviteUser {
        user_id: user(NEW),
        invitation_id: invitation_of(user(NEW)),
        email: email.into(),
        display_name: " Nia New ".into(),
        roles: roles.iter().map(|r| RoleKey::from(*r)).collect(),
        overrides: BTreeMap::new(),
        kind: MemberKind::Member,
        nonce: "n1".into(),
    }
}

fn with_overrides(cmd: Command, o: &[(&str, Toggle)]) -> Command {
    match cmd {
        Command::InviteUser {
            user_id,
            invitation_id,
            email,
            display_name,
            roles,
            kind,
            nonce,
            ..
        } => Command::InviteUser {
            user_id,
            invitation_id,
            email,
            display_name,
            roles,
            overrides: o.iter().map(|(p, t)| (Permission::from(*p), *t)).collect(),
            kind,
            nonce,
        },
        other => other,
    }
}

fn external(cmd: Command) -> Command {
    match cmd {
        Command::InviteUser {
            user_id,
            invitation_id,
            email,
            display_name,
            roles,
            overrides,
            nonce,
            ..
        } => Command::InviteUser {
            user_id,
            invitation_id,
            email,
            display_name,
            roles,
            overrides,
            kind: MemberKind::External,
            nonce,
        },
        other => other,
    }
}

fn invited_event(roles: &[&str]) -> UserInvited {
    UserInvited {
        user_id: user(NEW),
        invitation_id: invitation_of(user(NEW)),
        email: "nia@acme.test".into(),
        display_name: "Nia New".into(),
        kind: MemberKind::Member,
        roles: roles.iter().map(|r| RoleKey::from(*r)).collect(),
        overrides: BTreeMap::new(),
        nonce: "n1".into(),
        expires_at: t0() + Duration::hours(72),
    }
}

#[test]
fn an_admin_invites_with_a_normalised_email_and_an_expiry() {
    let team = team()
        .when(invite("  Nia@ACME.test ", &["user"]))
        .then(Event::UserInvited(invited_event(&["user"])));
    let m = team.member(user(NEW)).cloned();
    assert_eq!(m.as_ref().map(|m| m.status), Some(MemberStatus::Invited));
    assert_eq!(
        team.member_by_email("NIA@acme.test").map(|m| m.user_id),
        Some(user(NEW))
    );
}

#[test]
fn emails_are_validated_and_unique() {
    team()
        .when(invite("nia.acme.test", &["user"]))
        .then_err(DomainError::InvalidEmail {
            email: "nia.acme.test".into(),
        });
    team()
        .when(invite("OWNER@acme.test", &["user"]))
        .then_err(DomainError::EmailTaken {
            email: "owner@acme.test".into(),
        });
}

#[test]
fn a_canceled_invitation_frees_its_email() {
    let mut cmd = invite("u2@acme.test", &["user"]);
    if let Command::InviteUser { email, .. } = &mut cmd {
        *email = "u2@acme.test".into();
    }
    let mut expected = invited_event(&["user"]);
    expected.email = "u2@acme.test".into();
    team()
        .and_by(
            Actor::Operator,
            [
                invited(user(2), &["user"]),
                Event::InvitationCanceled(InvitationCanceled {
                    user_id: user(2),
                    invitation_id: invitation_of(user(2)),
                }),
            ],
        )
        .when(cmd)
        .then(Event::UserInvited(expected));
}

#[test]
fn ids_of_an_invitation_are_fresh() {
    let mut cmd = invite("nia@acme.test", &["user"]);
    if let Command::InviteUser { user_id, .. } = &mut cmd {
        *user_id = user(MANAGER);
    }
    team().when(cmd).then_err(DomainError::UserIdTaken {
        user_id: user(MANAGER),
    });
    let mut cmd = invite("nia@acme.test", &["user"]);
    if let Command::InviteUser { invitation_id, .. } = &mut cmd {
        *invitation_id = invitation_of(user(MANAGER));
    }
    team().when(cmd).then_err(DomainError::InvitationIdTaken {
        invitation_id: invitation_of(user(MANAGER)),
    });
}

#[test]
fn invitations_name_known_roles_and_respect_single_role_catalogs() {
    team()
        .when(invite("nia@acme.test", &["pilot"]))
        .then_err(DomainError::UnknownRole {
            role: "pilot".into(),
        });
    given([tenant_created(catalogs::single_role())])
        .when(invite("nia@acme.test", &["user", "viewer"]))
        .then_err(DomainError::SingleRole { count: 2 });
}

#[test]
fn an_invitation_without_a_role_is_allowed() {
    team()
        .when(invite("nia@acme.test", &[]))
        .then(Event::UserInvited(invited_event(&[])));
}

#[test]
fn a_member_may_not_invite_with_more_than_it_holds() {
    team()
        .when(invite("nia@acme.test", &["admin"]))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(NEW),
            permission: "billing.manage".into(),
            reach: "scope all, from anywhere".into(),
        });
    team()
        .when(with_overrides(
            invite("nia@acme.test", &["viewer"]),
            &[("billing.view", Toggle::Allow)],
        ))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Escalation {
            actor: Actor::User(user(MANAGER)),
            user_id: user(NEW),
            permission: "billing.view".into(),
            reach: "scope all, from anywhere".into(),
        });
}

#[test]
fn externals_are_invited_with_view_actions_only() {
    team()
        .when(external(invite("nia@acme.test", &["user"])))
        .then_err(DomainError::ExternalViewOnly {
            permission: "contacts.delete".into(),
        });
    team()
        .when(external(with_overrides(
            invite("nia@acme.test", &["viewer"]),
            &[("billing.manage", Toggle::Allow)],
        )))
        .then_err(DomainError::ExternalViewOnly {
            permission: "billing.manage".into(),
        });
    let mut expected = invited_event(&["viewer"]);
    expected.kind = MemberKind::External;
    team()
        .when(external(invite("nia@acme.test", &["viewer"])))
        .then(Event::UserInvited(expected));
}

#[test]
fn invitation_overrides_are_checked() {
    team()
        .when(with_overrides(
            invite("nia@acme.test", &[]),
            &[("contacts.fly", Toggle::Allow)],
        ))
        .then_err(DomainError::UnknownPermission {
            permission: "contacts.fly".into(),
        });
    team()
        .when(with_overrides(
            invite("nia@acme.test", &[]),
            &[("projects.edit", Toggle::Allow)],
        ))
        .then_err(DomainError::PrerequisiteMissing {
            permission: "projects.edit".into(),
            requires: "projects.view".into(),
        });
    let lite = || {
        team().and_by(
            Actor::Operator,
            [Event::PlanChanged(PlanChanged {
                from: "pro".into(),
                to: "lite".into(),
            })],
        )
    };
    lite()
        .when(with_overrides(
            invite("nia@acme.test", &[]),
            &[("contacts.view", Toggle::Deny)],
        ))
        .then_err(DomainError::AlwaysOn {
            plan: "lite".into(),
            permission: "contacts.view".into(),
        });
    lite()
        .when(with_overrides(
            invite("nia@acme.test", &[]),
            &[("billing.view", Toggle::Allow)],
        ))
        .then_err(DomainError::PlanUnavailable {
            plan: "lite".into(),
            permission: "billing.view".into(),
        });
}

#[test]
fn inherit_overrides_are_not_recorded() {
    let mut expected = invited_event(&["viewer"]);
    expected.overrides = BTreeMap::from([("contacts.edit".into(), Toggle::Allow)]);
    team()
        .when(with_overrides(
            invite("nia@acme.test", &["viewer"]),
            &[
                ("contacts.edit", Toggle::Allow),
                ("contacts.view", Toggle::Inherit),
            ],
        ))
        .then(Event::UserInvited(expected));
}

#[test]
fn catalogs_may_require_mfa_to_invite() {
    let hub = || {
        given([tenant_created(catalogs::with_mfa())])
            .and_by(Actor::Operator, [invited(user(2), &["user"])])
    };
    hub()
        .when(invite("nia@acme.test", &["user"]))
        .then_err(DomainError::MfaRequired);
    hub()
        .when(Command::ResendInvitation {
            invitation_id: invitation_of(user(2)),
            nonce: "n2".into(),
        })
        .then_err(DomainError::MfaRequired);
    hub()
        .when(invite("nia@acme.test", &["user"]))
        .with_mfa()
        .then(Event::UserInvited(invited_event(&["user"])));
    hub()
        .when(invite("nia@acme.test", &["user"]))
        .by(Actor::Operator)
        .then(Event::UserInvited(invited_event(&["user"])));
}

fn pending() -> Given {
    team().and_by(Actor::Operator, [invited(user(2), &["user"])])
}

#[test]
fn a_resend_issues_a_new_nonce_and_expiry() {
    let later = t0() + Duration::hours(100);
    let team = pending()
        .when(Command::ResendInvitation {
            invitation_id: invitation_of(user(2)),
            nonce: "n2".into(),
        })
        .at(later)
        .then(Event::InvitationResent(InvitationResent {
            user_id: user(2),
            invitation_id: invitation_of(user(2)),
            nonce: "n2".into(),
            previous_expires_at: t0() + Duration::hours(72),
            expires_at: later + Duration::hours(72),
        }));
    let inv = team.member(user(2)).and_then(|m| m.invitation.clone());
    assert_eq!(inv.map(|i| i.nonce), Some("n2".to_owned()));
}

#[test]
fn a_resend_needs_a_pending_invitation_and_a_new_nonce() {
    let resend = |nonce: &str| Command::ResendInvitation {
        invitation_id: invitation_of(user(2)),
        nonce: nonce.into(),
    };
    pending()
        .when(resend("n1"))
        .then_err(DomainError::Unchanged { what: "nonce" });
    team()
        .when(resend("n2"))
        .then_err(DomainError::UnknownInvitation {
            invitation_id: invitation_of(user(2)),
        });
    pending()
        .and_by(Actor::Operator, [accepted(user(2))])
        .when(resend("n2"))
        .then_err(DomainError::InvitationUsed {
            invitation_id: invitation_of(user(2)),
        });
    pending()
        .and_by(
            Actor::Operator,
            [Event::InvitationCanceled(InvitationCanceled {
                user_id: user(2),
                invitation_id: invitation_of(user(2)),
            })],
        )
        .when(resend("n2"))
        .then_err(DomainError::InvitationCanceled {
            invitation_id: invitation_of(user(2)),
        });
}

#[test]
fn an_admin_cancels_a_pending_invitation() {
    let canceled = Event::InvitationCanceled(InvitationCanceled {
        user_id: user(2),
        invitation_id: invitation_of(user(2)),
    });
    let team = pending()
        .when(Command::CancelInvitation {
            invitation_id: invitation_of(user(2)),
        })
        .then(canceled.clone());
    assert_eq!(
        team.member(user(2)).map(|m| m.status),
        Some(MemberStatus::Canceled)
    );
    pending()
        .and_by(Actor::Operator, [canceled])
        .when(Command::CancelInvitation {
            invitation_id: invitation_of(user(2)),
        })
        .then_err(DomainError::InvitationCanceled {
            invitation_id: invitation_of(user(2)),
        });
    pending()
        .and_by(Actor::Operator, [accepted(user(2))])
        .when(Command::CancelInvitation {
            invitation_id: invitation_of(user(2)),
        })
        .then_err(DomainError::InvitationUsed {
            invitation_id: invitation_of(user(2)),
        });
}

fn accept(nonce: &str) -> Command {
    Command::AcceptInvitation {
        invitation_id: invitation_of(user(2)),
        nonce: nonce.into(),
    }
}

#[test]
fn the_invitee_accepts_and_becomes_active() {
    let team = pending()
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .then(accepted(user(2)));
    let m = team.member(user(2)).cloned();
    assert_eq!(m.as_ref().map(|m| m.status), Some(MemberStatus::Active));
    assert_eq!(m.and_then(|m| m.accepted_at), Some(t0()));
    pending()
        .when(accept("n1"))
        .by(Actor::Operator)
        .then(accepted(user(2)));
}

#[test]
fn nobody_else_accepts_an_invitation() {
    pending()
        .when(accept("n1"))
        .by(Actor::User(user(MANAGER)))
        .then_err(DomainError::Forbidden {
            actor: Actor::User(user(MANAGER)),
            action: "accept another person's invitation",
        });
}

#[test]
fn unknown_canceled_used_superseded_and_expired_invitations_are_refused() {
    let id = invitation_of(user(2));
    team()
        .when(accept("n1"))
        .by(Actor::Operator)
        .then_err(DomainError::UnknownInvitation { invitation_id: id });
    pending()
        .and_by(
            Actor::Operator,
            [Event::InvitationCanceled(InvitationCanceled {
                user_id: user(2),
                invitation_id: id,
            })],
        )
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .then_err(DomainError::InvitationCanceled { invitation_id: id });
    pending()
        .and_by(Actor::Operator, [accepted(user(2))])
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .then_err(DomainError::InvitationUsed { invitation_id: id });
    pending()
        .and_by(
            Actor::Operator,
            [Event::InvitationResent(InvitationResent {
                user_id: user(2),
                invitation_id: id,
                nonce: "n2".into(),
                previous_expires_at: t0() + Duration::hours(72),
                expires_at: t0() + Duration::hours(72),
            })],
        )
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .then_err(DomainError::InvitationSuperseded { invitation_id: id });
    pending()
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .at(t0() + Duration::hours(72) + Duration::seconds(1))
        .then_err(DomainError::InvitationExpired {
            invitation_id: id,
            expired_at: t0() + Duration::hours(72),
        });
}

#[test]
fn an_invitation_is_still_good_at_its_last_second() {
    pending()
        .when(accept("n1"))
        .by(Actor::User(user(2)))
        .at(t0() + Duration::hours(72))
        .then(accepted(user(2)));
}

#[test]
fn externals_of_a_tracker_hold_read_only() {
    let tracker = || {
        given([tenant_created(catalogs::tracker())]).and_by(
            Actor::Operator,
            [Event::RoleCreated(RoleCreated {
                role: "field".into(),
                label: "Field".into(),
                grants: vec!["jobs.read".into(), "jobs.update".into()],
            })],
        )
    };
    let mut cmd = external(invite("nia@acme.test", &["field"]));
    tracker()
        .when(cmd.clone())
        .then_err(DomainError::ExternalViewOnly {
            permission: "jobs.update".into(),
        });
    if let Command::InviteUser {
        roles, overrides, ..
    } = &mut cmd
    {
        roles.clear();
        overrides.insert("jobs.read".into(), Toggle::Allow);
    }
    let team = tracker().when(cmd).then(Event::UserInvited(UserInvited {
        kind: MemberKind::External,
        roles: vec![],
        overrides: BTreeMap::from([("jobs.read".into(), Toggle::Allow)]),
        ..invited_event(&[])
    }));
    let team = fold_one(
        team,
        Actor::User(user(NEW)),
        t0(),
        &Event::InvitationAccepted(InvitationAccepted {
            user_id: user(NEW),
            invitation_id: invitation_of(user(NEW)),
        }),
    );
    let held: Vec<String> = rollcall_aggregates::effective(&team, user(NEW))
        .map(|e| e.permissions.keys().map(|p| p.to_string()).collect())
        .unwrap_or_default();
    assert_eq!(held, vec!["jobs.read"]);
}
