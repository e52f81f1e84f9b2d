//! The answers of the query endpoints, as the HTTP contract names them. Read
//! models fill these; handlers serialise them as they are.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rollcall_aggregates::{Member, Source, Team, effective};
use rollcall_events::{Actor, Permission, UserId};
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
    pub roles: Vec<rollcall_events::RoleKey>,
    pub invited_at: Option<DateTime<Utc>>,
    /// When the current invitation was (re)sent.
    pub invitation_sent_at: Option<DateTime<Utc>>,
    pub invitation_expires_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub must_change_password: bool,
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
    pub all_offices: bool,
    pub networks: Vec<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub reassign_to: Option<UserId>,
    pub effective: Vec<EffectivePermission>,
}

/// A tenant's catalog as the read side holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogView {
    pub catalog: rollcall_events::CatalogDoc,
    pub version: u32,
    pub plan: String,
}

/// The answer of `POST /check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub reason: String,
    /// Why the permission is held (empty when denied).
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Source>,
    /// Position of the read model the answer was computed at.
    pub position: u64,
    /// `no-grant`, `overridden`, `scope-excluded`, `network-not-allowed`, … when denied.
    pub denial: Option<String>,
    /// The scope that applied, for scoped areas.
    pub scope: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub position: u64,
    pub tenant_seq: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = String, format = Uuid)]
    pub event_id: rollcall_events::EventId,
    /// A user id or `operator`.
    #[schema(value_type = String)]
    pub actor: Actor,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub target: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
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
    /// Entries after this position.
    pub after: Option<u64>,
    pub limit: usize,
}

impl UserSummary {
    pub fn of(member: &Member) -> UserSummary {
        let invitation = member.invitation.as_ref();
        UserSummary {
            user_id: member.user_id,
            email: member.email.clone(),
            display_name: member.profile.display_name.clone(),
            status: member.status.as_str().to_owned(),
            kind: kind_str(member.kind).to_owned(),
            roles: member.roles.clone(),
            invited_at: member.invited_at,
            invitation_sent_at: invitation.map(|i| i.sent_at),
            invitation_expires_at: invitation.map(|i| i.expires_at),
            accepted_at: member.accepted_at,
            last_login_at: member.last_login_at,
            deactivated_at: member.deactivated_at,
            must_change_password: member.profile.must_change_password,
        }
    }
}

impl UserDetail {
    /// The member and their effective permissions, resolved by the domain core.
    pub fn of(team: &Team, member: &Member) -> UserDetail {
        let eff = effective(team, member.user_id);
        UserDetail {
            summary: UserSummary::of(member),
            overrides: member
                .overrides
                .iter()
                .map(|(p, o)| (p.to_string(), toggle_str(o.state).to_owned()))
                .collect(),
            scopes: eff
                .as_ref()
                .map(|e| {
                    e.scopes
                        .iter()
                        .map(|(a, s)| (a.clone(), s.as_str().to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            offices: member.offices.iter().map(|o| o.to_string()).collect(),
            all_offices: eff.as_ref().is_some_and(|e| e.all_offices),
            networks: member.networks.clone(),
            reassign_to: member.reassign_to,
            effective: eff
                .map(|e| {
                    e.permissions
                        .into_iter()
                        .map(|(permission, sources)| EffectivePermission {
                            permission,
                            sources,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

pub fn kind_str(kind: rollcall_events::MemberKind) -> &'static str {
    match kind {
        rollcall_events::MemberKind::Member => "member",
        rollcall_events::MemberKind::External => "external",
    }
}

pub fn toggle_str(t: rollcall_events::Toggle) -> &'static str {
    match t {
        rollcall_events::Toggle::Allow => "allow",
        rollcall_events::Toggle::Deny => "deny",
        rollcall_events::Toggle::Inherit => "inherit",
    }
}
