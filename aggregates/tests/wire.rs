//! Wire formats and stable names: commands as JSON, error slugs and statuses.

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{CatalogError, Command, DomainError, MemberStatus};
use rollcall_events::catalog::Scope;
use rollcall_events::*;

#[test]
fn commands_serialise_tagged_by_name() {
    let commands = vec![
        Command::InviteUser {
            user_id: user(2),
            invitation_id: invitation_of(user(2)),
            email: "ann@acme.test".into(),
            display_name: "Ann".into(),
            roles: vec!["user".into()],
            overrides: BTreeMap::from([("billing.view".into(), Toggle::Allow)]),
            kind: MemberKind::Member,
            nonce: "n1".into(),
        },
        Command::TogglePermission {
            user_id: user(2),
            permission: "contacts.delete".into(),
            state: Toggle::Deny,
        },
        Command::SetScope {
            user_id: user(2),
            area: "contacts".into(),
            scope: Scope::Assigned,
        },
        Command::RecordLogin {
            user_id: user(2),
            source_ip: "192.0.2.1".parse().ok(),
        },
    ];
    insta::assert_json_snapshot!("commands", commands);
    for c in &commands {
        let json = serde_json::to_value(c).unwrap_or_default();
        assert_eq!(json["command"], c.name());
        let back: Result<Command, _> = serde_json::from_value(json);
        assert_eq!(back.ok().as_ref(), Some(c));
    }
}

#[test]
fn errors_have_stable_slugs_and_statuses() {
    let id = invitation_of(user(2));
    let cases: Vec<(DomainError, &str, u16)> = vec![
        (DomainError::TenantNotFound, "not-found", 404),
        (
            DomainError::LastActiveAdmin {
                admins: vec![OWNER],
            },
            "last-admin",
            409,
        ),
        (
            DomainError::Escalation {
                actor: Actor::User(user(2)),
                permission: "billing.view".into(),
            },
            "escalation",
            403,
        ),
        (
            DomainError::PrerequisiteMissing {
                permission: "projects.edit".into(),
                requires: "projects.view".into(),
            },
            "prerequisite-missing",
            422,
        ),
        (
            DomainError::InvitationExpired {
                invitation_id: id,
                expired_at: t0(),
            },
            "invitation-expired",
            410,
        ),
        (
            DomainError::InvitationCanceled { invitation_id: id },
            "invitation-canceled",
            410,
        ),
        (
            DomainError::InvitationUsed { invitation_id: id },
            "invitation-used",
            409,
        ),
        (
            DomainError::InvitationSuperseded { invitation_id: id },
            "invitation-superseded",
            410,
        ),
        (
            DomainError::NotAuthorized {
                actor: Actor::User(user(2)),
            },
            "forbidden",
            403,
        ),
        (
            DomainError::InvalidCidr { cidr: "x".into() },
            "validation",
            422,
        ),
        (DomainError::MfaRequired, "mfa-required", 403),
        (
            DomainError::EmailTaken {
                email: "a@b.c".into(),
            },
            "email-taken",
            409,
        ),
        (
            DomainError::RoleInUse {
                role: "user".into(),
                members: 2,
            },
            "role-in-use",
            409,
        ),
        (DomainError::Unchanged { what: "roles" }, "unchanged", 409),
        (
            DomainError::TooManyOffices {
                plan: "lite".into(),
                max: 1,
                requested: 2,
            },
            "plan-restriction",
            422,
        ),
        (
            DomainError::ExternalViewOnly {
                permission: "contacts.edit".into(),
            },
            "external-view-only",
            422,
        ),
        (
            DomainError::OnlyAdminsChangeAdmins { user_id: OWNER },
            "only-admins-change-admins",
            403,
        ),
        (
            DomainError::NetworkNotAllowed {
                user_id: user(2),
                ip: "192.0.2.1".into(),
            },
            "network-not-allowed",
            403,
        ),
        (
            DomainError::NotActive {
                user_id: user(2),
                status: MemberStatus::Deactivated,
            },
            "conflict",
            409,
        ),
        (
            DomainError::UnknownRole { role: "x".into() },
            "unknown-role",
            422,
        ),
        (
            DomainError::InvalidCatalog(CatalogError::NoPlans),
            "invalid-catalog",
            422,
        ),
    ];
    for (err, slug, status) in cases {
        assert_eq!((err.slug(), err.http_status()), (slug, status), "{err}");
    }
}

#[test]
fn error_messages_carry_no_nonce() {
    let err = DomainError::InvitationSuperseded {
        invitation_id: invitation_of(user(2)),
    };
    assert!(!err.to_string().contains("n1"));
    assert_eq!(
        err.to_string(),
        format!(
            "invitation {} was resent; only the latest link works",
            invitation_of(user(2))
        )
    );
}
