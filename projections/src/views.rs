//! The wire shapes of the team views, as stored in sled and served over HTTP.
//! Field names are the HTTP contract of DESIGN.md.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_aggregates::{MemberStatus, Source};
use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::{InvitationId, MemberKind, OfficeId, Permission, RoleKey, Toggle, UserId};
use serde::{Deserialize, Serialize};

/// One row of the team list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: MemberStatus,
    pub kind: MemberKind,
    pub roles: Vec<RoleKey>,
    pub invitation_id: Option<InvitationId>,
    pub invited_at: Option<DateTime<Utc>>,
    pub invitation_expires_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// One permission a member effectively holds, with every reason why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePermission {
    pub permission: Permission,
    pub sources: Vec<Source>,
}

/// A member in full: the list row plus access settings and effective permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    #[serde(flatten)]
    pub user: UserView,
    /// Only `allow` / `deny`; an absent permission inherits.
    pub overrides: BTreeMap<Permission, Toggle>,
    /// Every scoped area, resolved (default, explicit, or lifted).
    pub scopes: BTreeMap<String, Scope>,
    pub offices: Vec<OfficeId>,
    pub networks: Vec<String>,
    pub must_change_password: bool,
    pub links: BTreeMap<String, String>,
    pub reassign_to: Option<UserId>,
    pub effective: Vec<EffectivePermission>,
}

/// A role as the catalog page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub key: RoleKey,
    pub label: String,
    pub description: String,
    pub grants: Vec<Permission>,
    pub except: Vec<Permission>,
    pub builtin: bool,
}

/// A tenant's catalog document with its version, plan and roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogView {
    pub catalog: CatalogDoc,
    pub version: u32,
    pub plan: String,
    pub roles: Vec<RoleView>,
}
