//! The audit history: one entry per event, with what changed and whose effective
//! access it changed; indexed by tenant+position, by target member and by actor.

use chrono::{DateTime, Utc};
use rollcall_events::{Actor, EventId, Permission, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
