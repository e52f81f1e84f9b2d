//! What can go wrong executing a command, kept apart the way the HTTP answer needs
//! it: a rejection by the rules (4xx), a conflict that survived every retry (409),
//! an unavailable log (503, try later), an append of unknown outcome (503, retry
//! with the same key) and a store failure (500).

use rollcall_aggregates::DomainError;
use rollcall_events::TenantId;
use rollcall_log::LogError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ServiceError {
    /// The rules refuse the command; nothing was written.
    #[error(transparent)]
    Rejected(#[from] DomainError),
    /// An `Idempotency-Key` came back with a different request.
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    /// Other writers kept moving the tenant on; every retry lost the race.
    #[error("tenant {tenant} kept changing; gave up after {attempts} attempts")]
    Conflict { tenant: TenantId, attempts: u32 },
    /// The log cannot be reached right now; nothing was written.
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    /// The append was sent and never confirmed: it may have been written. A retry
    /// with the same idempotency key finds it, or appends it once.
    #[error("the event log did not confirm the append: {0}")]
    OutcomeUnknown(String),
    /// The log failed or holds something this build cannot read.
    #[error("the event store failed: {0}")]
    Store(String),
}

impl ServiceError {
    /// Stable name of the outcome, for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            ServiceError::Rejected(_) | ServiceError::IdempotencyKeyReused => "rejected",
            ServiceError::Conflict { .. } => "conflict",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::OutcomeUnknown(_) => "unknown",
            ServiceError::Store(_) => "error",
        }
    }
}

impl From<LogError> for ServiceError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Conflict { tenant, .. } => ServiceError::Conflict {
                tenant,
                attempts: 1,
            },
            LogError::Unavailable(m) => ServiceError::Unavailable(m),
            LogError::OutcomeUnknown(m) => ServiceError::OutcomeUnknown(m),
            LogError::Store(m) | LogError::Invalid(m) => ServiceError::Store(m),
            e @ LogError::Undecodable { .. } => ServiceError::Store(e.to_string()),
        }
    }
}
