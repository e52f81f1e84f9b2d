//! The access review: every member of a tenant at an instant, with each effective
//! permission, its sources and scope. Members who could do nothing then
//! (deactivated, invited, canceled) are listed too, with their status and the
//! name they had, so the review accounts for everyone.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use rollcall_aggregates::{MemberStatus, Source, Team, effective};
use rollcall_events::catalog::Scope;
use rollcall_events::{MemberKind, OfficeId, Permission, RoleKey, TenantId, UserId};
use serde::Serialize;

use crate::as_of::{TeamHistory, scope_of};
use crate::csv_out::CsvOut;
use crate::error::ReplayError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessReview {
    pub tenant_id: Option<TenantId>,
    pub at: DateTime<Utc>,
    /// The last event the review reflects, so it can be reproduced and verified.
    pub tenant_seq: u64,
    pub head_hash: String,
    pub members: Vec<ReviewMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewMember {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
    pub status: MemberStatus,
    pub kind: MemberKind,
    pub roles: Vec<RoleKey>,
    /// Offices the member was limited to (for `offices`-scoped areas).
    pub offices: Vec<OfficeId>,
    /// CIDR blocks the member could sign in from; empty means anywhere.
    pub networks: Vec<String>,
    /// Empty unless the member was active.
    pub permissions: Vec<ReviewPermission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewPermission {
    pub permission: Permission,
    pub sources: Vec<Source>,
    pub scope: Option<Scope>,
}

/// The review of `team` (already folded to the instant `at`), members by user id.
pub fn access_review(team: &Team, at: DateTime<Utc>) -> AccessReview {
    let members = team
        .members
        .values()
        .map(|member| {
            let permissions = effective(team, member.user_id)
                .map(|eff| {
                    eff.permissions
                        .iter()
                        .map(|(p, sources)| ReviewPermission {
                            permission: p.clone(),
                            sources: sources.clone(),
                            scope: scope_of(&eff, p),
                        })
                        .collect()
                })
                .unwrap_or_default();
            ReviewMember {
                user_id: member.user_id,
                display_name: member.profile.display_name.clone(),
                email: member.email.clone(),
                status: member.status,
                kind: member.kind,
                roles: member.roles.clone(),
                offices: member.offices.clone(),
                networks: member.networks.clone(),
                permissions,
            }
        })
        .collect();
    AccessReview {
        tenant_id: team.tenant_id,
        at,
        tenant_seq: team.tenant_seq,
        head_hash: team.head_hash.clone(),
        members,
    }
}

impl TeamHistory {
    /// The access review of `tenant` at `at`.
    pub async fn access_review(
        &self,
        tenant: TenantId,
        at: DateTime<Utc>,
    ) -> Result<AccessReview, ReplayError> {
        Ok(access_review(&self.team_at(tenant, at).await?, at))
    }
}

/// Columns of the review, in order.
const REVIEW_COLUMNS: [&str; 10] = [
    "at",
    "user_id",
    "display_name",
    "email",
    "status",
    "kind",
    "roles",
    "permission",
    "scope",
    "sources",
];

/// Writes the review as CSV, header first: one row per member × permission; a
/// member holding nothing gets one row with an empty permission, so nobody drops
/// out of the review.
pub fn review_csv<W: Write>(review: &AccessReview, writer: W) -> Result<(), ReplayError> {
    let mut csv = CsvOut::new(writer);
    csv.row(REVIEW_COLUMNS)?;
    let at = review.at.to_rfc3339_opts(SecondsFormat::Secs, true);
    for m in &review.members {
        let roles = m
            .roles
            .iter()
            .map(RoleKey::as_str)
            .collect::<Vec<_>>()
            .join(";");
        let user_id = m.user_id.to_string();
        let row = |permission: Option<&ReviewPermission>| {
            [
                at.as_str(),
                user_id.as_str(),
                m.display_name.as_str(),
                m.email.as_str(),
                m.status.as_str(),
                match m.kind {
                    MemberKind::Member => "member",
                    MemberKind::External => "external",
                },
                roles.as_str(),
                permission.map_or("", |p| p.permission.as_str()),
                permission.and_then(|p| p.scope).map_or("", |s| s.as_str()),
            ]
            .map(str::to_owned)
            .into_iter()
            .chain([permission.map_or_else(String::new, |p| describe_sources(&p.sources))])
        };
        if m.permissions.is_empty() {
            csv.row(row(None))?;
        }
        for p in &m.permissions {
            csv.row(row(Some(p)))?;
        }
    }
    csv.flush()?;
    Ok(())
}

/// `role:admin; override:allow by <actor> at <time> (#position)`.
pub(crate) fn describe_sources(sources: &[Source]) -> String {
    sources
        .iter()
        .map(|s| match s {
            Source::Role { role } => format!("role:{role}"),
            Source::DefaultRole { role } => format!("default_role:{role}"),
            Source::Plan { plan } => format!("plan:{plan}"),
            Source::Override { by, at, position } => format!(
                "override by {by} at {} (#{position})",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}
