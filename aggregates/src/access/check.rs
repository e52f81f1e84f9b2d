//! The check: may this user do this on this resource, from this address — and why.
//!
//! [`judge`] is the rule, over a member's resolved [`MemberAccess`]: it allocates
//! nothing and answers a [`Verdict`] of ids. [`explain`] turns a verdict into the
//! sentence and sources a person reads, only when an answer is written.

use std::net::IpAddr;

use rollcall_events::catalog::Scope;
use rollcall_events::{OfficeId, Permission, UserId};
use serde::{Deserialize, Serialize};

use crate::access::PermId;
use crate::access::effective::{MemberAccess, Source, deny_source, member_access, sources_of};
use crate::catalog::Catalog;
use crate::team::{Member, MemberStatus, Team, Vocabulary};

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

impl Denial {
    /// The stable kebab-case name answered as `denial`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Denial::UnknownUser => "unknown-user",
            Denial::UnknownPermission => "unknown-permission",
            Denial::NotActive => "not-active",
            Denial::NoGrant => "no-grant",
            Denial::Overridden => "overridden",
            Denial::ScopeExcluded => "scope-excluded",
            Denial::NetworkNotAllowed => "network-not-allowed",
            Denial::NetworkUnknown => "network-unknown",
        }
    }
}

/// A check's answer, without its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub denial: Option<Denial>,
    /// The permission asked about, when the catalog has it.
    pub permission: Option<PermId>,
    /// The scope that applied, for scoped areas.
    pub scope: Option<Scope>,
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

fn deny(denial: Denial, permission: Option<PermId>) -> Verdict {
    Verdict {
        allowed: false,
        denial: Some(denial),
        permission,
        scope: None,
    }
}

/// The one rule of the check. Unknown permission; not active; from an address
/// outside the member's networks (or none, when they are restricted); not held
/// (overridden, or never granted); outside the scope: a denial, in that order.
pub fn judge(
    catalog: &Catalog,
    access: &MemberAccess,
    permission: &str,
    owner_id: Option<UserId>,
    office_id: Option<&str>,
    source_ip: Option<IpAddr>,
) -> Verdict {
    let Some(id) = catalog.id(permission) else {
        return deny(Denial::UnknownPermission, None);
    };
    if access.status != MemberStatus::Active {
        return deny(Denial::NotActive, Some(id));
    }
    if !access.networks.admits(source_ip) {
        let denial = if source_ip.is_none() {
            Denial::NetworkUnknown
        } else {
            Denial::NetworkNotAllowed
        };
        return deny(denial, Some(id));
    }
    if !access.held.contains(id) {
        let denial = if access.denied.contains(id) {
            Denial::Overridden
        } else {
            Denial::NoGrant
        };
        return deny(denial, Some(id));
    }
    let scope = catalog
        .area_index(id)
        .and_then(|area| access.scopes.get(area).copied().flatten());
    let inside = match scope {
        None | Some(Scope::All) => true,
        Some(Scope::Assigned) => owner_id == Some(access.user_id),
        Some(Scope::Offices) => {
            access.all_offices
                || office_id.is_some_and(|o| access.offices.iter().any(|m| m.as_str() == o))
        }
    };
    Verdict {
        allowed: inside,
        denial: (!inside).then_some(Denial::ScopeExcluded),
        permission: Some(id),
        scope,
    }
}

/// The words of a verdict about `member`.
pub fn explain(
    v: &Vocabulary<'_>,
    member: &Member,
    request: &CheckRequest,
    verdict: &Verdict,
) -> CheckOutcome {
    let user = member.user_id;
    let p = &request.permission;
    let outcome = |reason: String, sources: Vec<Source>| CheckOutcome {
        allowed: verdict.allowed,
        reason,
        denial: verdict.denial,
        sources,
        scope: verdict.scope,
    };
    let Some(id) = verdict.permission else {
        return outcome(
            format!("`{p}` is not a permission of catalog `{}`", v.catalog.key()),
            Vec::new(),
        );
    };
    match verdict.denial {
        Some(Denial::NotActive) => {
            return outcome(
                format!("{user} is {}, so holds no permission", member.status),
                Vec::new(),
            );
        }
        Some(Denial::NetworkUnknown) => {
            return outcome(
                format!(
                    "{user} may act only from listed networks, and the request does not say where it comes from"
                ),
                Vec::new(),
            );
        }
        Some(Denial::NetworkNotAllowed) => {
            let ip = request
                .source_ip
                .map_or_else(String::new, |ip| ip.to_string());
            return outcome(
                format!("{user} may not act from {ip}, outside the allowed networks"),
                Vec::new(),
            );
        }
        Some(Denial::Overridden) => {
            let deny = deny_source(v, member, id);
            let by = deny.as_ref().map_or_else(String::new, ToString::to_string);
            return outcome(
                format!("`{p}` is denied to {user} by {by}"),
                deny.into_iter().collect(),
            );
        }
        Some(Denial::NoGrant) => {
            return outcome(format!("{user} does not hold `{p}`"), Vec::new());
        }
        _ => {}
    }
    let sources = sources_of(v, member, id);
    let held_by = sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let area = Catalog::area_of(p);
    let reason = match (verdict.allowed, verdict.scope) {
        (true, Some(s)) => format!(
            "{user} holds `{p}` through {held_by} (scope {})",
            s.as_str()
        ),
        (true, None) => format!("{user} holds `{p}` through {held_by}"),
        (false, Some(Scope::Assigned)) => match request.resource.owner_id {
            Some(_) => format!(
                "{user} holds `{p}` through {held_by}, but only for {area} assigned to them; this one is assigned to someone else"
            ),
            None => format!(
                "{user} holds `{p}` through {held_by}, but only for {area} assigned to them; this one is unassigned"
            ),
        },
        (false, _) => match &request.resource.office_id {
            Some(office) => format!(
                "{user} holds `{p}` through {held_by}, but only in their offices, and office {office} is not one of them"
            ),
            None => format!(
                "{user} holds `{p}` through {held_by}, but only in their offices, and this one is in no office"
            ),
        },
    };
    outcome(reason, sources)
}

/// The answer about a user the team does not have.
pub fn unknown_user(request: &CheckRequest) -> CheckOutcome {
    CheckOutcome {
        allowed: false,
        reason: format!("{} is not a member of this team", request.user_id),
        denial: Some(Denial::UnknownUser),
        sources: Vec::new(),
        scope: None,
    }
}

/// Resolves the member and checks the request.
pub fn check(team: &Team, request: &CheckRequest) -> CheckOutcome {
    let (Some(member), Some(v)) = (team.member(request.user_id), team.vocabulary()) else {
        return unknown_user(request);
    };
    let access = member_access(&v, member);
    let verdict = judge(
        v.catalog,
        &access,
        request.permission.as_str(),
        request.resource.owner_id,
        request.resource.office_id.as_ref().map(OfficeId::as_str),
        request.source_ip,
    );
    explain(&v, member, request, &verdict)
}
