//! Effective permissions: the one resolution that projections, as-of queries,
//! the decider and the check all use, so they can never disagree.
//!
//! [`resolve_set`] is the rule: a member's roles (or the default role), plus the
//! plan's always-on permissions, with overrides applied (deny beats inherit, allow
//! adds, an always-on permission cannot be denied), less what the plan withholds,
//! less what an external member may not hold, less every permission whose
//! prerequisites are not held. [`member_access`] adds the status gate, scopes,
//! offices and networks — what a check needs — and [`sources_of`] explains one
//! held permission from the same inputs; [`effective`] puts both together for a
//! member view.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, MemberKind, OfficeId, Permission, RoleKey, Toggle, UserId};
use serde::{Deserialize, Serialize};

use crate::access::{Networks, PermId, PermSet};
use crate::team::{Member, MemberStatus, Team, Vocabulary};

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

/// A member's resolved access: everything the check needs, computed once when
/// the member (or the vocabulary) changes — the read side keeps one per member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccess {
    pub user_id: UserId,
    pub status: MemberStatus,
    /// Effective permissions; empty unless the member is active.
    pub held: PermSet,
    /// Permissions a deny override takes away (the plan can overrule a deny);
    /// empty unless the member is active.
    pub denied: PermSet,
    /// Each area's resolved scope, by the area's index in the catalog document;
    /// `None` for an area that is not scoped.
    pub scopes: Box<[Option<Scope>]>,
    /// Holds the permission that lifts the `offices` scope.
    pub all_offices: bool,
    pub offices: Box<[OfficeId]>,
    pub networks: Networks,
    /// Active and holding the catalog's team permission.
    pub admin: bool,
    /// Credentials issued before this instant (seconds since the epoch) are dead:
    /// the member was reactivated then.
    pub tokens_since: Option<i64>,
}

/// The roles a member's access comes from: their own, or the catalog's default
/// role when they hold none (the flag says which).
pub fn member_roles<'a>(v: &Vocabulary<'a>, member: &'a Member) -> (&'a [RoleKey], bool) {
    match (member.roles.is_empty(), &v.catalog.doc().default_role) {
        (true, Some(role)) => (std::slice::from_ref(role), true),
        _ => (&member.roles, false),
    }
}

/// What the member holds if active: the rule of resolution without the status
/// gate (the decider judges an invitation before it is accepted).
pub fn resolve_set(v: &Vocabulary<'_>, member: &Member) -> PermSet {
    let catalog = v.catalog;
    let mut held = PermSet::new();
    for key in member_roles(v, member).0 {
        if let Some(role) = v.roles.get(key) {
            held.union_with(&catalog.role_set(&role.grants, &role.except));
        }
    }
    let always_on = catalog.always_on_set(v.plan);
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
    held.subtract(&catalog.unavailable_set(v.plan));
    if member.kind == MemberKind::External {
        held.intersect_with(catalog.views());
    }
    catalog.drop_unmet_prerequisites(&mut held);
    held
}

/// The member's resolved access.
pub fn member_access(v: &Vocabulary<'_>, member: &Member) -> MemberAccess {
    let catalog = v.catalog;
    let active = member.status == MemberStatus::Active;
    let (held, denied) = if active {
        let always_on = catalog.always_on_set(v.plan);
        let denied: PermSet = member
            .overrides
            .iter()
            .filter(|(_, o)| o.state == Toggle::Deny)
            .filter_map(|(p, _)| catalog.id(p.as_str()))
            .filter(|id| !always_on.contains(*id))
            .collect();
        (resolve_set(v, member), denied)
    } else {
        (PermSet::new(), PermSet::new())
    };
    let (scopes, all_offices) = area_scopes(v, member, &held);
    let admin = active
        && catalog
            .team_permission()
            .is_some_and(|team| held.contains(team));
    MemberAccess {
        user_id: member.user_id,
        status: member.status,
        held,
        denied,
        scopes,
        all_offices,
        offices: member.offices.clone().into_boxed_slice(),
        networks: Networks::of(&member.networks),
        admin,
        tokens_since: member.reactivated_at.map(|t| t.timestamp()),
    }
}

/// Why a member holds `id` (which [`resolve_set`] says they do): every role
/// granting it, the plan, an allow override — in that order.
pub fn sources_of(v: &Vocabulary<'_>, member: &Member, id: PermId) -> Vec<Source> {
    let catalog = v.catalog;
    let mut sources = Vec::new();
    let (roles, default) = member_roles(v, member);
    for key in roles {
        let Some(role) = v.roles.get(key) else {
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
    if catalog.always_on_set(v.plan).contains(id) {
        sources.push(Source::Plan {
            plan: v.plan.to_owned(),
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

/// The deny override behind a denied permission, as a source.
pub fn deny_source(v: &Vocabulary<'_>, member: &Member, id: PermId) -> Option<Source> {
    let o = member.overrides.get(v.catalog.name(id)?)?;
    (o.state == Toggle::Deny).then_some(Source::Override {
        by: o.by,
        at: o.at,
        position: o.position,
    })
}

/// The member's effective permissions with their sources, from a vocabulary.
pub fn effective_of(v: &Vocabulary<'_>, member: &Member) -> Effective {
    effective_from(v, member, &member_access(v, member))
}

/// [`effective_of`] from an access already resolved.
pub fn effective_from(v: &Vocabulary<'_>, member: &Member, access: &MemberAccess) -> Effective {
    let catalog = v.catalog;
    let permissions = access
        .held
        .iter()
        .filter_map(|id| Some((catalog.name(id)?.clone(), sources_of(v, member, id))))
        .collect();
    let denied = access
        .denied
        .iter()
        .filter_map(|id| Some((catalog.name(id)?.clone(), deny_source(v, member, id)?)))
        .collect();
    let scopes = catalog
        .doc()
        .areas
        .iter()
        .zip(access.scopes.iter())
        .filter_map(|(area, scope)| scope.map(|s| (area.key.clone(), s)))
        .collect();
    Effective {
        user_id: member.user_id,
        status: member.status,
        kind: member.kind,
        permissions,
        scopes,
        offices: member.offices.clone(),
        all_offices: access.all_offices,
        networks: member.networks.clone(),
        denied,
    }
}

/// The member's effective permissions; `None` for an unknown user.
pub fn effective(team: &Team, user: UserId) -> Option<Effective> {
    let member = team.member(user)?;
    match team.vocabulary() {
        Some(v) => Some(effective_of(&v, member)),
        None => Some(Effective {
            user_id: member.user_id,
            status: member.status,
            kind: member.kind,
            permissions: BTreeMap::new(),
            scopes: BTreeMap::new(),
            offices: member.offices.clone(),
            all_offices: false,
            networks: member.networks.clone(),
            denied: BTreeMap::new(),
        }),
    }
}

/// Resolves every area's scope, by index in the catalog document: the explicit
/// scope if still offered, else the default, lifted to `all` while the lifting
/// permission is held; on a plan with at most one office (Jetbuilt Lite) there
/// are no offices to keep apart, so the `offices` scope restricts nothing there.
/// Also says whether the member belongs to every office (holds the permission
/// that lifts the `offices` scope).
pub fn area_scopes(
    v: &Vocabulary<'_>,
    member: &Member,
    held: &PermSet,
) -> (Box<[Option<Scope>]>, bool) {
    let catalog = v.catalog;
    let holds = |p: &Permission| catalog.id(p.as_str()).is_some_and(|id| held.contains(id));
    let single_office = catalog
        .plan(v.plan)
        .and_then(|p| p.max_offices)
        .is_some_and(|max| max <= 1);
    let scopes = catalog
        .doc()
        .areas
        .iter()
        .map(|area| {
            let doc = area.scope.as_ref()?;
            let mut scope = member
                .scopes
                .get(&area.key)
                .copied()
                .filter(|s| doc.options.contains(s))
                .unwrap_or(doc.default);
            if doc.lifted_by.get(&scope).is_some_and(holds) {
                scope = Scope::All;
            }
            if single_office && scope == Scope::Offices {
                scope = Scope::All;
            }
            Some(scope)
        })
        .collect();
    let all_offices = catalog
        .lifting_permission(Scope::Offices)
        .is_some_and(holds);
    (scopes, all_offices)
}
