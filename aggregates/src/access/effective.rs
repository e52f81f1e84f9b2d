//! Effective permissions: the one resolution that projections, as-of queries,
//! the decider and the check all use, so they can never disagree.
//!
//! [`resolve_set`] is the rule: a member's roles (or the default role), plus the
//! plan's always-on permissions, with overrides applied (deny beats inherit, allow
//! adds, an always-on permission cannot be denied), less what the plan withholds,
//! less what an external member may not hold, less every permission whose
//! prerequisites are not held. [`sources_of`] explains one held permission from the
//! same inputs, and [`effective`] puts both together for a member view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, MemberKind, OfficeId, Permission, RoleKey, Toggle, UserId};
use serde::{Deserialize, Serialize};

use crate::access::{PermId, PermSet};
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

/// The roles a member's access comes from: their own, or the catalog's default
/// role when they hold none (the flag says which).
pub fn member_roles<'a>(catalog: &'a Catalog, member: &'a Member) -> (&'a [RoleKey], bool) {
    match (member.roles.is_empty(), &catalog.doc().default_role) {
        (true, Some(role)) => (std::slice::from_ref(role), true),
        _ => (&member.roles, false),
    }
}

/// What the member holds if active: the rule of resolution without the status
/// gate (the decider judges an invitation before it is accepted).
pub fn resolve_set(team: &Team, catalog: &Catalog, member: &Member) -> PermSet {
    let mut held = PermSet::new();
    for key in member_roles(catalog, member).0 {
        if let Some(role) = team.roles.get(key) {
            held.union_with(&catalog.role_set(&role.grants, &role.except));
        }
    }
    let always_on = catalog.always_on_set(&team.plan);
    held.union_with(&always_on);
    for (p, o) in &member.overrides {
        let Some(id) = catalog.id(p.as_str()) else {
            continue;
        };
        match o.state {
            Toggle::Deny if !always_on.contains(id) => held.remove(id),
            Toggle::Allow => held.insert(id),
            _ => {}
        }
    }
    held.subtract(&catalog.unavailable_set(&team.plan));
    if member.kind == MemberKind::External {
        held.intersect_with(catalog.views());
    }
    catalog.drop_unmet_prerequisites(&mut held);
    held
}

/// Why a member holds `id` (which [`resolve_set`] says they do): every role
/// granting it, the plan, an allow override — in that order.
pub fn sources_of(team: &Team, catalog: &Catalog, member: &Member, id: PermId) -> Vec<Source> {
    let mut sources = Vec::new();
    let (roles, default) = member_roles(catalog, member);
    for key in roles {
        let Some(role) = team.roles.get(key) else {
            continue;
        };
        let source = if default {
            Source::DefaultRole { role: key.clone() }
        } else {
            Source::Role { role: key.clone() }
        };
        if catalog.role_set(&role.grants, &role.except).contains(id) && !sources.contains(&source) {
            sources.push(source);
        }
    }
    if catalog.always_on_set(&team.plan).contains(id) {
        sources.push(Source::Plan {
            plan: team.plan.clone(),
        });
    }
    let allowed = catalog
        .name(id)
        .and_then(|p| member.overrides.get(p))
        .filter(|o| o.state == Toggle::Allow);
    if let Some(o) = allowed {
        sources.push(Source::Override {
            by: o.by,
            at: o.at,
            position: o.position,
        });
    }
    sources
}

/// The member's effective permissions; `None` for an unknown user.
pub fn effective(team: &Team, user: UserId) -> Option<Effective> {
    let member = team.members.get(&user)?;
    let Some(catalog) = team.catalog() else {
        return Some(Effective {
            user_id: member.user_id,
            status: member.status,
            kind: member.kind,
            permissions: BTreeMap::new(),
            scopes: BTreeMap::new(),
            offices: member.offices.clone(),
            all_offices: false,
            networks: member.networks.clone(),
            denied: BTreeMap::new(),
        });
    };
    let active = member.status == MemberStatus::Active;
    let held = if active {
        resolve_set(team, catalog, member)
    } else {
        PermSet::new()
    };
    let permissions = held
        .iter()
        .filter_map(|id| {
            let p = catalog.name(id)?;
            Some((p.clone(), sources_of(team, catalog, member, id)))
        })
        .collect();
    let denied = if active {
        denials(team, catalog, member)
    } else {
        BTreeMap::new()
    };
    let (scopes, all_offices) = resolve_scopes(team, catalog, member, &held);
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
    let always_on = catalog.always_on_set(&team.plan);
    member
        .overrides
        .iter()
        .filter(|(p, o)| {
            o.state == Toggle::Deny
                && catalog
                    .id(p.as_str())
                    .is_some_and(|id| !always_on.contains(id))
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

/// Resolves every scoped area: the explicit scope if still offered, else the
/// default, lifted to `all` while the lifting permission is held; on a plan with
/// at most one office (Jetbuilt Lite) there are no offices to keep apart, so the
/// `offices` scope restricts nothing there. Also says whether the member belongs
/// to every office (holds the permission that lifts the `offices` scope).
pub fn resolve_scopes(
    team: &Team,
    catalog: &Catalog,
    member: &Member,
    held: &PermSet,
) -> (BTreeMap<String, Scope>, bool) {
    let holds = |p: &Permission| catalog.id(p.as_str()).is_some_and(|id| held.contains(id));
    let single_office = catalog
        .plan(&team.plan)
        .and_then(|p| p.max_offices)
        .is_some_and(|max| max <= 1);
    let mut scopes = BTreeMap::new();
    for (area, doc) in catalog.scoped_areas() {
        let mut scope = member
            .scopes
            .get(area)
            .copied()
            .filter(|s| doc.options.contains(s))
            .unwrap_or(doc.default);
        if doc.lifted_by.get(&scope).is_some_and(holds) {
            scope = Scope::All;
        }
        if single_office && scope == Scope::Offices {
            scope = Scope::All;
        }
        scopes.insert(area.to_owned(), scope);
    }
    let all_offices = catalog
        .lifting_permission(Scope::Offices)
        .is_some_and(holds);
    (scopes, all_offices)
}
