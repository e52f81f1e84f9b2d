//! The catalog document: the wire format of a product's permission vocabulary.
//!
//! A catalog is data, not code: the four seed products are four JSON files in this
//! format, and a tenant may define its own. The document is carried inside
//! `tenant.created` and `catalog.defined` events, so its shape is part of the event
//! contract; the rules that interpret it live in `rollcall-aggregates`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{Permission, RoleKey};

/// A data scope a member can be limited to, per area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every resource of the area.
    All,
    /// Only resources assigned to (owned by) the member; unassigned resources are
    /// visible to nobody with this scope.
    Assigned,
    /// Only resources in one of the member's offices.
    Offices,
}

impl Scope {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Assigned => "assigned",
            Scope::Offices => "offices",
        }
    }
}

/// The whole vocabulary of one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    /// Stable key of the product (`jtek`, `jetbuilt`, …).
    pub key: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Feature areas; a permission is `area.action`.
    pub areas: Vec<AreaDoc>,
    /// Prerequisites: a permission is only effective while each permission it
    /// requires is effective too (Jetbuilt: every project permission requires
    /// `projects.view`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requires: BTreeMap<Permission, Vec<Permission>>,
    /// Built-in roles. Tenants may add custom roles where the plan allows it.
    #[serde(default)]
    pub roles: Vec<RoleDoc>,
    /// Role a member holds when no role is given (Jet Hub: `standard_user`);
    /// `None` means a member without a role can do nothing (JobTracker).
    #[serde(default)]
    pub default_role: Option<RoleKey>,
    /// May a member hold more than one role?
    #[serde(default)]
    pub multi_role: bool,
    /// Roles the tenant's owner receives at creation.
    pub owner_roles: Vec<RoleKey>,
    /// The permission that lets an actor manage the team; holding it is what
    /// "admin" means for the last-admin and admins-change-admins rules.
    pub team_permission: Permission,
    /// The permission that lets a member change the tenant's plan (Jetbuilt:
    /// `billing.manage`). Absent: only the operator changes plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_permission: Option<Permission>,
    /// Actions that count as "view" actions: the only ones external members may hold.
    #[serde(default = "default_view_actions")]
    pub view_actions: Vec<String>,
    pub plans: Vec<PlanDoc>,
    /// Plan of a new tenant when none is named.
    pub default_plan: String,
    #[serde(default = "default_invite_ttl_hours")]
    pub invite_ttl_hours: u32,
    /// Inviting and resending invitations require an MFA step-up (Jet Hub).
    #[serde(default)]
    pub invite_requires_mfa: bool,
    /// Roles, toggles, scopes, offices and networks change only for members who
    /// accepted their invitation (Jet Hub: "Update user permissions" is offered on
    /// active users only). Absent means false: pending invitees may be edited.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edit_active_members_only: bool,
    /// Named profile links a member may carry (JobTracker: `assignee`, `salesperson`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_links: Vec<String>,
}

fn default_view_actions() -> Vec<String> {
    vec!["view".to_owned(), "read".to_owned()]
}

fn default_invite_ttl_hours() -> u32 {
    72
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaDoc {
    pub key: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub actions: Vec<ActionDoc>,
    /// Data scopes the area supports; absent means the area is not scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeDoc>,
    /// The billable platform the area belongs to, where turning on its permissions
    /// for anyone adds the platform to the subscription (Jetbuilt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDoc {
    pub key: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeDoc {
    /// Scopes a member of this area may be set to.
    pub options: Vec<Scope>,
    /// Scope of a member who has not been set to one.
    pub default: Scope,
    /// A permission that, while effective, lifts a scope to `all`
    /// (Jetbuilt: `offices.all` lifts `offices`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lifted_by: BTreeMap<Scope, Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDoc {
    pub key: RoleKey,
    pub label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Permissions or patterns (`area.*`, `*`).
    pub grants: Vec<Permission>,
    /// Permissions excluded from the grants (Jet Hub's Account Admin: everything
    /// but billing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDoc {
    pub key: String,
    pub label: String,
    /// Permissions every active member holds on this plan; they cannot be turned off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub always_on: Vec<Permission>,
    /// Permissions (or patterns) the plan does not offer: nobody may be granted them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Permission>,
    /// May tenants on this plan create custom roles?
    #[serde(default)]
    pub custom_roles: bool,
    /// Most offices a tenant on this plan may use; `None` means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_offices: Option<u32>,
}
