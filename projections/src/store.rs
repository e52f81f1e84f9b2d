//! The sled layout: tree names (each with its version), keys, and the writes
//! reducers return.

use rollcall_events::{EventId, TenantId};
use serde::{Deserialize, Serialize};

/// The trees the projections own. The log may live in other trees of the same Db.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViewTree {
    /// Tenant rows, catalogs and member views (the team pages).
    TeamViews,
    /// Each tenant's `Team` state, so memory can be rebuilt on open without the log.
    TeamState,
    /// Audit entries by tenant ‖ position.
    Audit,
    /// Audit index by tenant ‖ target ‖ position.
    AuditByTarget,
    /// Audit index by tenant ‖ actor ‖ position.
    AuditByActor,
    /// Events that could not be decoded, by position.
    Quarantine,
}

/// One change a reducer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put {
        tree: ViewTree,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        tree: ViewTree,
        key: Vec<u8>,
    },
}

/// An event the projector could not decode and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub position: u64,
    pub tenant_id: TenantId,
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub error: String,
}
