//! Effective permissions: the one pure function that projections, as-of queries,
//! the decider and the check all use, so they can never disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, MemberKind, OfficeId, Permission, RoleKey, Toggle, UserId};
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::team::{Member, MemberStatus, Team};

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Role { role } => write!(f, "role `{role}`"),
            Source::DefaultRole { role } => write!(f, "default role `{role}`"),
            Source::Plan { plan } => write!(f, "plan `{plan}`"),
            Source::Override { by, at, position } => write!(
                f,
                "an override by {by} at {} (log position {position})",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }
}

/// Why a member holds a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Role {
        role: RoleKey,
    },
    DefaultRole {
        role: RoleKey,
    },
    Plan {
        plan: String,
    },
    Override {
        by: Actor,
        at: DateTime<Utc>,
        position: u64,
    },
}

/// Everything a member may do right now, each permission with all its sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    pub user_id: UserId,
    pub status: MemberStatus,
    pub kind: MemberKind,
    /// Empty unless the member is active.
    pub permissions: BTreeMap<Permission, Vec<Source>>,
    /// Every scoped area, resolved (default, explicit, or lifted to `all`).
    pub scopes: BTreeMap<String, Scope>,
    pub offices: Vec<OfficeId>,
    /// Set when a permission lifting the `offices` scope is effective.
    pub all_offices: bool,
    pub networks: Vec<String>,
    /// Permissions an override denies (each with the deny as its source), so a
    /// refusal can name who turned it off. Empty unless the member is active.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub denied: BTreeMap<Permission, Source>,
}

/// The member's effective permissions; `None` for an unknown user.
pub fn effective(team: &Team, user: UserId) -> Option<Effective> {
    let member = team.members.get(&user)?;
    let (permissions, denied) = match team.catalog() {
        Some(catalog) if member.status == MemberStatus::Active => (
            resolve_permissions(team, catalog, member),
            denials(team, catalog, member),
        ),
        _ => (BTreeMap::new(), BTreeMap::new()),
    };
    let (mut scopes, all_offices) = match team.catalog() {
        Some(catalog) => resolve_scopes(catalog, member, &permissions),
        None => (BTreeMap::new(), false),
    };
    // A plan with one office at most (Jetbuilt Lite) has no offices to keep apart:
    // there the `offices` scope restricts nothing.
    let single_office = team
        .catalog()
        .and_then(|c| c.plan(&team.plan))
        .and_then(|p| p.max_offices)
        .is_some_and(|max| max <= 1);
    if single_office {
        for scope in scopes.values_mut() {
            if *scope == Scope::Offices {
                *scope = Scope::All;
            }
        }
    }
    Some(Effective {
        user_id: member.user_id,
        status: member.status,
        kind: member.kind,
        permissions,
        scopes,
        offices: member.offices.clone(),
        all_offices,
        networks: member.networks.clone(),
        denied,
    })
}

/// Deny overrides that take effect (a plan's always-on permission cannot be denied).
fn denials(team: &Team, catalog: &Catalog, member: &Member) -> BTreeMap<Permission, Source> {
    let always_on = catalog.always_on(&team.plan);
    member
        .overrides
        .iter()
        .filter(|(p, o)| {
            o.state == Toggle::Deny && catalog.has_permission(p) && !always_on.contains(*p)
        })
        .map(|(p, o)| {
            (
                p.clone(),
                Source::Override {
                    by: o.by,
                    at: o.at,
                    position: o.position,
                },
            )
        })
        .collect()
}

/// What the member would hold if active: the rules of resolution without the
/// status gate. The decider uses it to judge an invitation before it is accepted.
pub(crate) fn resolve_permissions(
    team: &Team,
    catalog: &Catalog,
    member: &Member,
) -> BTreeMap<Permission, Vec<Source>> {
    let mut held: BTreeMap<Permission, Vec<Source>> = BTreeMap::new();
    let add = |held: &mut BTreeMap<Permission, Vec<Source>>, p: Permission, s: Source| {
        let sources = held.entry(p).or_default();
        if !sources.contains(&s) {
            sources.push(s);
        }
    };

    let default_role = catalog.doc().default_role.as_ref();
    let roles: Vec<(&RoleKey, bool)> = match (member.roles.is_empty(), default_role) {
        (true, Some(role)) => vec![(role, true)],
        _ => member.roles.iter().map(|r| (r, false)).collect(),
    };
    for (key, is_default) in roles {
        let Some(role) = team.roles.get(key) else {
            continue;
        };
        for p in catalog.role_permissions(&role.grants, &role.except) {
            let source = if is_default {
                Source::DefaultRole { role: key.clone() }
            } else {
                Source::Role { role: key.clone() }
            };
            add(&mut held, p, source);
        }
    }

    let always_on = catalog.always_on(&team.plan);
    for p in &always_on {
        add(
            &mut held,
            p.clone(),
            Source::Plan {
                plan: team.plan.clone(),
            },
        );
    }

    for (p, o) in &member.overrides {
        if !catalog.has_permission(p) {
            continue;
        }
        match o.state {
            Toggle::Deny if !always_on.contains(p) => {
                held.remove(p);
            }
            Toggle::Allow => add(
                &mut held,
                p.clone(),
                Source::Override {
                    by: o.by,
                    at: o.at,
                    position: o.position,
                },
            ),
            _ => {}
        }
    }

    let unavailable = catalog.unavailable(&team.plan);
    held.retain(|p, _| !unavailable.contains(p));
    if member.kind == MemberKind::External {
        held.retain(|p, _| catalog.is_view(p));
    }
    drop_missing_prerequisites(catalog, &mut held);
    held
}

/// Removes permissions whose prerequisites are not held, until nothing changes:
/// dropping one may strand another that required it.
fn drop_missing_prerequisites(catalog: &Catalog, held: &mut BTreeMap<Permission, Vec<Source>>) {
    loop {
        let stranded: Vec<Permission> = held
            .keys()
            .filter(|p| catalog.requires(p).iter().any(|r| !held.contains_key(r)))
            .cloned()
            .collect();
        if stranded.is_empty() {
            return;
        }
        for p in stranded {
            held.remove(&p);
        }
    }
}

/// Resolves every scoped area: the explicit scope if still offered, else the
/// default, lifted to `all` while the lifting permission is held.
pub(crate) fn resolve_scopes(
    catalog: &Catalog,
    member: &Member,
    held: &BTreeMap<Permission, Vec<Source>>,
) -> (BTreeMap<String, Scope>, bool) {
    let mut scopes = BTreeMap::new();
    for (area, doc) in catalog.scoped_areas() {
        let mut scope = member
            .scopes
            .get(area)
            .copied()
            .filter(|s| doc.options.contains(s))
            .unwrap_or(doc.default);
        if doc
            .lifted_by
            .get(&scope)
            .is_some_and(|p| held.contains_key(p))
        {
            scope = Scope::All;
        }
        scopes.insert(area.to_owned(), scope);
    }
    let all_offices = catalog
        .lifting_permission(Scope::Offices)
        .is_some_and(|p| held.contains_key(p));
    (scopes, all_offices)
}
