//! The answers of the query endpoints, as the HTTP contract names them, with
//! their OpenAPI schemas. The read model fills these; handlers serialise them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_aggregates::Source;
use rollcall_events::{Actor, EventId, InvitationId, Permission, RoleKey, UserId};
use rollcall_projections::{CatalogView, MemberView, RoleView, UserView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One row of the team page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserSummary {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    /// `invited`, `active`, `deactivated` or `canceled`.
    pub status: String,
    /// `member` or `external`.
    pub kind: String,
    #[schema(value_type = Vec<String>)]
    pub roles: Vec<RoleKey>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub invitation_id: Option<InvitationId>,
    /// When the (latest) invitation was sent.
    pub invited_at: Option<DateTime<Utc>>,
    pub invitation_expires_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserSummary>,
}

/// One effective permission and every reason it is held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EffectivePermission {
    #[schema(value_type = String)]
    pub permission: Permission,
    /// `{"kind": "role", "role"}`, `{"kind": "default_role", "role"}`,
    /// `{"kind": "plan", "plan"}` or `{"kind": "override", "by", "at", "position"}`.
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Source>,
}

/// A member with everything that decides their access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub summary: UserSummary,
    /// Permission -> `allow` | `deny`.
    pub overrides: BTreeMap<String, String>,
    /// Area -> `all` | `assigned` | `offices`, resolved (defaults included).
    pub scopes: BTreeMap<String, String>,
    pub offices: Vec<String>,
    pub networks: Vec<String>,
    pub must_change_password: bool,
    pub links: BTreeMap<String, String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub reassign_to: Option<UserId>,
    pub effective: Vec<EffectivePermission>,
}

/// A role as the catalog page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoleAnswer {
    pub key: String,
    pub label: String,
    pub description: String,
    pub grants: Vec<String>,
    pub except: Vec<String>,
    pub builtin: bool,
}

/// A tenant's catalog: the catalog document itself (so it can be edited and PUT
/// back as it is), plus the catalog version, the tenant's plan and every role the
/// tenant has (built-in and custom) under `tenant_roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogAnswer {
    /// The catalog document's fields (`key`, `label`, `areas`, `roles`, `plans`, …).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub catalog: rollcall_events::CatalogDoc,
    pub version: u32,
    pub plan: String,
    pub tenant_roles: Vec<RoleAnswer>,
}

/// Members of [`CatalogAnswer`] that are not part of the catalog document.
pub const CATALOG_ANSWER_EXTRAS: [&str; 3] = ["version", "plan", "tenant_roles"];

/// Billable platforms of a tenant: each platform of its catalog with the number of
/// active members holding at least one permission of its areas (0 when nobody
/// does; a platform with a member is on the subscription).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlatformsAnswer {
    pub platforms: BTreeMap<String, usize>,
}

/// The answer of `POST /check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub reason: String,
    /// Why the permission is held (empty when denied).
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Source>,
    /// Position of the read side the answer was computed at.
    pub position: u64,
    /// `no-grant`, `overridden`, `scope-excluded`, `network-not-allowed`, … when denied.
    pub denial: Option<String>,
    /// The scope that applied, for scoped areas.
    pub scope: Option<String>,
}

/// A member whose effective permissions an event changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessDeltaAnswer {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub display_name: String,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// One entry of the audit trail; names are as they were at the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub position: u64,
    pub tenant_seq: u64,
    #[schema(value_type = String, format = Uuid)]
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    /// A user id or `operator`.
    #[schema(value_type = String)]
    pub actor: Actor,
    pub actor_name: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub target: Option<UserId>,
    pub target_name: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
    pub hash: String,
    pub prev_hash: String,
    pub access_delta: Vec<AccessDeltaAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of the audit query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditQuery {
    pub user: Option<UserId>,
    pub actor: Option<Actor>,
    pub event_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

fn text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

impl From<UserView> for UserSummary {
    fn from(u: UserView) -> UserSummary {
        UserSummary {
            user_id: u.user_id,
            email: u.email,
            display_name: u.display_name,
            status: u.status.as_str().to_owned(),
            kind: text(&u.kind),
            roles: u.roles,
            invitation_id: u.invitation_id,
            invited_at: u.invited_at,
            invitation_expires_at: u.invitation_expires_at,
            accepted_at: u.accepted_at,
            last_login_at: u.last_login_at,
            deactivated_at: u.deactivated_at,
        }
    }
}

impl From<MemberView> for UserDetail {
    fn from(m: MemberView) -> UserDetail {
        UserDetail {
            summary: m.user.into(),
            overrides: m
                .overrides
                .iter()
                .map(|(p, t)| (p.to_string(), text(t)))
                .collect(),
            scopes: m
                .scopes
                .iter()
                .map(|(a, s)| (a.clone(), s.as_str().to_owned()))
                .collect(),
            offices: m.offices.iter().map(|o| o.to_string()).collect(),
            networks: m.networks,
            must_change_password: m.must_change_password,
            links: m.links,
            reassign_to: m.reassign_to,
            effective: m
                .effective
                .into_iter()
                .map(|e| EffectivePermission {
                    permission: e.permission,
                    sources: e.sources,
                })
                .collect(),
        }
    }
}

impl From<RoleView> for RoleAnswer {
    fn from(r: RoleView) -> RoleAnswer {
        RoleAnswer {
            key: r.key.to_string(),
            label: r.label,
            description: r.description,
            grants: r.grants.iter().map(|p| p.to_string()).collect(),
            except: r.except.iter().map(|p| p.to_string()).collect(),
            builtin: r.builtin,
        }
    }
}

impl From<CatalogView> for CatalogAnswer {
    fn from(c: CatalogView) -> CatalogAnswer {
        CatalogAnswer {
            catalog: c.catalog,
            version: c.version,
            plan: c.plan,
            tenant_roles: c.roles.into_iter().map(RoleAnswer::from).collect(),
        }
    }
}

/// One account a person (an email) belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: rollcall_events::TenantId,
    pub tenant_name: String,
    /// The member's id in that tenant (each tenant has its own).
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub display_name: String,
    /// `invited`, `active`, `deactivated` or `canceled`.
    pub status: String,
}

/// The accounts one person belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MembershipList {
    pub email: String,
    pub memberships: Vec<Membership>,
}
