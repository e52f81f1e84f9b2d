//! Rebuild: the projections folded from the first event into a fresh directory,
//! with progress, so a changed projection is built side by side and switched over
//! rather than patched in place. The state hash it returns equals a live
//! instance's at the same position (views are byte-identical).

use std::path::Path;

use rollcall_log::EventLog;
use rollcall_projections::Projections;
use serde::Serialize;

use crate::error::ReplayError;

/// What a rebuild produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rebuilt {
    /// The last log position folded.
    pub position: u64,
    /// Records read from the log (events, and any record that is not one).
    pub events: u64,
    /// Events that could not be decoded and were quarantined, not folded.
    pub quarantined: usize,
    /// SHA-256 over every view, to compare with a live instance.
    pub state_hash: String,
}

/// Folds `log` from its first event into projections in `fresh_dir`, which must
/// not exist or be empty. `progress(done, total)` is called before the first batch
/// and after every batch with the position reached and the log's head (the head
/// when the rebuild started, or the position reached if the log grew meanwhile).
pub async fn rebuild(
    log: &dyn EventLog,
    fresh_dir: &Path,
    progress: impl Fn(u64, u64),
) -> Result<Rebuilt, ReplayError> {
    let occupied = match std::fs::read_dir(fresh_dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(ReplayError::Rebuild(format!(
                "{}: {e}",
                fresh_dir.display()
            )));
        }
    };
    if occupied {
        return Err(ReplayError::NotFresh {
            path: fresh_dir.display().to_string(),
        });
    }
    let db = sled::open(fresh_dir)
        .map_err(|e| ReplayError::Rebuild(format!("{}: {e}", fresh_dir.display())))?;
    let projections = Projections::open(db)?;
    let (reached, events) = projections.catch_up_with(log, progress).await?;
    projections.flush()?;
    Ok(Rebuilt {
        position: reached,
        events,
        quarantined: projections.quarantined()?.len(),
        state_hash: projections.state_hash()?,
    })
}
