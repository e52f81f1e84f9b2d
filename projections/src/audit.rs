//! The audit history: one stored entry per event — what changed, who did it and
//! whose effective access it changed — and the queries over it. The index by
//! target member and by actor lives in memory (in each tenant's index), built from
//! the entries on open and kept by the projector, so an entry is written once.
//!
//! The one description of "what an event changed" ([`change`]) is here: the
//! HTTP audit, the exports and the console all show it.

use chrono::{DateTime, Utc};
use rollcall_events::{Actor, Envelope, Event, EventId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ProjectionError;
use crate::index::TenantIndex;
use crate::store::Store;
use crate::stored::{Instant, StoredActor, actor_from, actor_of};
use crate::views::{AccessDelta, AuditEntry, AuditPage};

pub const DEFAULT_AUDIT_LIMIT: usize = 100;
pub const MAX_AUDIT_LIMIT: usize = 1000;

/// Filters of an audit query; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The member the event is about.
    pub user: Option<UserId>,
    pub actor: Option<Actor>,
    pub event_type: Option<String>,
    /// `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Default [`DEFAULT_AUDIT_LIMIT`], at most [`MAX_AUDIT_LIMIT`].
    pub limit: Option<usize>,
}

/// An access delta as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredDelta {
    pub user: [u8; 16],
    pub name: String,
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

/// An audit entry as stored (its position and tenant are in its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAudit {
    pub target: Option<[u8; 16]>,
    pub actor: StoredActor,
    pub tenant_seq: u64,
    pub event_id: [u8; 16],
    pub event_type: String,
    pub actor_name: Option<String>,
    pub target_name: Option<String>,
    pub occurred_at: Instant,
    pub reason: Option<String>,
    /// JSON text of `before` and `after`.
    pub before: String,
    pub after: String,
    pub hash: String,
    pub prev_hash: String,
    pub deltas: Vec<StoredDelta>,
}

impl StoredAudit {
    pub fn of(
        envelope: &Envelope,
        actor_name: Option<String>,
        target_name: Option<String>,
        deltas: Vec<StoredDelta>,
    ) -> StoredAudit {
        let (before, after) = change(&envelope.event);
        StoredAudit {
            target: envelope.target().map(|u| *u.0.as_bytes()),
            actor: actor_of(envelope.actor),
            tenant_seq: envelope.tenant_seq,
            event_id: *envelope.event_id.0.as_bytes(),
            event_type: envelope.type_name().to_owned(),
            actor_name,
            target_name,
            occurred_at: envelope.occurred_at.into(),
            reason: envelope.reason.clone(),
            before: before.to_string(),
            after: after.to_string(),
            hash: envelope.hash.clone(),
            prev_hash: envelope.prev_hash.clone(),
            deltas,
        }
    }

    pub fn target(&self) -> Option<UserId> {
        self.target.map(|b| UserId(uuid::Uuid::from_bytes(b)))
    }

    pub fn actor(&self) -> Actor {
        actor_from(self.actor)
    }

    pub fn entry(self, position: u64) -> Result<AuditEntry, ProjectionError> {
        let corrupt = |message: String| ProjectionError::Corrupt {
            tree: crate::store::PROJECTIONS_TREE,
            key: format!("audit entry at position {position}"),
            message,
        };
        Ok(AuditEntry {
            position,
            tenant_seq: self.tenant_seq,
            event_id: EventId(uuid::Uuid::from_bytes(self.event_id)),
            actor: self.actor(),
            target: self.target(),
            event_type: self.event_type,
            actor_name: self.actor_name,
            target_name: self.target_name,
            occurred_at: self
                .occurred_at
                .time()
                .map_err(|e| corrupt(e.to_string()))?,
            reason: self.reason,
            before: serde_json::from_str(&self.before).map_err(|e| corrupt(e.to_string()))?,
            after: serde_json::from_str(&self.after).map_err(|e| corrupt(e.to_string()))?,
            hash: self.hash,
            prev_hash: self.prev_hash,
            access_delta: self
                .deltas
                .into_iter()
                .map(|d| AccessDelta {
                    user_id: UserId(uuid::Uuid::from_bytes(d.user)),
                    display_name: d.name,
                    gained: d.gained,
                    lost: d.lost,
                })
                .collect(),
        })
    }
}

/// What an event changed, as (before, after); `null` on the side where there is
/// nothing (a creation has no before, a deletion no after). Invitation nonces are
/// left out: they are half of what mints an accept token.
pub fn change(event: &Event) -> (Value, Value) {
    match event {
        Event::TenantCreated(e) => (
            Value::Null,
            json!({
                "name": e.name,
                "catalog": e.catalog.key,
                "plan": e.plan,
                "owner_id": e.owner_id,
                "owner_email": e.owner_email,
                "owner_display_name": e.owner_display_name,
                "owner_roles": e.owner_roles,
            }),
        ),
        Event::CatalogDefined(e) => (
            Value::Null,
            json!({ "catalog": e.catalog.key, "version": e.version }),
        ),
        Event::PlanChanged(e) => (json!({ "plan": e.from }), json!({ "plan": e.to })),
        Event::RoleCreated(e) => (
            Value::Null,
            json!({ "role": e.role, "label": e.label, "grants": e.grants }),
        ),
        Event::RoleUpdated(e) => (
            json!({ "role": e.role, "label": e.from.label, "grants": e.from.grants }),
            json!({ "role": e.role, "label": e.to.label, "grants": e.to.grants }),
        ),
        Event::RoleDeleted(e) => (
            json!({ "role": e.role, "label": e.was.label, "grants": e.was.grants }),
            Value::Null,
        ),
        Event::UserInvited(e) => (
            Value::Null,
            json!({
                "status": "invited",
                "email": e.email,
                "display_name": e.display_name,
                "kind": e.kind,
                "roles": e.roles,
                "overrides": e.overrides,
                "invitation_id": e.invitation_id,
                "expires_at": e.expires_at,
            }),
        ),
        Event::InvitationResent(e) => (
            json!({ "expires_at": e.previous_expires_at }),
            json!({ "expires_at": e.expires_at }),
        ),
        Event::InvitationCanceled(e) => (
            json!({ "status": "invited", "invitation_id": e.invitation_id }),
            json!({ "status": "canceled" }),
        ),
        Event::InvitationAccepted(e) => (
            json!({ "status": "invited", "invitation_id": e.invitation_id }),
            json!({ "status": "active" }),
        ),
        Event::RolesChanged(e) => (json!({ "roles": e.from }), json!({ "roles": e.to })),
        Event::PermissionToggled(e) => (
            json!({ "permission": e.permission, "state": e.from }),
            json!({ "permission": e.permission, "state": e.to }),
        ),
        Event::ScopeChanged(e) => (
            json!({ "area": e.area, "scope": e.from }),
            json!({ "area": e.area, "scope": e.to }),
        ),
        Event::OfficesChanged(e) => (json!({ "offices": e.from }), json!({ "offices": e.to })),
        Event::AllowedNetworksChanged(e) => {
            (json!({ "networks": e.from }), json!({ "networks": e.to }))
        }
        Event::UserDeactivated(e) => (
            json!({ "status": "active", "roles": e.roles }),
            json!({ "status": "deactivated", "reassign_to": e.reassign_to }),
        ),
        Event::UserReactivated(_) => (
            json!({ "status": "deactivated" }),
            json!({ "status": "active" }),
        ),
        Event::UserLoggedIn(e) => (Value::Null, json!({ "source_ip": e.source_ip })),
        Event::ProfileUpdated(e) => (profile(&e.from), profile(&e.to)),
        Event::CommandUnchanged(e) => (Value::Null, json!({ "command": e.command })),
    }
}

fn profile(p: &rollcall_events::Profile) -> Value {
    let mut v = json!({
        "display_name": p.display_name,
        "must_change_password": p.must_change_password,
    });
    if !p.links.is_empty() {
        v["links"] = json!(p.links);
    }
    v
}

impl AuditQuery {
    /// The page size and the position to start after, or why the query is bad.
    pub(crate) fn bounds(&self) -> Result<(usize, u64), ProjectionError> {
        let limit = self.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if limit == 0 || limit > MAX_AUDIT_LIMIT {
            return Err(ProjectionError::InvalidLimit {
                limit,
                max: MAX_AUDIT_LIMIT,
            });
        }
        let after = match &self.cursor {
            None => 0,
            Some(c) => c
                .parse::<u64>()
                .map_err(|_| ProjectionError::InvalidCursor { cursor: c.clone() })?,
        };
        Ok((limit, after))
    }
}

/// Runs an audit query for `tenant`: over the tenant's entries in log order, or,
/// with a member or actor filter, over the positions the index holds for them.
pub(crate) fn query(
    store: &Store,
    index: &TenantIndex,
    query: &AuditQuery,
) -> Result<AuditPage, ProjectionError> {
    let (limit, after) = query.bounds()?;
    let tenant = index.tenant_id;
    let mut entries = Vec::new();
    let mut more = false;
    let mut consider = |position: u64, stored: StoredAudit| -> Result<bool, ProjectionError> {
        if !matches(&stored, query)? {
            return Ok(true);
        }
        if entries.len() == limit {
            more = true;
            return Ok(false);
        }
        entries.push(stored.entry(position)?);
        Ok(true)
    };
    // The narrowest list of positions the filters allow; the rest are checked
    // per entry.
    let listed = match (query.user, query.actor) {
        (Some(user), _) => Some(
            index
                .audit_by_target
                .get(&user)
                .cloned()
                .unwrap_or_default(),
        ),
        (None, Some(actor)) => Some(
            index
                .audit_by_actor
                .get(&actor)
                .cloned()
                .unwrap_or_default(),
        ),
        (None, None) => None,
    };
    match listed {
        Some(positions) => {
            for i in positions.first_after(after)..positions.len() {
                let Some(position) = positions.get(i) else {
                    break;
                };
                let Some(stored) = store.audit(tenant, position)? else {
                    continue;
                };
                if !consider(position, stored)? {
                    break;
                }
            }
        }
        None => {
            for item in store.audits(tenant, after.saturating_add(1)) {
                let (position, stored) = item?;
                if !consider(position, stored)? {
                    break;
                }
            }
        }
    }
    let next_cursor = match (more, entries.last()) {
        (true, Some(last)) => Some(last.position.to_string()),
        _ => None,
    };
    Ok(AuditPage {
        entries,
        next_cursor,
    })
}

fn matches(entry: &StoredAudit, query: &AuditQuery) -> Result<bool, ProjectionError> {
    let at = || {
        entry
            .occurred_at
            .time()
            .map_err(|e| ProjectionError::Corrupt {
                tree: crate::store::PROJECTIONS_TREE,
                key: "audit entry".to_owned(),
                message: e.to_string(),
            })
    };
    Ok(query.user.is_none_or(|u| entry.target() == Some(u))
        && query.actor.is_none_or(|a| entry.actor() == a)
        && query
            .event_type
            .as_deref()
            .is_none_or(|t| entry.event_type == t)
        && match query.from {
            Some(from) => at()? >= from,
            None => true,
        }
        && match query.to {
            Some(to) => at()? < to,
            None => true,
        })
}
