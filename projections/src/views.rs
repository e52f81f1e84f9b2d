//! The answers of the read side, in the HTTP contract's shapes (with their
//! OpenAPI schemas), built from the access index: the one representation of each
//! view, served as they are.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_aggregates::{MemberStatus, Source, effective_from};
use rollcall_events::{
    Actor, EventId, InvitationId, MemberKind, RoleKey, TenantId, Toggle, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::index::{MemberEntry, TenantIndex};

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
    pub permission: String,
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

/// A member whose effective permissions an event changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = AccessDeltaAnswer)]
pub struct AccessDelta {
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
    /// What the event changed, before (`null` when it created something).
    #[schema(value_type = Object, nullable = true)]
    pub before: Value,
    /// What the event changed, after (`null` when it removed something).
    #[schema(value_type = Object, nullable = true)]
    pub after: Value,
    pub hash: String,
    pub prev_hash: String,
    pub access_delta: Vec<AccessDelta>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One account a person (an email) belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
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

fn kind(k: MemberKind) -> &'static str {
    match k {
        MemberKind::Member => "member",
        MemberKind::External => "external",
    }
}

impl UserSummary {
    pub fn of(entry: &MemberEntry) -> UserSummary {
        let m = &entry.member;
        UserSummary {
            user_id: m.user_id,
            email: m.email.clone(),
            display_name: m.profile.display_name.clone(),
            status: m.status.as_str().to_owned(),
            kind: kind(m.kind).to_owned(),
            roles: m.roles.clone(),
            invitation_id: m.invitation.as_ref().map(|i| i.id),
            invited_at: m.invited_at,
            invitation_expires_at: m
                .invitation
                .as_ref()
                .filter(|_| m.status == MemberStatus::Invited)
                .map(|i| i.expires_at),
            accepted_at: m.accepted_at,
            last_login_at: m.last_login_at,
            deactivated_at: m.deactivated_at,
        }
    }
}

impl UserDetail {
    pub fn of(index: &TenantIndex, entry: &MemberEntry) -> UserDetail {
        let m = &entry.member;
        let effective = effective_from(&index.vocabulary(), m, &entry.access);
        UserDetail {
            summary: UserSummary::of(entry),
            overrides: m
                .overrides
                .iter()
                .filter(|(_, o)| o.state != Toggle::Inherit)
                .map(|(p, o)| {
                    let state = if o.state == Toggle::Allow {
                        "allow"
                    } else {
                        "deny"
                    };
                    (p.to_string(), state.to_owned())
                })
                .collect(),
            scopes: effective
                .scopes
                .iter()
                .map(|(a, s)| (a.clone(), s.as_str().to_owned()))
                .collect(),
            offices: m.offices.iter().map(|o| o.to_string()).collect(),
            networks: m.networks.clone(),
            must_change_password: m.profile.must_change_password,
            links: m.profile.links.clone(),
            reassign_to: m.reassign_to,
            effective: effective
                .permissions
                .into_iter()
                .map(|(permission, sources)| EffectivePermission {
                    permission: permission.to_string(),
                    sources,
                })
                .collect(),
        }
    }
}

impl CatalogAnswer {
    pub fn of(index: &TenantIndex) -> CatalogAnswer {
        CatalogAnswer {
            catalog: index.catalog.doc().clone(),
            version: index.catalog_version,
            plan: index.plan.to_string(),
            tenant_roles: index
                .roles
                .values()
                .map(|r| RoleAnswer {
                    key: r.key.to_string(),
                    label: r.label.clone(),
                    description: r.description.clone(),
                    grants: r.grants.iter().map(|p| p.to_string()).collect(),
                    except: r.except.iter().map(|p| p.to_string()).collect(),
                    builtin: r.builtin,
                })
                .collect(),
        }
    }
}

impl PlatformsAnswer {
    /// Billable platform → active members holding any permission of its areas.
    pub fn of(index: &TenantIndex) -> PlatformsAnswer {
        let catalog = &index.catalog;
        let areas = &catalog.doc().areas;
        let mut platforms: BTreeMap<String, usize> = areas
            .iter()
            .filter_map(|a| a.platform.clone())
            .map(|p| (p, 0))
            .collect();
        for entry in index.members.values() {
            if entry.access.status != MemberStatus::Active {
                continue;
            }
            let mut held: Vec<&str> = entry
                .access
                .held
                .iter()
                .filter_map(|id| catalog.area_index(id))
                .filter_map(|a| areas.get(a).and_then(|a| a.platform.as_deref()))
                .collect();
            held.sort_unstable();
            held.dedup();
            for platform in held {
                if let Some(n) = platforms.get_mut(platform) {
                    *n += 1;
                }
            }
        }
        PlatformsAnswer { platforms }
    }
}

impl Membership {
    pub fn of(index: &TenantIndex, entry: &MemberEntry) -> Membership {
        Membership {
            tenant_id: index.tenant_id,
            tenant_name: index.name.to_string(),
            user_id: entry.member.user_id,
            display_name: entry.member.profile.display_name.clone(),
            status: entry.member.status.as_str().to_owned(),
        }
    }
}
