//! The check: may this user do this on this resource, from this address — and why.

use std::net::IpAddr;

use rollcall_events::catalog::Scope;
use rollcall_events::{OfficeId, Permission, UserId};
use serde::{Deserialize, Serialize};

use crate::access::effective::{Effective, Source, effective};
use crate::catalog::Catalog;
use crate::team::{MemberStatus, Team, network_allows};

/// The resource a request touches; both fields are optional because not every
/// resource has an owner or an office.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resource {
    pub owner_id: Option<UserId>,
    pub office_id: Option<OfficeId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    pub user_id: UserId,
    pub permission: Permission,
    #[serde(default)]
    pub resource: Resource,
    #[serde(default)]
    pub source_ip: Option<IpAddr>,
}

/// Why a check was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Denial {
    UnknownUser,
    UnknownPermission,
    NotActive,
    NoGrant,
    Overridden,
    ScopeExcluded,
    NetworkNotAllowed,
    /// The member may act only from listed networks, and the request did not say
    /// where it comes from.
    NetworkUnknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub allowed: bool,
    /// A sentence a person can read.
    pub reason: String,
    pub denial: Option<Denial>,
    /// Why the permission is held (empty when it is not).
    pub sources: Vec<Source>,
    /// The scope that applied, for scoped areas.
    pub scope: Option<Scope>,
}

/// Checks one request against already-resolved effective permissions.
///
/// A member limited to listed networks is allowed only when the request names
/// an address inside them: without one, the answer is `network-unknown`.
pub fn check_effective(
    effective: &Effective,
    catalog: &Catalog,
    request: &CheckRequest,
) -> CheckOutcome {
    let user = effective.user_id;
    let p = &request.permission;
    if !catalog.has_permission(p) {
        return denied(
            Denial::UnknownPermission,
            format!("`{p}` is not a permission of catalog `{}`", catalog.key()),
        );
    }
    if effective.status != MemberStatus::Active {
        return denied(
            Denial::NotActive,
            format!("{user} is {}, so holds no permission", effective.status),
        );
    }
    match request.source_ip {
        None if !effective.networks.is_empty() => {
            return denied(
                Denial::NetworkUnknown,
                format!(
                    "{user} may act only from listed networks, and the request does not say where it comes from"
                ),
            );
        }
        Some(ip) if !network_allows(&effective.networks, Some(ip)) => {
            return denied(
                Denial::NetworkNotAllowed,
                format!("{user} may not act from {ip}, outside the allowed networks"),
            );
        }
        _ => {}
    }
    let Some(sources) = effective.permissions.get(p) else {
        return match effective.denied.get(p) {
            Some(deny) => CheckOutcome {
                sources: vec![deny.clone()],
                ..denied(
                    Denial::Overridden,
                    format!("`{p}` is denied to {user} by {deny}"),
                )
            },
            None => denied(Denial::NoGrant, format!("{user} does not hold `{p}`")),
        };
    };
    let held_by = sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let area = Catalog::area_of(p);
    let scope = effective.scopes.get(area).copied();
    let excluded = match scope {
        None | Some(Scope::All) => None,
        Some(Scope::Assigned) => match request.resource.owner_id {
            Some(owner) if owner == user => None,
            Some(_) => Some(format!(
                "{user} holds `{p}` through {held_by}, but only for {area} assigned to them; this one is assigned to someone else"
            )),
            None => Some(format!(
                "{user} holds `{p}` through {held_by}, but only for {area} assigned to them; this one is unassigned"
            )),
        },
        Some(Scope::Offices) if effective.all_offices => None,
        Some(Scope::Offices) => match &request.resource.office_id {
            Some(office) if effective.offices.contains(office) => None,
            Some(office) => Some(format!(
                "{user} holds `{p}` through {held_by}, but only in their offices, and office {office} is not one of them"
            )),
            None => Some(format!(
                "{user} holds `{p}` through {held_by}, but only in their offices, and this one is in no office"
            )),
        },
    };
    match excluded {
        Some(reason) => CheckOutcome {
            allowed: false,
            reason,
            denial: Some(Denial::ScopeExcluded),
            sources: sources.clone(),
            scope,
        },
        None => CheckOutcome {
            allowed: true,
            reason: match scope {
                Some(s) => format!(
                    "{user} holds `{p}` through {held_by} (scope {})",
                    s.as_str()
                ),
                None => format!("{user} holds `{p}` through {held_by}"),
            },
            denial: None,
            sources: sources.clone(),
            scope,
        },
    }
}

fn denied(denial: Denial, reason: String) -> CheckOutcome {
    CheckOutcome {
        allowed: false,
        reason,
        denial: Some(denial),
        sources: Vec::new(),
        scope: None,
    }
}

/// Resolves the member and checks the request.
pub fn check(team: &Team, request: &CheckRequest) -> CheckOutcome {
    match (effective(team, request.user_id), team.catalog()) {
        (Some(e), Some(catalog)) => check_effective(&e, catalog, request),
        _ => denied(
            Denial::UnknownUser,
            format!("{} is not a member of this team", request.user_id),
        ),
    }
}
