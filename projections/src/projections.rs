//! [`Projections`]: the handle every reader holds (cheap to clone).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rollcall_aggregates::{CheckOutcome, CheckRequest, Effective, MemberStatus, Team};
use rollcall_events::{EventLog, TenantId, UserId};

use crate::audit::{AuditPage, AuditQuery};
use crate::error::{ProjectionError, WaitTimeout};
use crate::projector::ProjectorHandle;
use crate::store::Quarantined;
use crate::views::{CatalogView, MemberView, UserView};

/// The read side. Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct Projections {
    inner: Arc<Inner>,
}

struct Inner {}

impl Projections {
    /// Opens (or creates) the projection trees in `db` and rebuilds memory from them.
    pub fn open(db: sled::Db) -> Result<Self, ProjectionError> {
        todo!()
    }

    /// Starts the projector: from the checkpoint, catch up, then follow the log live.
    pub fn spawn(&self, log: Arc<dyn EventLog>) -> ProjectorHandle {
        todo!()
    }

    /// Folds everything up to the log's current head, then returns the position
    /// reached (rebuilds, tools and benchmarks; no live follow).
    pub async fn catch_up(&self, log: &dyn EventLog) -> Result<u64, ProjectionError> {
        todo!()
    }

    /// The last log position applied (0 before any).
    pub fn position(&self) -> u64 {
        todo!()
    }

    /// Read your writes: waits until `position` is applied, at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, WaitTimeout> {
        todo!()
    }

    /// Has the projector reached the log head it saw when it started?
    pub fn caught_up(&self) -> bool {
        todo!()
    }

    pub fn team(&self, tenant: TenantId) -> Option<Arc<Team>> {
        todo!()
    }

    /// A member's resolved effective permissions, from memory.
    pub fn effective(&self, tenant: TenantId, user: UserId) -> Option<Arc<Effective>> {
        todo!()
    }

    pub fn tenants(&self) -> Vec<TenantId> {
        todo!()
    }

    /// The team list, ordered by user id, optionally of one status.
    pub fn users(&self, tenant: TenantId, status: Option<MemberStatus>) -> Vec<UserView> {
        todo!()
    }

    pub fn user(&self, tenant: TenantId, user: UserId) -> Option<MemberView> {
        todo!()
    }

    pub fn catalog(&self, tenant: TenantId) -> Option<CatalogView> {
        todo!()
    }

    /// The check, from memory; the same answer as `aggregates::check` on the Team.
    pub fn check(&self, tenant: TenantId, request: &CheckRequest) -> CheckOutcome {
        todo!()
    }

    pub fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<AuditPage, ProjectionError> {
        todo!()
    }

    /// Billable platform → active members holding any permission of its areas.
    pub fn platforms(&self, tenant: TenantId) -> BTreeMap<String, usize> {
        todo!()
    }

    pub fn quarantined(&self) -> Vec<Quarantined> {
        todo!()
    }

    /// SHA-256 over every view tree's (key, value) pairs in order; the checkpoint is
    /// left out, so a rebuild and a live instance at the same position agree.
    pub fn state_hash(&self) -> String {
        todo!()
    }
}
