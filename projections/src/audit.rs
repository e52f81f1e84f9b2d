//! The audit history: one entry per event, with what changed and whose effective
//! access it changed; indexed by tenant+position, by target member and by actor.

use chrono::{DateTime, Utc};
use rollcall_events::{Actor, Envelope, Event, EventId, Permission, TenantId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ProjectionError;
use crate::store::{
    Store, ViewTree, actor_prefix, audit_key, decode, position_suffix, target_prefix,
};

pub const DEFAULT_AUDIT_LIMIT: usize = 100;
pub const MAX_AUDIT_LIMIT: usize = 1000;

/// One member whose effective permissions an event changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessDelta {
    pub user_id: UserId,
    pub display_name: String,
    pub gained: Vec<Permission>,
    pub lost: Vec<Permission>,
}

/// One event as the audit history tells it. Names are the names as of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub position: u64,
    pub tenant_seq: u64,
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub actor: Actor,
    pub actor_name: Option<String>,
    pub target: Option<UserId>,
    pub target_name: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub before: Value,
    pub after: Value,
    pub hash: String,
    pub prev_hash: String,
    pub access_delta: Vec<AccessDelta>,
}

/// Filters of an audit query; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// The member the event is about.
    pub user: Option<UserId>,
    pub actor: Option<Actor>,
    #[serde(rename = "type")]
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

/// One page of entries in log order, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// The audit entry of one decoded event.
pub(crate) fn audit_entry(
    envelope: &Envelope,
    actor_name: Option<String>,
    target_name: Option<String>,
    access_delta: Vec<AccessDelta>,
) -> AuditEntry {
    let (before, after) = change(&envelope.event);
    AuditEntry {
        position: envelope.position,
        tenant_seq: envelope.tenant_seq,
        event_id: envelope.event_id,
        event_type: envelope.type_name().to_owned(),
        actor: envelope.actor,
        actor_name,
        target: envelope.target(),
        target_name,
        occurred_at: envelope.occurred_at,
        reason: envelope.reason.clone(),
        before,
        after,
        hash: envelope.hash.clone(),
        prev_hash: envelope.prev_hash.clone(),
        access_delta,
    }
}

/// What an event changed, as (before, after). Invitation nonces are left out: they
/// are half of what mints an accept token.
fn change(event: &Event) -> (Value, Value) {
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
        Event::ProfileUpdated(e) => (
            serde_json::to_value(&e.from).unwrap_or_default(),
            serde_json::to_value(&e.to).unwrap_or_default(),
        ),
    }
}

/// Runs an audit query over the audit trees of `store`.
pub(crate) fn query(
    store: &Store,
    tenant: TenantId,
    query: &AuditQuery,
) -> Result<AuditPage, ProjectionError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
    if limit == 0 || limit > MAX_AUDIT_LIMIT {
        return Err(ProjectionError::InvalidLimit {
            limit,
            max: MAX_AUDIT_LIMIT,
        });
    }
    let after = match &query.cursor {
        None => 0,
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| ProjectionError::InvalidCursor { cursor: c.clone() })?,
    };
    // Walk the narrowest index the filters allow; the rest are checked per entry.
    let (tree, prefix) = match (query.user, query.actor) {
        (Some(user), _) => (ViewTree::AuditByTarget, target_prefix(tenant, user)),
        (None, Some(actor)) => (ViewTree::AuditByActor, actor_prefix(tenant, actor)),
        (None, None) => (ViewTree::Audit, tenant.0.as_bytes().to_vec()),
    };
    let mut start = prefix.clone();
    start.extend_from_slice(&after.saturating_add(1).to_be_bytes());
    let mut end = prefix.clone();
    end.extend_from_slice(&u64::MAX.to_be_bytes());

    let mut entries = Vec::new();
    let mut more = false;
    for kv in store.range(tree, &start, &end) {
        let (key, value) = kv?;
        let entry: AuditEntry = if tree == ViewTree::Audit {
            decode(ViewTree::Audit, &key, &value)?
        } else {
            let Some(position) = position_suffix(&key) else {
                continue;
            };
            let key = audit_key(tenant, position);
            match store.get(ViewTree::Audit, &key)? {
                Some(value) => decode(ViewTree::Audit, &key, &value)?,
                None => continue,
            }
        };
        if !matches(&entry, query) {
            continue;
        }
        if entries.len() == limit {
            more = true;
            break;
        }
        entries.push(entry);
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

fn matches(entry: &AuditEntry, query: &AuditQuery) -> bool {
    query.user.is_none_or(|u| entry.target == Some(u))
        && query.actor.is_none_or(|a| entry.actor == a)
        && query
            .event_type
            .as_deref()
            .is_none_or(|t| entry.event_type == t)
        && query.from.is_none_or(|from| entry.occurred_at >= from)
        && query.to.is_none_or(|to| entry.occurred_at < to)
}
