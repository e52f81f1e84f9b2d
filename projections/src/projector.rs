//! The projector task: from the checkpoint, catch up, go live. Each batch (up to
//! [`MAX_BATCH`] events, or whatever is ready) is committed with its checkpoint in
//! one atomic sled batch, so stopping or crashing between batches loses nothing
//! and applies nothing twice.

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use rollcall_events::RawEnvelope;
use rollcall_log::{EventLog, LogError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ProjectionError;
use crate::projections::{Pipeline, Projections};

/// Most events folded into one committed batch. Live, a batch is whatever is
/// ready (often one event); catching up, every read is ready, so batches grow to
/// this and each member and team record is written once per batch.
pub const MAX_BATCH: usize = 4096;

/// How often a long catch-up reports how far it got.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Wait before retrying after the log or the store failed.
const RETRY: Duration = Duration::from_millis(250);

/// The running projector. `stop().await` lets it finish the batch at hand and exit.
pub struct ProjectorHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ProjectionError>>,
}

impl ProjectorHandle {
    /// Stops cleanly after the batch in progress; returns how the task ended.
    pub async fn stop(mut self) -> Result<(), ProjectionError> {
        self.stop.send_replace(true);
        match (&mut self.task).await {
            Ok(result) => result,
            // Only an abort or a panic gets here; report it as a stop.
            Err(_) => Ok(()),
        }
    }

    /// Kills the task at its next await point, as a crash would (tests).
    pub fn abort(self) {
        self.task.abort();
    }

    /// Kills the task as [`abort`](Self::abort) does, and waits until it is gone.
    pub async fn kill(self) {
        self.task.abort();
        // The abort's own JoinError is the expected outcome.
        let _ = self.task.await;
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

pub(crate) fn spawn(projections: Projections, log: Arc<dyn EventLog>) -> ProjectorHandle {
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        // Released on every way out, aborts included (the guard drops with the future).
        let _claim = projections.claim()?;
        run(&projections, log.as_ref(), stop_rx).await;
        projections.flush()
    });
    ProjectorHandle {
        stop: stop_tx,
        task,
    }
}

/// Runs until told to stop. Failures of the log or the store are logged and
/// retried from the last committed position; nothing here ends the task but `stop`.
async fn run(projections: &Projections, log: &dyn EventLog, mut stop: watch::Receiver<bool>) {
    let target = loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            head = log.head() => match head {
                Ok(head) => break head,
                Err(error) => {
                    tracing::warn!(%error, "event log head unavailable; retrying");
                    if pause(&mut stop).await { return; }
                }
            }
        }
    };
    projections.catch_up_to(target);
    if projections.rebuilding() {
        tracing::info!(
            head = target,
            "the projections were of another schema version: rebuilding them from the log"
        );
    }
    let mut reported = std::time::Instant::now();
    // Dropped on every way out, which commits the batch it holds.
    let mut pipeline = Pipeline::new(projections.clone());
    loop {
        // What is held is committed before the log is subscribed to again (which
        // may take a while when the log is down).
        if let Err(error) = pipeline.wait() {
            tracing::error!(%error, "projection batch not committed; retrying");
            if pause(&mut stop).await {
                return;
            }
            continue;
        }
        let from = projections.position().saturating_add(1);
        let mut stream = tokio::select! {
            _ = stopped(&mut stop) => return,
            stream = log.subscribe(from) => match stream {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%error, from, "cannot subscribe to the event log; retrying");
                    if pause(&mut stop).await { return; }
                    continue;
                }
            }
        };
        loop {
            let first = match stream.next().now_or_never() {
                Some(item) => item,
                None => {
                    // Nothing ready: a batch held to commit beside the next one
                    // is committed now, so it is published before the wait.
                    if let Err(error) = pipeline.wait() {
                        tracing::error!(%error, "projection batch not committed; retrying");
                        if pause(&mut stop).await {
                            return;
                        }
                        break;
                    }
                    tokio::select! {
                        _ = stopped(&mut stop) => return,
                        item = stream.next() => item,
                    }
                }
            };
            let mut failed = None;
            let mut batch: Vec<RawEnvelope> = Vec::new();
            match first {
                None => break,
                Some(Ok(raw)) => batch.push(raw),
                Some(Err(error)) => failed = Some(error),
            }
            // Take whatever else is ready, without waiting for more.
            while failed.is_none() && batch.len() < MAX_BATCH {
                match stream.next().now_or_never() {
                    Some(Some(Ok(raw))) => batch.push(raw),
                    Some(Some(Err(error))) => failed = Some(error),
                    Some(None) | None => break,
                }
            }
            // A full batch is held to commit while the next one folds (or before
            // the loop waits for more); any other commits now.
            let full = batch.len() == MAX_BATCH;
            let mut applied = pipeline.apply(batch);
            if !full || failed.is_some() {
                applied = applied.and_then(|_| pipeline.wait());
            }
            // A record that is not an event: quarantined, and the stream goes on.
            if let (Ok(_), Some(LogError::Undecodable { position, error })) = (&applied, &failed) {
                applied = pipeline.skip_undecodable(*position, error);
                failed = None;
            }
            if let Err(error) = &applied {
                tracing::error!(%error, "projection batch not committed; retrying");
            }
            if !projections.caught_up() && reported.elapsed() >= PROGRESS_EVERY {
                reported = std::time::Instant::now();
                tracing::info!(
                    position = projections.position(),
                    head = target,
                    "projections catching up with the log"
                );
            }
            if let Some(error) = &failed {
                tracing::warn!(%error, "event log stream failed; resubscribing");
            }
            if failed.is_some() || applied.is_err() {
                if pause(&mut stop).await {
                    return;
                }
                break;
            }
        }
    }
}

/// Sleeps [`RETRY`]; true when told to stop meanwhile.
async fn pause(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = stopped(stop) => true,
        _ = tokio::time::sleep(RETRY) => false,
    }
}

/// Resolves once `stop()` was called. Dropping the handle without calling it leaves
/// the projector running (detached), as dropping a `JoinHandle` does.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}
