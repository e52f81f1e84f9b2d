//! Property: over random valid histories (commands decided by the aggregate), the
//! projections' in-memory check, member views and Team equal what the aggregate
//! gives on the Team folded from the same events, however the events are batched;
//! and any batching gives the same state hash.

use std::net::IpAddr;

use pretty_assertions::assert_eq;
use proptest::prelude::*;
use rollcall_aggregates::testing::{OWNER, TENANT, catalogs, tenant_created, user};
use rollcall_aggregates::{CheckRequest, Command, Resource, check, effective};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, InvitationId, MemberKind, OfficeId, Permission, RoleKey, Toggle};
use rollcall_projections::testing::{History, projections};

const PERMISSIONS: [&str; 13] = [
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
    "contacts.*",
    "*",
];
const ROLES: [&str; 6] = ["admin", "manager", "user", "viewer", "custom_a", "custom_b"];
const USERS: u128 = 6;

#[derive(Debug, Clone)]
enum Op {
    Invite {
        user: u128,
        roles: Vec<usize>,
        deny: Option<usize>,
        external: bool,
    },
    Accept {
        user: u128,
    },
    Cancel {
        user: u128,
    },
    ChangeRoles {
        user: u128,
        roles: Vec<usize>,
    },
    Toggle {
        user: u128,
        permission: usize,
        state: u8,
    },
    Scope {
        user: u128,
        area: bool,
        scope: u8,
    },
    Offices {
        user: u128,
        offices: Vec<u8>,
    },
    Networks {
        user: u128,
        restricted: bool,
    },
    Deactivate {
        user: u128,
        reassign: Option<u128>,
    },
    Reactivate {
        user: u128,
    },
    Login {
        user: u128,
    },
    CreateRole {
        role: usize,
        grants: Vec<usize>,
    },
    UpdateRole {
        role: usize,
        grants: Vec<usize>,
    },
    DeleteRole {
        role: usize,
    },
    ChangePlan {
        lite: bool,
    },
}

fn member() -> impl Strategy<Value = u128> {
    2..=USERS
}

fn op() -> impl Strategy<Value = Op> {
    let roles = prop::collection::vec(0..4usize, 0..3);
    let grants = prop::collection::vec(0..PERMISSIONS.len(), 1..4);
    prop_oneof![
        5 => (member(), roles.clone(), prop::option::of(0..11usize), any::<bool>())
            .prop_map(|(user, roles, deny, external)| Op::Invite { user, roles, deny, external }),
        5 => member().prop_map(|user| Op::Accept { user }),
        1 => member().prop_map(|user| Op::Cancel { user }),
        2 => (member(), prop::collection::vec(0..ROLES.len(), 0..3))
            .prop_map(|(user, roles)| Op::ChangeRoles { user, roles }),
        3 => (1..=USERS, 0..11usize, 0..3u8)
            .prop_map(|(user, permission, state)| Op::Toggle { user, permission, state }),
        1 => (member(), any::<bool>(), 0..3u8).prop_map(|(user, area, scope)| Op::Scope { user, area, scope }),
        1 => (member(), prop::collection::vec(0..3u8, 0..3))
            .prop_map(|(user, offices)| Op::Offices { user, offices }),
        1 => (member(), any::<bool>()).prop_map(|(user, restricted)| Op::Networks { user, restricted }),
        1 => (member(), prop::option::of(1..=USERS))
            .prop_map(|(user, reassign)| Op::Deactivate { user, reassign }),
        1 => member().prop_map(|user| Op::Reactivate { user }),
        1 => (1..=USERS).prop_map(|user| Op::Login { user }),
        1 => (4..6usize, grants.clone()).prop_map(|(role, grants)| Op::CreateRole { role, grants }),
        1 => (2..6usize, grants).prop_map(|(role, grants)| Op::UpdateRole { role, grants }),
        1 => (4..6usize).prop_map(|role| Op::DeleteRole { role }),
        1 => any::<bool>().prop_map(|lite| Op::ChangePlan { lite }),
    ]
}

fn roles(indices: &[usize]) -> Vec<RoleKey> {
    let mut roles: Vec<RoleKey> = indices.iter().map(|i| RoleKey::from(ROLES[*i])).collect();
    roles.dedup();
    roles
}

/// The command of an op, and who sends it: the owner for admin work, the member
/// itself (or the operator) where only they may act.
fn command(op: &Op) -> (Actor, Command) {
    let owner = Actor::User(OWNER);
    match op.clone() {
        Op::Invite {
            user: u,
            roles: r,
            deny,
            external,
        } => (
            owner,
            Command::InviteUser {
                user_id: user(u),
                invitation_id: InvitationId(user(u).as_uuid()),
                email: format!("u{u}@acme.test"),
                display_name: format!("User {u}"),
                roles: roles(&r),
                overrides: deny
                    .map(|p| (Permission::from(PERMISSIONS[p]), Toggle::Deny))
                    .into_iter()
                    .collect(),
                kind: if external {
                    MemberKind::External
                } else {
                    MemberKind::Member
                },
                nonce: format!("n{u}"),
            },
        ),
        Op::Accept { user: u } => (
            Actor::User(user(u)),
            Command::AcceptInvitation {
                invitation_id: InvitationId(user(u).as_uuid()),
                nonce: format!("n{u}"),
            },
        ),
        Op::Cancel { user: u } => (
            owner,
            Command::CancelInvitation {
                invitation_id: InvitationId(user(u).as_uuid()),
            },
        ),
        Op::ChangeRoles { user: u, roles: r } => (
            owner,
            Command::ChangeRoles {
                user_id: user(u),
                roles: roles(&r),
            },
        ),
        Op::Toggle {
            user: u,
            permission,
            state,
        } => (
            owner,
            Command::TogglePermission {
                user_id: user(u),
                permission: Permission::from(PERMISSIONS[permission]),
                state: [Toggle::Allow, Toggle::Deny, Toggle::Inherit][state as usize],
            },
        ),
        Op::Scope {
            user: u,
            area,
            scope,
        } => (
            owner,
            Command::SetScope {
                user_id: user(u),
                area: if area { "contacts" } else { "projects" }.to_owned(),
                scope: [Scope::All, Scope::Assigned, Scope::Offices][scope as usize],
            },
        ),
        Op::Offices { user: u, offices } => (
            owner,
            Command::SetOffices {
                user_id: user(u),
                offices: offices
                    .iter()
                    .map(|o| OfficeId::new(format!("office-{o}")))
                    .collect(),
            },
        ),
        Op::Networks {
            user: u,
            restricted,
        } => (
            owner,
            Command::SetAllowedNetworks {
                user_id: user(u),
                cidrs: if restricted {
                    vec!["10.0.0.0/8".to_owned()]
                } else {
                    vec![]
                },
            },
        ),
        Op::Deactivate { user: u, reassign } => (
            owner,
            Command::DeactivateUser {
                user_id: user(u),
                reassign_to: reassign.map(user),
            },
        ),
        Op::Reactivate { user: u } => (owner, Command::ReactivateUser { user_id: user(u) }),
        Op::Login { user: u } => (
            Actor::User(user(u)),
            Command::RecordLogin {
                user_id: user(u),
                source_ip: None,
            },
        ),
        Op::CreateRole { role, grants } => (
            owner,
            Command::CreateRole {
                role: RoleKey::from(ROLES[role]),
                label: ROLES[role].to_owned(),
                grants: grants
                    .iter()
                    .map(|g| Permission::from(PERMISSIONS[*g]))
                    .collect(),
            },
        ),
        Op::UpdateRole { role, grants } => (
            owner,
            Command::UpdateRole {
                role: RoleKey::from(ROLES[role]),
                label: format!("{} (edited)", ROLES[role]),
                grants: grants
                    .iter()
                    .map(|g| Permission::from(PERMISSIONS[*g]))
                    .collect(),
            },
        ),
        Op::DeleteRole { role } => (
            owner,
            Command::DeleteRole {
                role: RoleKey::from(ROLES[role]),
            },
        ),
        Op::ChangePlan { lite } => (
            owner,
            Command::ChangePlan {
                plan: if lite { "lite" } else { "pro" }.to_owned(),
            },
        ),
    }
}

fn requests() -> Vec<CheckRequest> {
    let ips: [Option<IpAddr>; 3] = [None, "10.1.2.3".parse().ok(), "192.168.1.1".parse().ok()];
    let mut out = Vec::new();
    for u in 1..=USERS + 1 {
        for p in PERMISSIONS.iter().take(11).chain(["nope.view"].iter()) {
            for (owner, office) in [
                (None, None),
                (Some(user(u)), Some("office-1")),
                (Some(OWNER), Some("office-2")),
            ] {
                for ip in ips {
                    out.push(CheckRequest {
                        user_id: user(u),
                        permission: Permission::from(*p),
                        resource: Resource {
                            owner_id: owner,
                            office_id: office.map(OfficeId::from),
                        },
                        source_ip: ip,
                    });
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn projections_agree_with_the_aggregate(
        ops in prop::collection::vec(op(), 10..120),
        batch in 1..20usize,
    ) {
        let mut h = History::new();
        h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
        for op in &ops {
            let (actor, command) = command(op);
            // Refused commands leave no event: the history stays valid.
            let _ = h.decide(TENANT, actor, command);
        }
        let team = h.team(TENANT);

        let p = projections();
        for chunk in h.events.chunks(batch) {
            p.apply(chunk.to_vec()).unwrap();
        }
        prop_assert_eq!(p.position(), h.position());
        prop_assert_eq!(&p.team(TENANT).unwrap(), &team);
        for request in requests() {
            prop_assert_eq!(p.check(TENANT, &request), Some(check(&team, &request)));
        }
        for (id, member) in &team.members {
            let view = p.user(TENANT, *id).unwrap();
            let expected = effective(&team, *id).unwrap();
            prop_assert_eq!(view.summary.status.as_str(), member.status.as_str());
            let scopes: std::collections::BTreeMap<String, String> = expected
                .scopes
                .iter()
                .map(|(area, scope)| (area.to_string(), scope.as_str().to_owned()))
                .collect();
            prop_assert_eq!(&view.scopes, &scopes);
            prop_assert_eq!(
                view.effective.iter().map(|e| (e.permission.clone(), e.sources.clone())).collect::<Vec<_>>(),
                expected.permissions.into_iter().map(|(p, s)| (p.to_string(), s)).collect::<Vec<_>>()
            );
        }

        // One event at a time gives the same bytes as any other batching.
        let q = projections();
        for raw in &h.events {
            q.apply(vec![raw.clone()]).unwrap();
        }
        assert_eq!(p.state_hash().unwrap(), q.state_hash().unwrap());
    }
}
