//! The one error type of the replay library. Tampering is not an error: a verify
//! that finds it succeeded, and says so in its report.

use rollcall_events::DecodeError;
use rollcall_log::LogError;
use thiserror::Error;

use crate::checkpoint::CheckpointError;

#[derive(Debug, Error)]
pub enum ReplayError {
    /// Reading the log failed (unavailable, or a store error such as an entry that
    /// is not an envelope at all).
    #[error(transparent)]
    Log(#[from] LogError),
    /// An event this build cannot interpret, so a fold cannot go past it.
    #[error("event at position {position} cannot be decoded: {error}")]
    Decode { position: u64, error: DecodeError },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("snapshot store: {0}")]
    Snapshot(String),
    #[error(transparent)]
    Projection(#[from] rollcall_projections::ProjectionError),
    /// A rebuild goes into a fresh directory only, never over existing views.
    #[error("{path} is not empty; a rebuild needs a fresh directory")]
    NotFresh { path: String },
    #[error("rebuild: {0}")]
    Rebuild(String),
    /// The export's writer refused bytes (a closed pipe, a full disk).
    #[error("writing the export failed: {0}")]
    Write(String),
    /// A worker hashing events for verify ended without its answer.
    #[error("verify's hashing worker failed: {0}")]
    Worker(String),
}

impl From<csv::Error> for ReplayError {
    fn from(e: csv::Error) -> Self {
        ReplayError::Write(e.to_string())
    }
}

impl From<std::io::Error> for ReplayError {
    fn from(e: std::io::Error) -> Self {
        ReplayError::Write(e.to_string())
    }
}
