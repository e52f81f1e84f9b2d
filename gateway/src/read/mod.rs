//! The read side as the gateway sees it: a position that only grows, a bounded
//! wait for it (read your writes), and the query answers in the HTTP contract's
//! shapes. Handlers depend on this trait, not on the store behind it.

mod projections;

use std::time::Duration;

use async_trait::async_trait;
use rollcall_aggregates::{CheckOutcome, CheckRequest, MemberStatus};
use rollcall_events::{TenantId, UserId};
use thiserror::Error;

pub use projections::ProjectionsRead;

use crate::views::{
    AuditPage, AuditQuery, CatalogAnswer, Membership, PlatformsAnswer, UserDetail, UserList,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    /// The request cannot be answered as asked (a bad cursor or limit).
    #[error("{0}")]
    Invalid(String),
    #[error("the read model is unavailable: {0}")]
    Unavailable(String),
    #[error("the read model failed: {0}")]
    Store(String),
}

/// Queries answer `Ok(None)` for a tenant (or user) the read side does not know.
#[async_trait]
pub trait ReadModel: Send + Sync + 'static {
    /// Position of the last event folded (0 before any).
    fn position(&self) -> u64;

    /// Has the read side reached the log head it saw when it started?
    fn caught_up(&self) -> bool;

    /// How many records of the log the read side quarantined instead of folding.
    fn quarantined(&self) -> u64 {
        0
    }

    /// Waits until `position()` reaches `position`; false when `timeout` ran out first.
    async fn wait_for(&self, position: u64, timeout: Duration) -> bool;

    async fn users(
        &self,
        tenant: TenantId,
        status: Option<MemberStatus>,
    ) -> Result<Option<UserList>, ReadError>;

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserDetail>, ReadError>;

    async fn catalog(&self, tenant: TenantId) -> Result<Option<CatalogAnswer>, ReadError>;

    async fn check(
        &self,
        tenant: TenantId,
        request: &CheckRequest,
    ) -> Result<Option<CheckOutcome>, ReadError>;

    async fn platforms(&self, tenant: TenantId) -> Result<Option<PlatformsAnswer>, ReadError>;

    async fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Option<AuditPage>, ReadError>;

    /// Every tenant's member holding this email (normalised): one person across
    /// accounts, for the operator's sign-in flow.
    async fn memberships(&self, email: &str) -> Result<Vec<Membership>, ReadError>;
}
