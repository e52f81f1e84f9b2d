//! Why a projection read or the projector failed.

use rollcall_log::LogError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProjectionError {
    #[error("the projection store failed: {0}")]
    Store(#[from] sled::Error),
    #[error("stored view `{key}` in `{tree}` is unreadable: {message}")]
    Corrupt {
        tree: &'static str,
        key: String,
        message: String,
    },
    #[error("the event log failed: {0}")]
    Log(#[from] LogError),
    #[error("cursor `{cursor}` is not one this API issued")]
    InvalidCursor { cursor: String },
    #[error("limit {limit} is outside 1..={max}")]
    InvalidLimit { limit: usize, max: usize },
    #[error("a projector is already running on these projections")]
    AlreadyRunning,
    #[error("a projection record cannot be encoded: {0}")]
    Encode(String),
    #[error("a batch could not be committed: {0}")]
    Commit(String),
}

/// `wait_for` gave up: the projections had not reached the wanted position in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("projections reached position {reached}, not {wanted}, before the timeout")]
pub struct WaitTimeout {
    pub wanted: u64,
    pub reached: u64,
}
