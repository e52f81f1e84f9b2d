//! The check: may this user do this on this resource, from this address — and why.

use std::net::IpAddr;

use rollcall_events::catalog::Scope;
use rollcall_events::{OfficeId, Permission, UserId};
use serde::{Deserialize, Serialize};

use crate::access::effective::{Effective, Source, effective};
use crate::catalog::Catalog;
use crate::team::Team;

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
pub fn check_effective(
    effective: &Effective,
    catalog: &Catalog,
    request: &CheckRequest,
) -> CheckOutcome {
    todo!()
}

/// Resolves the member and checks the request.
pub fn check(team: &Team, request: &CheckRequest) -> CheckOutcome {
    todo!()
}
