//! Wire formats and stable names: commands as JSON, error messages. (Error slugs
//! and their HTTP statuses are the gateway's: see its problem tests.)

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, DomainError};
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
