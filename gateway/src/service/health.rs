//! What the command service knows of the log's health, so that commands fail fast
//! during an outage instead of each waiting out the log's timeout.
//!
//! An append or read that finds the log unreachable (or an append it never
//! confirmed) marks the log down. While it is down, commands are answered 503 at
//! once, without a round trip and without queueing on a tenant's lock; one probe
//! task asks the log for its head every [`PROBE_INTERVAL`] and marks it up again
//! on the first answer. A backend that knows without a round trip that it is cut
//! off ([`EventLog::unreachable`]) is believed at once too.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rollcall_log::EventLog;

/// Pause between two probes of a log marked down.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// Longest one probe waits for the log's answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Down {
    since: Instant,
    cause: String,
}

/// Up, or down since when and why. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogHealth {
    down: Arc<Mutex<Option<Down>>>,
}

impl LogHealth {
    /// Why the log is known down right now, if it is.
    pub fn down(&self, log: &dyn EventLog) -> Option<String> {
        if let Some(cause) = log.unreachable() {
            return Some(cause);
        }
        let down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        down.as_ref()
            .map(|d| format!("down for {} ms: {}", d.since.elapsed().as_millis(), d.cause))
    }

    /// Marks the log down and, unless a probe already runs, starts one that marks
    /// it up again once the log answers.
    pub fn mark_down(&self, log: Arc<dyn EventLog>, cause: &str) {
        {
            let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
            if down.is_some() {
                return;
            }
            *down = Some(Down {
                since: Instant::now(),
                cause: cause.to_owned(),
            });
        }
        tracing::warn!(
            cause,
            "the event log is down; commands answer 503 until it is back"
        );
        metrics::gauge!("rollcall_log_down").set(1.0);
        let health = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_INTERVAL).await;
                if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, log.head()).await {
                    break;
                }
            }
            let mut down = health.down.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(d) = down.take() {
                tracing::info!(
                    down_ms = d.since.elapsed().as_millis() as u64,
                    "the event log answers again"
                );
            }
            metrics::gauge!("rollcall_log_down").set(0.0);
        });
    }
}
