//! As-of queries: the team, a member's effective permissions, and every holder of
//! a permission, as they were at an instant.
//!
//! "As of `at`" means after the longest prefix of the tenant's chain whose events
//! all occurred at or before `at`. With one clock that is simply every event up to
//! `at`; if gateway clocks ever disagreed, a later event stamped earlier does not
//! get folded without the events before it, so the answer is always a state the
//! team really was in.
//!
//! The pure functions fold decoded envelopes; [`TeamHistory`] reads a log and
//! starts from the newest [`SnapshotStore`] snapshot that applies.

use std::borrow::Borrow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rollcall_aggregates::{Catalog, Effective, MemberStatus, Source, Team, effective, evolve};
use rollcall_events::catalog::Scope;
use rollcall_events::{Envelope, MemberKind, Permission, RawEnvelope, TenantId, UserId};
use rollcall_log::EventLog;
use rollcall_projections::EffectivePermission;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::error::ReplayError;
use crate::snapshot::SnapshotStore;

// The one answer of the as-of query, over HTTP and from the command line. Its
// doc line below is its description in /openapi.json.
/// A member's effective permissions as they were at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EffectiveAsOf {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub at: DateTime<Utc>,
    /// The last event of the tenant folded at `at`, and its hash.
    pub tenant_seq: u64,
    pub head_hash: String,
    /// `active`, `invited`, `deactivated`… at that instant.
    pub status: String,
    pub kind: String,
    /// Area -> `all` | `assigned` | `offices`, resolved.
    pub scopes: BTreeMap<String, String>,
    pub offices: Vec<String>,
    /// Empty unless the member was active.
    pub effective: Vec<EffectivePermission>,
}

impl EffectiveAsOf {
    /// The answer for `user` in `team` as folded up to `at`; `None` when the user
    /// was not a member then.
    pub fn of(
        team: &Team,
        tenant_id: TenantId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Option<EffectiveAsOf> {
        let effective = effective(team, user)?;
        Some(EffectiveAsOf {
            tenant_id,
            user_id: user,
            at,
            tenant_seq: team.tenant_seq,
            head_hash: team.head_hash.clone(),
            status: name(&effective.status),
            kind: name(&effective.kind),
            scopes: effective
                .scopes
                .iter()
                .map(|(area, scope)| (area.clone(), name(scope)))
                .collect(),
            offices: effective.offices.iter().map(|o| o.to_string()).collect(),
            effective: effective
                .permissions
                .into_iter()
                .map(|(permission, sources)| EffectivePermission {
                    permission: permission.to_string(),
                    sources,
                })
                .collect(),
        })
    }
}

/// The wire name of a unit variant (`member`, `external`).
fn name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A member holding a permission at an instant, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    pub user_id: UserId,
    /// The name the member had at that instant.
    pub display_name: String,
    pub email: String,
    pub status: MemberStatus,
    pub kind: MemberKind,
    pub sources: Vec<Source>,
    /// The scope that limited the permission, for scoped areas.
    pub scope: Option<Scope>,
}

/// The team after every event of `events` (one tenant's, in chain order) up to
/// the first that occurred after `at`.
pub fn team_as_of<I>(events: I, at: DateTime<Utc>) -> Team
where
    I: IntoIterator,
    I::Item: Borrow<Envelope>,
{
    let mut team = Team::default();
    for event in events {
        let event = event.borrow();
        if event.occurred_at > at {
            break;
        }
        team = evolve(team, event);
    }
    team
}

/// `user`'s effective permissions at `at`; `None` when the user was not (yet) a
/// member then.
pub fn effective_as_of<I>(events: I, user: UserId, at: DateTime<Utc>) -> Option<Effective>
where
    I: IntoIterator,
    I::Item: Borrow<Envelope>,
{
    effective(&team_as_of(events, at), user)
}

/// Every member holding `permission` at `at`, with sources, by user id.
pub fn holders_as_of<I>(events: I, permission: &Permission, at: DateTime<Utc>) -> Vec<Holder>
where
    I: IntoIterator,
    I::Item: Borrow<Envelope>,
{
    holders(&team_as_of(events, at), permission)
}

/// Every member of `team` effectively holding `permission`, by user id.
pub fn holders(team: &Team, permission: &Permission) -> Vec<Holder> {
    team.members
        .values()
        .filter_map(|member| {
            let eff = effective(team, member.user_id)?;
            let sources = eff.permissions.get(permission)?.clone();
            Some(Holder {
                user_id: member.user_id,
                display_name: member.profile.display_name.clone(),
                email: member.email.clone(),
                status: member.status,
                kind: member.kind,
                sources,
                scope: scope_of(&eff, permission),
            })
        })
        .collect()
}

/// The scope that applies to `permission` for this member, if its area is scoped.
pub(crate) fn scope_of(eff: &Effective, permission: &Permission) -> Option<Scope> {
    eff.scopes.get(Catalog::area_of(permission)).copied()
}

/// As-of queries over a log, with optional snapshots.
#[derive(Clone)]
pub struct TeamHistory {
    log: Arc<dyn EventLog>,
    snapshots: Option<SnapshotStore>,
}

/// The state reached by a fold, and how far it got.
struct Folded {
    team: Team,
    /// The event after the prefix, if the fold stopped at one (it occurred after
    /// the instant).
    stopped_at: Option<Envelope>,
}

impl TeamHistory {
    /// As-of answers from `log`; with `snapshots`, starting from the newest one
    /// that applies and leaving new ones behind as folds pass their sequence.
    pub fn new(log: Arc<dyn EventLog>, snapshots: Option<SnapshotStore>) -> Self {
        TeamHistory { log, snapshots }
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// The team at `at` (the empty team when the tenant did not exist yet).
    pub async fn team_at(&self, tenant: TenantId, at: DateTime<Utc>) -> Result<Team, ReplayError> {
        Ok(self.fold_until(tenant, Some(at)).await?.team)
    }

    pub async fn effective_at(
        &self,
        tenant: TenantId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<Effective>, ReplayError> {
        Ok(effective(&self.team_at(tenant, at).await?, user))
    }

    pub async fn holders_at(
        &self,
        tenant: TenantId,
        permission: &Permission,
        at: DateTime<Utc>,
    ) -> Result<Vec<Holder>, ReplayError> {
        Ok(holders(&self.team_at(tenant, at).await?, permission))
    }

    /// Folds the tenant to its head, leaving a snapshot at every due sequence that
    /// has none yet. Returns the head's tenant_seq.
    pub async fn catch_up(&self, tenant: TenantId) -> Result<u64, ReplayError> {
        Ok(self.fold_until(tenant, None).await?.team.tenant_seq)
    }

    /// The team at `from`, then every event after it up to `to`: `init` sees the
    /// team at `from`, `visit` each later event with the team after it. Returns the
    /// teams at `from` and `to` and what `visit` built.
    pub(crate) async fn walk_between<T>(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        init: impl FnOnce(&Team) -> T,
        mut visit: impl FnMut(&mut T, &Envelope, &Team),
    ) -> Result<(Team, Team, T), ReplayError> {
        let start = self.fold_until(tenant, Some(from)).await?;
        let mut state = init(&start.team);
        let mut team = start.team.clone();
        let Some(first) = start.stopped_at.filter(|e| e.occurred_at <= to) else {
            return Ok((start.team, team, state));
        };
        team = evolve(team, &first);
        visit(&mut state, &first, &team);
        let mut stream = self.log.read_tenant(tenant, team.tenant_seq + 1).await?;
        while let Some(raw) = stream.next().await {
            let event = decode(&raw?)?;
            if event.occurred_at > to {
                break;
            }
            team = evolve(team, &event);
            visit(&mut state, &event, &team);
        }
        Ok((start.team, team, state))
    }

    /// Folds from the best starting point until the first event after `at` (or
    /// the head when `at` is `None`), saving due snapshots on the way.
    async fn fold_until(
        &self,
        tenant: TenantId,
        at: Option<DateTime<Utc>>,
    ) -> Result<Folded, ReplayError> {
        let found = match &self.snapshots {
            Some(store) => store.at_or_before(tenant, at.unwrap_or(DateTime::<Utc>::MAX_UTC))?,
            None => None,
        };
        let (mut team, mut through) = match found {
            Some(found) => (found.team, found.through),
            None => (Team::default(), DateTime::<Utc>::MIN_UTC),
        };
        let newest = match &self.snapshots {
            Some(store) => store.newest_seq(tenant)?,
            None => 0,
        };
        let mut stream = self.log.read_tenant(tenant, team.tenant_seq + 1).await?;
        while let Some(raw) = stream.next().await {
            let event = decode(&raw?)?;
            if at.is_some_and(|at| event.occurred_at > at) {
                return Ok(Folded {
                    team,
                    stopped_at: Some(event),
                });
            }
            through = through.max(event.occurred_at);
            team = evolve(team, &event);
            if let Some(store) = &self.snapshots
                && store.due(team.tenant_seq)
                && team.tenant_seq > newest
            {
                store.save(&team, event.occurred_at, through)?;
            }
        }
        Ok(Folded {
            team,
            stopped_at: None,
        })
    }
}

fn decode(raw: &RawEnvelope) -> Result<Envelope, ReplayError> {
    raw.decode().map_err(|error| ReplayError::Decode {
        position: raw.position,
        error,
    })
}
