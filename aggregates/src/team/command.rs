//! Commands: what an admin frontend, an application or the operator asks the Team
//! to do, plus the [`Context`] that carries everything a pure decision may not
//! fetch for itself (time, actor, step-up).

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::{
    Actor, InvitationId, MemberKind, OfficeId, Permission, RoleKey, TenantId, Toggle, UserId,
};
use serde::{Deserialize, Serialize};

/// One request to change a team. Fresh ids and nonces are drawn by the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    CreateTenant {
        tenant_id: TenantId,
        name: String,
        catalog: CatalogDoc,
        plan: Option<String>,
        owner_id: UserId,
        owner_email: String,
        owner_display_name: String,
    },
    DefineCatalog {
        catalog: CatalogDoc,
    },
    ChangePlan {
        plan: String,
    },
    CreateRole {
        role: RoleKey,
        label: String,
        grants: Vec<Permission>,
    },
    UpdateRole {
        role: RoleKey,
        label: String,
        grants: Vec<Permission>,
    },
    DeleteRole {
        role: RoleKey,
    },
    InviteUser {
        user_id: UserId,
        invitation_id: InvitationId,
        email: String,
        display_name: String,
        roles: Vec<RoleKey>,
        overrides: BTreeMap<Permission, Toggle>,
        kind: MemberKind,
        nonce: String,
    },
    ResendInvitation {
        invitation_id: InvitationId,
        nonce: String,
    },
    CancelInvitation {
        invitation_id: InvitationId,
    },
    AcceptInvitation {
        invitation_id: InvitationId,
        nonce: String,
    },
    ChangeRoles {
        user_id: UserId,
        roles: Vec<RoleKey>,
    },
    TogglePermission {
        user_id: UserId,
        permission: Permission,
        state: Toggle,
    },
    SetScope {
        user_id: UserId,
        area: String,
        scope: Scope,
    },
    SetOffices {
        user_id: UserId,
        offices: Vec<OfficeId>,
    },
    SetAllowedNetworks {
        user_id: UserId,
        cidrs: Vec<String>,
    },
    UpdateProfile {
        user_id: UserId,
        display_name: Option<String>,
        must_change_password: Option<bool>,
        links: Option<BTreeMap<String, String>>,
    },
    DeactivateUser {
        user_id: UserId,
        reassign_to: Option<UserId>,
    },
    ReactivateUser {
        user_id: UserId,
    },
    RecordLogin {
        user_id: UserId,
        source_ip: Option<IpAddr>,
    },
}

impl Command {
    /// Stable snake_case name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::CreateTenant { .. } => "create_tenant",
            Command::DefineCatalog { .. } => "define_catalog",
            Command::ChangePlan { .. } => "change_plan",
            Command::CreateRole { .. } => "create_role",
            Command::UpdateRole { .. } => "update_role",
            Command::DeleteRole { .. } => "delete_role",
            Command::InviteUser { .. } => "invite_user",
            Command::ResendInvitation { .. } => "resend_invitation",
            Command::CancelInvitation { .. } => "cancel_invitation",
            Command::AcceptInvitation { .. } => "accept_invitation",
            Command::ChangeRoles { .. } => "change_roles",
            Command::TogglePermission { .. } => "toggle_permission",
            Command::SetScope { .. } => "set_scope",
            Command::SetOffices { .. } => "set_offices",
            Command::SetAllowedNetworks { .. } => "set_allowed_networks",
            Command::UpdateProfile { .. } => "update_profile",
            Command::DeactivateUser { .. } => "deactivate_user",
            Command::ReactivateUser { .. } => "reactivate_user",
            Command::RecordLogin { .. } => "record_login",
        }
    }
}

/// What a decision needs from outside: the time, who asks, whether that person
/// passed an MFA step-up for this request, and the reason they gave (recorded in
/// the event's envelope, so it is held to the same limits as the command).
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub actor: Actor,
    pub mfa: bool,
    pub reason: Option<String>,
}
