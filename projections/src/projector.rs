//! The projector task: from the checkpoint, catch up, go live; each batch of events
//! and its checkpoint are committed in one sled transaction.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::ProjectionError;

/// Most events folded into one committed batch.
pub const MAX_BATCH: usize = 512;

/// The running projector. `stop().await` lets it finish the batch at hand and exit.
pub struct ProjectorHandle {
    pub(crate) stop: Option<oneshot::Sender<()>>,
    pub(crate) task: JoinHandle<Result<(), ProjectionError>>,
}

impl ProjectorHandle {
    /// Stops cleanly after the batch in progress; returns how the task ended.
    pub async fn stop(mut self) -> Result<(), ProjectionError> {
        todo!()
    }

    /// Kills the task at its next await point, as a crash would (tests).
    pub fn abort(self) {
        self.task.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}
