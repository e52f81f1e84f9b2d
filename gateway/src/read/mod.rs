//! The read side as the gateway sees it: a position that only grows, a bounded
//! wait for it (read your writes), and the query answers. The trait keeps handlers
//! independent of which read model serves them.

mod memory;

use std::time::Duration;

use async_trait::async_trait;
use rollcall_aggregates::{CheckOutcome, CheckRequest, MemberStatus};
use rollcall_events::{TenantId, UserId};
use thiserror::Error;

pub use memory::MemoryReadModel;

use crate::views::{AuditPage, AuditQuery, CatalogView, UserDetail, UserList};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    #[error("the read model is unavailable: {0}")]
    Unavailable(String),
    #[error("the read model failed: {0}")]
    Store(String),
}

/// Queries answer `Ok(None)` for a tenant (or user) the read model does not know.
#[async_trait]
pub trait ReadModel: Send + Sync + 'static {
    /// Position of the last event folded (0 before any).
    fn position(&self) -> u64;

    /// Waits until `position()` reaches `position`; false when `timeout` ran out first.
    async fn wait_for(&self, position: u64, timeout: Duration) -> bool;

    async fn users(
        &self,
        tenant: TenantId,
        status: Option<MemberStatus>,
    ) -> Result<Option<UserList>, ReadError>;

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserDetail>, ReadError>;

    async fn catalog(&self, tenant: TenantId) -> Result<Option<CatalogView>, ReadError>;

    async fn check(
        &self,
        tenant: TenantId,
        request: &CheckRequest,
    ) -> Result<Option<CheckOutcome>, ReadError>;

    async fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Option<AuditPage>, ReadError>;
}
