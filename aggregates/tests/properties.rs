//! Invariants over random command sequences against the small fixture catalog:
//! a tenant never ends without an active admin, effective permissions never hold
//! a permission whose prerequisite is missing, and folding the produced events
//! from empty reproduces the state the run ended with.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, Context, Team, decide, effective};
use rollcall_events::catalog::Scope;
use rollcall_events::*;

const PERMISSIONS: [&str; 11] = [
    "contacts.view",
    "contacts.edit",
    "contacts.delete",
    "projects.view",
    "projects.edit",
    "projects.share",
    "offices.all",
    "billing.view",
    "billing.manage",
    "team.view",
    "team.manage",
];
const ROLES: [&str; 5] = ["admin", "manager", "user", "viewer", "custom"];

fn actor() -> impl Strategy<Value = Actor> {
    // Mostly the operator and the owner, so that sequences get far enough to
    // matter; other members act too, and are often refused.
    prop_oneof![
        3 => Just(Actor::Operator),
        4 => Just(Actor::User(OWNER)),
        3 => (2u128..=4).prop_map(|n| Actor::User(user(n))),
    ]
}

fn roles() -> impl Strategy<Value = Vec<RoleKey>> {
    prop::collection::vec(prop::sample::select(&ROLES[..]), 0..3)
        .prop_map(|rs| rs.into_iter().map(RoleKey::from).collect())
}

fn permission() -> impl Strategy<Value = Permission> {
    prop::sample::select(&PERMISSIONS[..]).prop_map(Permission::from)
}

fn toggle() -> impl Strategy<Value = Toggle> {
    prop_oneof![
        Just(Toggle::Allow),
        Just(Toggle::Deny),
        Just(Toggle::Inherit)
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let who = || (1u128..=4).prop_map(user);
    prop_oneof![
        4 => ((2u128..=4), roles(), prop::bool::weighted(0.2)).prop_map(|(n, roles, ext)| Command::InviteUser {
            user_id: user(n),
            invitation_id: invitation_of(user(n)),
            email: format!("u{n}@acme.test"),
            display_name: format!("User {n}"),
            roles,
            overrides: BTreeMap::new(),
            kind: if ext { MemberKind::External } else { MemberKind::Member },
            nonce: "n1".into(),
        }),
        4 => ((2u128..=4), prop_oneof![3 => Just("n1"), 1 => Just("n2")]).prop_map(|(n, nonce)| Command::AcceptInvitation {
            invitation_id: invitation_of(user(n)),
            nonce: nonce.into(),
        }),
        1 => (2u128..=4).prop_map(|n| Command::ResendInvitation {
            invitation_id: invitation_of(user(n)),
            nonce: "n2".into(),
        }),
        1 => (2u128..=4).prop_map(|n| Command::CancelInvitation {
            invitation_id: invitation_of(user(n)),
        }),
        4 => (who(), roles()).prop_map(|(user_id, roles)| Command::ChangeRoles { user_id, roles }),
        4 => (who(), permission(), toggle()).prop_map(|(user_id, permission, state)| {
            Command::TogglePermission { user_id, permission, state }
        }),
        2 => who().prop_map(|user_id| Command::DeactivateUser { user_id, reassign_to: None }),
        1 => who().prop_map(|user_id| Command::ReactivateUser { user_id }),
        1 => (who(), prop_oneof![Just(Scope::All), Just(Scope::Offices)]).prop_map(|(user_id, scope)| {
            Command::SetScope { user_id, area: "projects".into(), scope }
        }),
        1 => (who(), prop::collection::vec(prop_oneof![Just("east"), Just("west")], 0..3)).prop_map(
            |(user_id, os)| Command::SetOffices {
                user_id,
                offices: os.into_iter().map(OfficeId::from).collect(),
            }
        ),
        1 => prop_oneof![Just("pro"), Just("lite")].prop_map(|p| Command::ChangePlan { plan: p.into() }),
        1 => prop::collection::vec(permission(), 0..4).prop_map(|grants| Command::CreateRole {
            role: "custom".into(),
            label: "Custom".into(),
            grants,
        }),
        1 => prop::collection::vec(permission(), 0..4).prop_map(|grants| Command::UpdateRole {
            role: "custom".into(),
            label: "Custom".into(),
            grants,
        }),
        1 => Just(Command::DeleteRole { role: "custom".into() }),
    ]
}

/// Runs the commands, folding every accepted event; returns the final team and
/// every event with its actor.
fn run(steps: &[(Actor, Command)]) -> (Team, Vec<(Actor, Event)>, Vec<Team>) {
    let first = tenant_created(catalogs::small());
    let mut log = vec![(Actor::Operator, first.clone())];
    let mut team = fold_one(Team::default(), Actor::Operator, t0(), &first);
    let mut states = vec![team.clone()];
    for (actor, command) in steps {
        let ctx = Context {
            now: t0(),
            actor: *actor,
            mfa: true,
            reason: None,
        };
        if let Ok(event) = decide(&team, command, &ctx) {
            team = fold_one(team, *actor, t0(), &event);
            log.push((*actor, event));
            states.push(team.clone());
        }
    }
    (team, log, states)
}

fn steps() -> impl Strategy<Value = Vec<(Actor, Command)>> {
    prop::collection::vec((actor(), command()), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_tenant_never_ends_without_an_active_admin(steps in steps()) {
        let (_, _, states) = run(&steps);
        for team in &states {
            prop_assert!(!team.active_admins().is_empty());
        }
    }

    #[test]
    fn effective_permissions_always_hold_their_prerequisites(steps in steps()) {
        let (_, _, states) = run(&steps);
        for team in &states {
            let Some(catalog) = team.catalog() else { continue };
            for id in team.members.keys() {
                let Some(e) = effective(team, *id) else { continue };
                for p in e.permissions.keys() {
                    for r in catalog.requires(p) {
                        prop_assert!(
                            e.permissions.contains_key(r),
                            "{id} holds {p} without {r}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn folding_the_events_from_empty_reproduces_the_state(steps in steps()) {
        let (team, log, _) = run(&steps);
        let envelopes = seal_after(&Team::default(), log);
        let replayed = fold(Team::default(), &envelopes);
        prop_assert_eq!(replayed, team);
    }
}

#[test]
fn random_runs_do_accept_commands() {
    // Guards the generators: a run in which nothing is accepted proves nothing.
    let steps = vec![
        (
            Actor::Operator,
            Command::InviteUser {
                user_id: user(2),
                invitation_id: invitation_of(user(2)),
                email: "u2@acme.test".into(),
                display_name: "User 2".into(),
                roles: vec!["user".into()],
                overrides: BTreeMap::new(),
                kind: MemberKind::Member,
                nonce: "n1".into(),
            },
        ),
        (
            Actor::User(user(2)),
            Command::AcceptInvitation {
                invitation_id: invitation_of(user(2)),
                nonce: "n1".into(),
            },
        ),
        (
            Actor::User(OWNER),
            Command::TogglePermission {
                user_id: user(2),
                permission: "projects.share".into(),
                state: Toggle::Allow,
            },
        ),
    ];
    let (team, log, _) = run(&steps);
    assert_eq!(log.len(), 4);
    assert_eq!(team.tenant_seq, 4);
}
