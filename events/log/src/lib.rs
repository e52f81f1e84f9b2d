//! The event log: one trait, two backends (embedded sled, NATS JetStream), one
//! conformance suite.
//!
//! Positions are the log's global sequence (1, 2, 3…). A tenant's events carry
//! `tenant_seq` 1, 2, 3…; `append` takes the sequence the caller last saw for the
//! tenant (0 for a new tenant) and fails with [`LogError::Conflict`] when the tenant
//! has moved on. Appending an `event_id` that is already stored returns the first
//! position and writes nothing; the event id is checked before the sequence, so a
//! retry finds its first answer even after the tenant has moved on.
//!
//! An acknowledged append is durable (embedded: flushed to disk; JetStream: stored
//! by the server). Events are stored as [`RawEnvelope::to_json_bytes`] and read back
//! byte for byte, so the hash chain verifies over exactly what was written.
//! [`LogError::Unavailable`] means "try again later": the log was not reached, so
//! nothing was written. [`LogError::OutcomeUnknown`] means the append was sent but
//! never confirmed (its acknowledgement timed out or the connection broke): it may
//! have landed, or may still land. Retrying the same event is always safe; a retry
//! decided anew must read the tenant first, and the expected sequence makes the
//! two attempts compete for one place, so at most one of them is stored.
//!
//! The conformance suite lives in the `rollcall-tests` crate
//! (`log_conformance`); every backend must pass all of it.

use async_trait::async_trait;
use futures::stream::BoxStream;
use thiserror::Error;

use rollcall_events::RawEnvelope;
use rollcall_events::TenantId;

pub mod embedded;
pub mod jetstream;

pub use embedded::EmbeddedLog;
pub use jetstream::{JetStreamConfig, JetStreamLog};

/// Result of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub position: u64,
    /// True when the event id was already stored: nothing was written.
    pub duplicate: bool,
}

/// The ways an append or read can fail, kept apart all the way to the HTTP
/// answer: a conflict is retried, an unavailable store is retried later (503), an
/// unconfirmed append is retried with the same idempotency key (503), a store
/// error is a bug or corruption (500).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogError {
    #[error("tenant {tenant} is at sequence {actual}, the append expected {expected}")]
    Conflict {
        tenant: TenantId,
        expected: u64,
        actual: u64,
    },
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    /// The append was sent and not confirmed; it may or may not be stored.
    #[error("the event log did not confirm the append: {0}")]
    OutcomeUnknown(String),
    #[error("the event log failed: {0}")]
    Store(String),
    #[error("the event does not fit the append: {0}")]
    Invalid(String),
    /// A stored record that is not an event envelope at all (damaged, or written
    /// by something else). Reads and subscriptions yield it in the record's place
    /// and go on with the next record, so a consumer can note it and move past.
    #[error("the record at position {position} is not an event: {error}")]
    Undecodable { position: u64, error: String },
}

pub type EventStream = BoxStream<'static, Result<RawEnvelope, LogError>>;

#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Appends `event` (with `tenant_seq == expected_tenant_seq + 1`) to `tenant`'s stream.
    async fn append(
        &self,
        tenant: TenantId,
        expected_tenant_seq: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError>;

    /// Every event with `position >= from_position`, in order, up to the head at the
    /// time of the call; the stream ends there.
    async fn read(&self, from_position: u64) -> Result<EventStream, LogError>;

    /// One tenant's events with `tenant_seq >= from_seq`, in order; ends at its head.
    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError>;

    /// Like `read`, but never ends: after catching up it yields new events as they
    /// are appended, with no gap and no repeat at the switch. A JetStream
    /// subscription rides out server restarts by itself; an embedded one ends only
    /// when its log is dropped.
    async fn subscribe(&self, from_position: u64) -> Result<EventStream, LogError>;

    /// Position of the newest event (0 when empty).
    async fn head(&self) -> Result<u64, LogError>;

    /// The tenant's newest `tenant_seq` (0 when the tenant has no events).
    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError>;

    /// Why the log cannot be reached right now, when the backend knows it without
    /// a round trip (a client whose connection is down); `None` when it may be.
    fn unreachable(&self) -> Option<String> {
        None
    }
}

/// The checks every backend makes before touching its store: the event belongs to
/// the tenant it is appended to and is the next one after the expected sequence.
pub(crate) fn check_fits(
    tenant: TenantId,
    expected_tenant_seq: u64,
    event: &RawEnvelope,
) -> Result<(), LogError> {
    if event.tenant_id != tenant {
        return Err(LogError::Invalid(format!(
            "event {} belongs to tenant {}, not {tenant}",
            event.event_id, event.tenant_id
        )));
    }
    if event.tenant_seq != expected_tenant_seq.saturating_add(1) {
        return Err(LogError::Invalid(format!(
            "event {} has tenant_seq {}, the append expected {}",
            event.event_id,
            event.tenant_seq,
            expected_tenant_seq.saturating_add(1)
        )));
    }
    Ok(())
}
