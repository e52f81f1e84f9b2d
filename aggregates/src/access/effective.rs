//! Effective permissions: the one pure function that projections, as-of queries,
//! the decider and the check all use, so they can never disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{Actor, MemberKind, OfficeId, Permission, RoleKey, UserId};
use serde::{Deserialize, Serialize};

use crate::team::{MemberStatus, Team};

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
}

/// The member's effective permissions; `None` for an unknown user.
pub fn effective(team: &Team, user: UserId) -> Option<Effective> {
    todo!()
}
