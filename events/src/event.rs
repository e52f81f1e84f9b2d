//! The event vocabulary: every fact Rollcall records, in the newest schema.
//!
//! Each variant's stored type name is chosen once and never derived from the Rust
//! name. Events that change a value carry both `from` and `to`, so an audit entry
//! reads on its own without replaying what came before.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogDoc, Scope};
use crate::ids::{InvitationId, OfficeId, Permission, RoleKey, UserId};

/// Kind of member: externals (non-employees) may hold view actions only.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    #[default]
    Member,
    External,
}

/// A per-user permission toggle. `Inherit` means "as the roles say".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Toggle {
    Allow,
    Deny,
    #[default]
    Inherit,
}

/// The editable part of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpec {
    pub label: String,
    pub grants: Vec<Permission>,
}

/// Profile fields that are not access, but are part of the team page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Profile {
    pub display_name: String,
    #[serde(default)]
    pub must_change_password: bool,
    /// Named links to other records (JobTracker: `assignee`, `salesperson`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCreated {
    pub name: String,
    pub catalog: CatalogDoc,
    pub plan: String,
    pub owner_id: UserId,
    pub owner_email: String,
    pub owner_display_name: String,
    pub owner_roles: Vec<RoleKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogDefined {
    /// 1 for the catalog a tenant was created with, then 2, 3…
    pub version: u32,
    pub catalog: CatalogDoc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChanged {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCreated {
    pub role: RoleKey,
    pub label: String,
    pub grants: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUpdated {
    pub role: RoleKey,
    pub from: RoleSpec,
    pub to: RoleSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDeleted {
    pub role: RoleKey,
    /// What the role was, so the trail reads on its own.
    pub was: RoleSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInvited {
    pub user_id: UserId,
    pub invitation_id: InvitationId,
    /// Normalised (trimmed, lower-case) email.
    pub email: String,
    pub display_name: String,
    pub kind: MemberKind,
    pub roles: Vec<RoleKey>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<Permission, Toggle>,
    /// Random per send; the accept token is an HMAC of invitation id and nonce under
    /// the server secret, so the nonce alone grants nothing.
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationResent {
    pub user_id: UserId,
    pub invitation_id: InvitationId,
    pub nonce: String,
    pub previous_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCanceled {
    pub user_id: UserId,
    pub invitation_id: InvitationId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationAccepted {
    pub user_id: UserId,
    pub invitation_id: InvitationId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesChanged {
    pub user_id: UserId,
    pub from: Vec<RoleKey>,
    pub to: Vec<RoleKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionToggled {
    pub user_id: UserId,
    pub permission: Permission,
    pub from: Toggle,
    pub to: Toggle,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeChanged {
    pub user_id: UserId,
    pub area: String,
    pub from: Scope,
    pub to: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficesChanged {
    pub user_id: UserId,
    pub from: Vec<OfficeId>,
    pub to: Vec<OfficeId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedNetworksChanged {
    pub user_id: UserId,
    /// CIDR blocks; empty means "login from anywhere".
    pub from: Vec<String>,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeactivated {
    pub user_id: UserId,
    /// Active member who should take over the deactivated member's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_to: Option<UserId>,
    /// Roles held at deactivation, kept so history reads on its own.
    pub roles: Vec<RoleKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReactivated {
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLoggedIn {
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdated {
    pub user_id: UserId,
    pub from: Profile,
    pub to: Profile,
}

/// A keyed command that changed nothing. No rule makes this event: the command
/// side records it so the command's `Idempotency-Key` is in the log like every
/// other key, and a retry of that key answers "unchanged" again, on any gateway,
/// instead of executing against a state that has moved on since. It changes no
/// one's access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandUnchanged {
    /// The command's name (`toggle_permission`, …).
    pub command: String,
}

/// Every event, newest schema. Serialises as `{"type": "...", "data": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    #[serde(rename = "tenant.created")]
    TenantCreated(TenantCreated),
    #[serde(rename = "catalog.defined")]
    CatalogDefined(CatalogDefined),
    #[serde(rename = "tenant.plan_changed")]
    PlanChanged(PlanChanged),
    #[serde(rename = "role.created")]
    RoleCreated(RoleCreated),
    #[serde(rename = "role.updated")]
    RoleUpdated(RoleUpdated),
    #[serde(rename = "role.deleted")]
    RoleDeleted(RoleDeleted),
    #[serde(rename = "user.invited")]
    UserInvited(UserInvited),
    #[serde(rename = "invitation.resent")]
    InvitationResent(InvitationResent),
    #[serde(rename = "invitation.canceled")]
    InvitationCanceled(InvitationCanceled),
    #[serde(rename = "invitation.accepted")]
    InvitationAccepted(InvitationAccepted),
    #[serde(rename = "user.roles_changed")]
    RolesChanged(RolesChanged),
    #[serde(rename = "user.permission_toggled")]
    PermissionToggled(PermissionToggled),
    #[serde(rename = "user.scope_changed")]
    ScopeChanged(ScopeChanged),
    #[serde(rename = "user.offices_changed")]
    OfficesChanged(OfficesChanged),
    #[serde(rename = "user.networks_changed")]
    AllowedNetworksChanged(AllowedNetworksChanged),
    #[serde(rename = "user.deactivated")]
    UserDeactivated(UserDeactivated),
    #[serde(rename = "user.reactivated")]
    UserReactivated(UserReactivated),
    #[serde(rename = "user.logged_in")]
    UserLoggedIn(UserLoggedIn),
    #[serde(rename = "user.profile_updated")]
    ProfileUpdated(ProfileUpdated),
    #[serde(rename = "command.unchanged")]
    CommandUnchanged(CommandUnchanged),
}

impl Event {
    /// Decodes an event from its type name and its data in the newest schema,
    /// as from `{"type": …, "data": …}`, without building that object or
    /// copying the data.
    pub fn from_parts(event_type: &str, data: &serde_json::Value) -> serde_json::Result<Event> {
        let tag = serde_json::Value::String(event_type.to_owned());
        let parts = [("type", &tag), ("data", data)];
        let mut map = serde::de::value::MapDeserializer::new(parts.into_iter());
        let event = Event::deserialize(serde::de::value::MapAccessDeserializer::new(&mut map))?;
        map.end()?;
        Ok(event)
    }

    /// Every stored type name, in declaration order.
    pub const TYPES: [&'static str; 20] = [
        "tenant.created",
        "catalog.defined",
        "tenant.plan_changed",
        "role.created",
        "role.updated",
        "role.deleted",
        "user.invited",
        "invitation.resent",
        "invitation.canceled",
        "invitation.accepted",
        "user.roles_changed",
        "user.permission_toggled",
        "user.scope_changed",
        "user.offices_changed",
        "user.networks_changed",
        "user.deactivated",
        "user.reactivated",
        "user.logged_in",
        "user.profile_updated",
        "command.unchanged",
    ];

    /// The stored type name (`user.invited`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::TenantCreated(_) => "tenant.created",
            Event::CatalogDefined(_) => "catalog.defined",
            Event::PlanChanged(_) => "tenant.plan_changed",
            Event::RoleCreated(_) => "role.created",
            Event::RoleUpdated(_) => "role.updated",
            Event::RoleDeleted(_) => "role.deleted",
            Event::UserInvited(_) => "user.invited",
            Event::InvitationResent(_) => "invitation.resent",
            Event::InvitationCanceled(_) => "invitation.canceled",
            Event::InvitationAccepted(_) => "invitation.accepted",
            Event::RolesChanged(_) => "user.roles_changed",
            Event::PermissionToggled(_) => "user.permission_toggled",
            Event::ScopeChanged(_) => "user.scope_changed",
            Event::OfficesChanged(_) => "user.offices_changed",
            Event::AllowedNetworksChanged(_) => "user.networks_changed",
            Event::UserDeactivated(_) => "user.deactivated",
            Event::UserReactivated(_) => "user.reactivated",
            Event::UserLoggedIn(_) => "user.logged_in",
            Event::ProfileUpdated(_) => "user.profile_updated",
            Event::CommandUnchanged(_) => "command.unchanged",
        }
    }

    /// The newest schema version of this event's type.
    pub fn schema_version(&self) -> u32 {
        crate::upcast::current_version(self.type_name())
    }

    /// The member this event is about, if any.
    pub fn target(&self) -> Option<UserId> {
        match self {
            Event::TenantCreated(e) => Some(e.owner_id),
            Event::CatalogDefined(_)
            | Event::PlanChanged(_)
            | Event::RoleCreated(_)
            | Event::RoleUpdated(_)
            | Event::RoleDeleted(_) => None,
            Event::UserInvited(e) => Some(e.user_id),
            Event::InvitationResent(e) => Some(e.user_id),
            Event::InvitationCanceled(e) => Some(e.user_id),
            Event::InvitationAccepted(e) => Some(e.user_id),
            Event::RolesChanged(e) => Some(e.user_id),
            Event::PermissionToggled(e) => Some(e.user_id),
            Event::ScopeChanged(e) => Some(e.user_id),
            Event::OfficesChanged(e) => Some(e.user_id),
            Event::AllowedNetworksChanged(e) => Some(e.user_id),
            Event::UserDeactivated(e) => Some(e.user_id),
            Event::UserReactivated(e) => Some(e.user_id),
            Event::UserLoggedIn(e) => Some(e.user_id),
            Event::ProfileUpdated(e) => Some(e.user_id),
            Event::CommandUnchanged(_) => None,
        }
    }
}
