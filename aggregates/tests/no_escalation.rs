//! The no-escalation invariant, as a property over random command sequences by
//! random members (never the operator) of each of the four seed catalogs: after
//! every accepted command, nobody holds a permission more widely (scope, offices,
//! networks) than before unless the actor held it at least that widely.
//!
//! A plan change is the one command judged otherwise: it is a tenant-level
//! setting whose effect the catalog's plan definitions fix, and it takes the
//! billing permission, which the property checks instead.
//!
//! The property is checked over every member of the team, not only those the
//! decider judged, and with its own comparison of holdings written here from the
//! member views (`effective`), so a gap in the decider's reach or in its notion of
//! "covers" shows up as a counterexample. Invited members are judged as if active:
//! an invitation is a grant the invitee later accepts alone.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use proptest::prelude::*;
use rollcall_aggregates::testing::*;
use rollcall_aggregates::{Command, Context, MemberStatus, Team, decide, effective};
use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::*;

const SEEDS: [(&str, &str); 4] = [
    ("jtek", include_str!("../../catalogs/jtek.json")),
    ("jetbuilt", include_str!("../../catalogs/jetbuilt.json")),
    ("jobtracker", include_str!("../../catalogs/jobtracker.json")),
    ("jethub", include_str!("../../catalogs/jethub.json")),
];
const OFFICES: [&str; 3] = ["east", "west", "north"];
const NETWORKS: [&str; 4] = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "0.0.0.0/0"];
/// Invitation slots: user ids 10, 11, … with their own emails.
const SLOTS: u8 = 5;

fn seed(name: &str) -> CatalogDoc {
    let json = SEEDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, json)| *json)
        .unwrap_or_else(|| panic!("no seed {name}"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("seed {name} does not parse: {e}"))
}

/// The vocabulary commands are drawn from, per catalog.
struct World {
    doc: CatalogDoc,
    roles: Vec<RoleKey>,
    permissions: Vec<Permission>,
    scoped: Vec<(String, Vec<Scope>)>,
    plans: Vec<String>,
}

impl World {
    fn of(name: &str) -> World {
        let doc = seed(name);
        let mut roles: Vec<RoleKey> = doc.roles.iter().map(|r| r.key.clone()).collect();
        roles.push("custom".into());
        let permissions = doc
            .areas
            .iter()
            .flat_map(|a| {
                a.actions
                    .iter()
                    .map(move |x| Permission::new(format!("{}.{}", a.key, x.key)))
            })
            .collect();
        let scoped = doc
            .areas
            .iter()
            .filter_map(|a| a.scope.as_ref().map(|s| (a.key.clone(), s.options.clone())))
            .collect();
        let plans = doc.plans.iter().map(|p| p.key.clone()).collect();
        World {
            doc,
            roles,
            permissions,
            scoped,
            plans,
        }
    }
}

/// A command with its targets given as indexes, resolved against the team when
/// it runs (so every step names someone who exists).
#[derive(Debug, Clone)]
enum Step {
    Invite {
        slot: u8,
        roles: Vec<usize>,
        overrides: Vec<(usize, Toggle)>,
        external: bool,
    },
    /// By the invitee.
    Accept {
        slot: u8,
    },
    Cancel {
        slot: u8,
    },
    ChangeRoles {
        target: usize,
        roles: Vec<usize>,
    },
    Toggle {
        target: usize,
        permission: usize,
        state: Toggle,
    },
    SetScope {
        target: usize,
        area: usize,
        scope: usize,
    },
    SetOffices {
        target: usize,
        offices: Vec<usize>,
    },
    SetNetworks {
        target: usize,
        networks: Vec<usize>,
    },
    Deactivate {
        target: usize,
    },
    Reactivate {
        target: usize,
    },
    ChangePlan {
        plan: usize,
    },
    CreateRole {
        grants: Vec<usize>,
    },
    UpdateRole {
        grants: Vec<usize>,
    },
    DeleteRole,
}

fn toggle() -> impl Strategy<Value = Toggle> {
    prop_oneof![
        Just(Toggle::Allow),
        Just(Toggle::Deny),
        Just(Toggle::Inherit)
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let idx = || 0usize..64;
    let few = || prop::collection::vec(0usize..64, 0..3);
    let many = || prop::collection::vec(0usize..64, 0..6);
    prop_oneof![
        4 => (0..SLOTS, few(), prop::collection::vec((idx(), toggle()), 0..3), prop::bool::weighted(0.15))
            .prop_map(|(slot, roles, overrides, external)| Step::Invite { slot, roles, overrides, external }),
        4 => (0..SLOTS).prop_map(|slot| Step::Accept { slot }),
        1 => (0..SLOTS).prop_map(|slot| Step::Cancel { slot }),
        4 => (idx(), few()).prop_map(|(target, roles)| Step::ChangeRoles { target, roles }),
        6 => (idx(), idx(), toggle()).prop_map(|(target, permission, state)| Step::Toggle { target, permission, state }),
        2 => (idx(), idx(), idx()).prop_map(|(target, area, scope)| Step::SetScope { target, area, scope }),
        2 => (idx(), prop::collection::vec(0usize..OFFICES.len(), 0..3)).prop_map(|(target, offices)| Step::SetOffices { target, offices }),
        2 => (idx(), prop::collection::vec(0usize..NETWORKS.len(), 0..3)).prop_map(|(target, networks)| Step::SetNetworks { target, networks }),
        2 => idx().prop_map(|target| Step::Deactivate { target }),
        2 => idx().prop_map(|target| Step::Reactivate { target }),
        1 => idx().prop_map(|plan| Step::ChangePlan { plan }),
        1 => many().prop_map(|grants| Step::CreateRole { grants }),
        2 => many().prop_map(|grants| Step::UpdateRole { grants }),
        1 => Just(Step::DeleteRole),
    ]
}

fn slot_user(slot: u8) -> UserId {
    user(10 + u128::from(slot))
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

/// The concrete command of a step, and who sends it; `None` when the step names
/// nothing that exists.
fn resolve(world: &World, team: &Team, actor: usize, step: &Step) -> Option<(UserId, Command)> {
    let members: Vec<UserId> = team.members.keys().copied().collect();
    let actor = pick(&members, actor)?;
    let target = |i: usize| pick(&members, i);
    let roles = |rs: &[usize]| -> Vec<RoleKey> {
        rs.iter().filter_map(|r| pick(&world.roles, *r)).collect()
    };
    let perms = |ps: &[usize]| -> Vec<Permission> {
        ps.iter()
            .filter_map(|p| pick(&world.permissions, *p))
            .collect()
    };
    let command = match step {
        Step::Invite {
            slot,
            roles: rs,
            overrides,
            external,
        } => Command::InviteUser {
            user_id: slot_user(*slot),
            invitation_id: invitation_of(slot_user(*slot)),
            email: format!("slot{slot}@acme.test"),
            display_name: format!("Slot {slot}"),
            roles: roles(rs),
            overrides: overrides
                .iter()
                .filter_map(|(p, t)| pick(&world.permissions, *p).map(|p| (p, *t)))
                .collect(),
            kind: if *external {
                MemberKind::External
            } else {
                MemberKind::Member
            },
            nonce: "n1".into(),
        },
        Step::Accept { slot } => {
            return Some((
                slot_user(*slot),
                Command::AcceptInvitation {
                    invitation_id: invitation_of(slot_user(*slot)),
                    nonce: "n1".into(),
                },
            ));
        }
        Step::Cancel { slot } => Command::CancelInvitation {
            invitation_id: invitation_of(slot_user(*slot)),
        },
        Step::ChangeRoles {
            target: t,
            roles: rs,
        } => Command::ChangeRoles {
            user_id: target(*t)?,
            roles: roles(rs),
        },
        Step::Toggle {
            target: t,
            permission,
            state,
        } => Command::TogglePermission {
            user_id: target(*t)?,
            permission: pick(&world.permissions, *permission)?,
            state: *state,
        },
        Step::SetScope {
            target: t,
            area,
            scope,
        } => {
            let (area, options) = pick(&world.scoped, *area)?;
            Command::SetScope {
                user_id: target(*t)?,
                area,
                scope: pick(&options, *scope)?,
            }
        }
        Step::SetOffices { target: t, offices } => Command::SetOffices {
            user_id: target(*t)?,
            offices: offices
                .iter()
                .map(|o| OfficeId::from(OFFICES[*o]))
                .collect(),
        },
        Step::SetNetworks {
            target: t,
            networks,
        } => Command::SetAllowedNetworks {
            user_id: target(*t)?,
            cidrs: networks.iter().map(|n| NETWORKS[*n].to_owned()).collect(),
        },
        Step::Deactivate { target: t } => Command::DeactivateUser {
            user_id: target(*t)?,
            reassign_to: None,
        },
        Step::Reactivate { target: t } => Command::ReactivateUser {
            user_id: target(*t)?,
        },
        Step::ChangePlan { plan } => Command::ChangePlan {
            plan: pick(&world.plans, *plan)?,
        },
        Step::CreateRole { grants } => Command::CreateRole {
            role: "custom".into(),
            label: "Custom".into(),
            grants: perms(grants),
        },
        Step::UpdateRole { grants } => Command::UpdateRole {
            role: "custom".into(),
            label: "Custom".into(),
            grants: perms(grants),
        },
        Step::DeleteRole => Command::DeleteRole {
            role: "custom".into(),
        },
    };
    Some((actor, command))
}

/// How widely a permission is held, as this test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holding {
    /// `None`: every resource of the area.
    scope: Option<Reach>,
    /// `None`: from anywhere.
    networks: Option<Vec<IpNet>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    Assigned,
    Offices(BTreeSet<OfficeId>),
}

impl Holding {
    fn at_least(&self, other: &Holding) -> bool {
        let scope = match (&self.scope, &other.scope) {
            (None, _) => true,
            (Some(Reach::Assigned), Some(Reach::Assigned)) => true,
            (Some(Reach::Offices(mine)), Some(Reach::Offices(theirs))) => theirs.is_subset(mine),
            _ => false,
        };
        let networks = match (&self.networks, &other.networks) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => theirs.iter().all(|t| mine.iter().any(|m| m.contains(t))),
        };
        scope && networks
    }
}

/// Every member's holdings, invited members counted as if active.
fn holdings(team: &Team) -> BTreeMap<UserId, BTreeMap<Permission, Holding>> {
    let mut as_if_active = team.clone();
    for m in as_if_active.members.values_mut() {
        if m.status == MemberStatus::Invited {
            std::sync::Arc::make_mut(m).status = MemberStatus::Active;
        }
    }
    as_if_active
        .members
        .keys()
        .map(|u| {
            let held = effective(&as_if_active, *u)
                .map(|e| {
                    e.permissions
                        .keys()
                        .map(|p| {
                            let area = rollcall_aggregates::Catalog::area_of(p);
                            let scope = match e.scopes.get(area) {
                                None | Some(Scope::All) => None,
                                Some(Scope::Assigned) => Some(Reach::Assigned),
                                Some(Scope::Offices) if e.all_offices => None,
                                Some(Scope::Offices) => {
                                    Some(Reach::Offices(e.offices.iter().cloned().collect()))
                                }
                            };
                            let networks = (!e.networks.is_empty()).then(|| {
                                e.networks.iter().filter_map(|n| n.parse().ok()).collect()
                            });
                            (p.clone(), Holding { scope, networks })
                        })
                        .collect()
                })
                .unwrap_or_default();
            (*u, held)
        })
        .collect()
}

/// Runs the steps; returns how many commands were accepted, or the first breach.
fn run(catalog: &str, steps: &[(usize, Step)]) -> Result<usize, String> {
    let world = World::of(catalog);
    let mut team = fold_one(
        Team::default(),
        Actor::Operator,
        t0(),
        &tenant_created(world.doc.clone()),
    );
    let mut accepted = 0;
    for (actor, step) in steps {
        let Some((actor, command)) = resolve(&world, &team, *actor, step) else {
            continue;
        };
        let ctx = Context {
            now: t0(),
            actor: Actor::User(actor),
            mfa: true,
            reason: None,
        };
        let Ok(event) = decide(&team, &command, &ctx) else {
            continue;
        };
        accepted += 1;
        let next = fold_one(team.clone(), ctx.actor, ctx.now, &event);
        if let Command::ChangePlan { .. } = command {
            let billing = world.doc.billing_permission.as_ref();
            let holds = team
                .catalog()
                .zip(billing)
                .and_then(|(c, p)| c.id(p.as_str()))
                .is_some_and(|id| team.holds(actor, id));
            if !holds {
                return Err(format!(
                    "{catalog}: {actor} changed the plan without billing"
                ));
            }
            team = next;
            continue;
        }
        let before = holdings(&team);
        let after = holdings(&next);
        let actor_held = match team.member(actor) {
            Some(m) if m.status == MemberStatus::Active => {
                before.get(&actor).cloned().unwrap_or_default()
            }
            _ => BTreeMap::new(),
        };
        for (user, held) in &after {
            for (p, now) in held {
                let was = before.get(user).and_then(|h| h.get(p));
                if was.is_some_and(|was| was.at_least(now)) {
                    continue;
                }
                if !actor_held.get(p).is_some_and(|a| a.at_least(now)) {
                    return Err(format!(
                        "{catalog}: {actor} ran {command:?}; {user} gained `{p}` as {now:?}, \
                         which the actor held as {:?}",
                        actor_held.get(p)
                    ));
                }
            }
        }
        team = next;
    }
    Ok(accepted)
}

fn steps() -> impl Strategy<Value = Vec<(usize, Step)>> {
    // Actor 0 is the owner (the lowest id); others are whoever is on the team.
    let actor = prop_oneof![2 => Just(0usize), 5 => 0usize..64];
    prop::collection::vec((actor, step()), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 600,
        ..ProptestConfig::default()
    })]

    #[test]
    fn nobody_gains_beyond_the_actor_in_jtek(steps in steps()) {
        run("jtek", &steps).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn nobody_gains_beyond_the_actor_in_jetbuilt(steps in steps()) {
        run("jetbuilt", &steps).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn nobody_gains_beyond_the_actor_in_jobtracker(steps in steps()) {
        run("jobtracker", &steps).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn nobody_gains_beyond_the_actor_in_jethub(steps in steps()) {
        run("jethub", &steps).map_err(TestCaseError::fail)?;
    }
}

/// The sequences do reach states where members other than the owner act with
/// partial rights and get refused: the property is not vacuous.
#[test]
fn the_generated_sequences_exercise_delegated_admins() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0;
    for catalog in ["jtek", "jetbuilt", "jobtracker", "jethub"] {
        for _ in 0..100 {
            let steps = steps()
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default();
            accepted += run(catalog, &steps).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert!(accepted > 1_000, "only {accepted} commands were accepted");
}
