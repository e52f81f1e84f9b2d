//! Property: for random histories made by the real decider (with clocks that
//! sometimes step back), every as-of answer, with or without snapshots, equals
//! the effective permissions computed by folding the same events up to that
//! point directly; and a diff between two instants is exactly the difference of
//! the effective permissions at both ends.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{MemoryLog, Scenario, TENANT, at, minutes};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use rollcall_aggregates::testing::OWNER;
use rollcall_aggregates::{Command, Team, effective, evolve};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, Envelope, InvitationId, Permission, RoleKey, Toggle, UserId};
use rollcall_replay::{
    SnapshotStore, TeamHistory, diff_events, effective_as_of, holders, holders_as_of,
};
use std::collections::BTreeSet;

const ROLES: [&str; 5] = ["admin", "manager", "user", "viewer", "auditor"];
const PERMS: [&str; 8] = [
    "contacts.view",
    "contacts.delete",
    "projects.view",
    "projects.edit",
    "projects.share",
    "billing.view",
    "offices.all",
    "team.manage",
];

#[derive(Debug, Clone)]
enum Op {
    Invite(u8, u8),
    Accept(u8),
    ChangeRoles(u8, u8),
    Toggle(u8, u8, u8),
    Scope(u8, bool),
    Deactivate(u8),
    Reactivate(u8),
    Plan(bool),
    CreateRole(u8),
    DeleteRole,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..5, 0u8..5).prop_map(|(u, r)| Op::Invite(u, r)),
        3 => (0u8..5).prop_map(Op::Accept),
        2 => (0u8..5, 0u8..5).prop_map(|(u, r)| Op::ChangeRoles(u, r)),
        3 => (0u8..5, 0u8..8, 0u8..3).prop_map(|(u, p, s)| Op::Toggle(u, p, s)),
        1 => (0u8..5, any::<bool>()).prop_map(|(u, s)| Op::Scope(u, s)),
        1 => (0u8..5).prop_map(Op::Deactivate),
        1 => (0u8..5).prop_map(Op::Reactivate),
        1 => any::<bool>().prop_map(Op::Plan),
        1 => (0u8..8).prop_map(Op::CreateRole),
        1 => Just(Op::DeleteRole),
    ]
}

fn user(u: u8) -> UserId {
    UserId::from_u128(10 + u128::from(u))
}

fn command(op: &Op) -> (Actor, Command) {
    let owner = Actor::User(OWNER);
    let c = match op {
        Op::Invite(u, r) => Command::InviteUser {
            user_id: user(*u),
            invitation_id: InvitationId(user(*u).as_uuid()),
            email: format!("u{u}@acme.test"),
            display_name: format!("User {u}"),
            roles: vec![RoleKey::from(ROLES[usize::from(*r)])],
            overrides: Default::default(),
            kind: Default::default(),
            nonce: "n".into(),
        },
        Op::Accept(u) => {
            return (
                Actor::User(user(*u)),
                Command::AcceptInvitation {
                    invitation_id: InvitationId(user(*u).as_uuid()),
                    nonce: "n".into(),
                },
            );
        }
        Op::ChangeRoles(u, r) => Command::ChangeRoles {
            user_id: user(*u),
            roles: vec![RoleKey::from(ROLES[usize::from(*r)])],
        },
        Op::Toggle(u, p, s) => Command::TogglePermission {
            user_id: user(*u),
            permission: Permission::from(PERMS[usize::from(*p)]),
            state: [Toggle::Allow, Toggle::Deny, Toggle::Inherit][usize::from(*s)],
        },
        Op::Scope(u, assigned) => Command::SetScope {
            user_id: user(*u),
            area: "contacts".into(),
            scope: if *assigned {
                Scope::Assigned
            } else {
                Scope::All
            },
        },
        Op::Deactivate(u) => Command::DeactivateUser {
            user_id: user(*u),
            reassign_to: None,
        },
        Op::Reactivate(u) => Command::ReactivateUser { user_id: user(*u) },
        Op::Plan(lite) => Command::ChangePlan {
            plan: if *lite { "lite" } else { "pro" }.into(),
        },
        Op::CreateRole(p) => Command::CreateRole {
            role: "auditor".into(),
            label: "Auditor".into(),
            grants: vec![Permission::from(PERMS[usize::from(*p)])],
        },
        Op::DeleteRole => Command::DeleteRole {
            role: "auditor".into(),
        },
    };
    (owner, c)
}

/// A history: each op a few minutes after the last, sometimes a little before
/// (a gateway with a slow clock). Rejected commands leave no event.
fn history(ops: &[(Op, i64)]) -> Scenario {
    let mut s = Scenario::new(TENANT);
    s.create(at(8, 0));
    let mut now = at(8, 0);
    for (op, step) in ops {
        now += minutes(*step);
        let (actor, command) = command(op);
        let _ = s.try_run(actor, now, None, command);
    }
    s
}

/// The reference: fold the chain's events up to the first one after `at`.
fn direct(events: &[Envelope], at: DateTime<Utc>) -> Team {
    events
        .iter()
        .take_while(|e| e.occurred_at <= at)
        .fold(Team::default(), evolve)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn as_of_answers_equal_a_direct_fold(
        ops in prop::collection::vec((op(), -2i64..6), 1..60),
        every in 1u64..6,
        probes in prop::collection::vec((0i64..400, 0u8..8), 1..12),
    ) {
        let s = history(&ops);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let log = Arc::new(MemoryLog::with(s.raw.clone()));
        let with_snapshots = TeamHistory::new(log.clone(), Some(SnapshotStore::in_memory(every)));
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let stored = TeamHistory::new(
            log.clone(),
            Some(SnapshotStore::open(&db, every).expect("snapshot store")),
        );
        runtime.block_on(stored.catch_up(TENANT)).expect("snapshots written");
        let without = TeamHistory::new(log, None);
        for (offset, p) in probes {
            let t = at(7, 58) + minutes(offset);
            let reference = direct(&s.decoded, t);
            let permission = Permission::from(PERMS[usize::from(p)]);
            let users: Vec<UserId> = std::iter::once(OWNER).chain((0..5).map(user)).collect();
            for u in &users {
                let expected = effective(&reference, *u);
                prop_assert_eq!(&effective_as_of(&s.decoded, *u, t), &expected);
                for history in [&with_snapshots, &stored, &without] {
                    let got = runtime.block_on(history.effective_at(TENANT, *u, t)).expect("as-of");
                    prop_assert_eq!(&got, &expected);
                }
            }
            // The diff from this instant to a later one is exactly the difference of
            // the effective sets at both ends, and every change has a cause.
            let later = t + minutes(37);
            let end = direct(&s.decoded, later);
            let diff = diff_events(&s.decoded, t, later);
            for u in &users {
                let held = |team: &Team| -> BTreeSet<Permission> {
                    effective(team, *u)
                        .map(|e| e.permissions.into_keys().collect())
                        .unwrap_or_default()
                };
                let (before, after) = (held(&reference), held(&end));
                let member = diff.members.iter().find(|m| m.user_id == *u);
                let granted: BTreeSet<Permission> = member
                    .map(|m| m.granted.iter().map(|c| c.permission.clone()).collect())
                    .unwrap_or_default();
                let revoked: BTreeSet<Permission> = member
                    .map(|m| m.revoked.iter().map(|c| c.permission.clone()).collect())
                    .unwrap_or_default();
                prop_assert_eq!(&granted, &after.difference(&before).cloned().collect());
                prop_assert_eq!(&revoked, &before.difference(&after).cloned().collect());
                if let Some(m) = member {
                    prop_assert!(m.granted.iter().chain(&m.revoked).all(|c| c.cause.is_some()));
                }
            }
            let expected_holders = holders(&reference, &permission);
            prop_assert_eq!(&holders_as_of(&s.decoded, &permission, t), &expected_holders);
            let got = runtime
                .block_on(with_snapshots.holders_at(TENANT, &permission, t))
                .expect("holders");
            assert_eq!(got, expected_holders);
        }
    }
}
