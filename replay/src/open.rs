//! Opening the log the way `rollcall serve` does, with the checkpoint store that
//! goes with it: the one place the server and the `replay` CLI agree on the data
//! dir's layout.
//!
//! - embedded: the sled database `<data-dir>/log` holds the log's trees, and the
//!   `checkpoints.v1` and `snapshots.v1` trees beside them;
//! - JetStream: the event stream at the URL, checkpoints in `ROLLCALL_CHECKPOINTS`,
//!   snapshots in memory (the data dir holds only the gateway's projections).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollcall_log::jetstream::{JetStreamConfig, JetStreamLog};
use rollcall_log::{EventLog, LogError, embedded::EmbeddedLog};

use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::identity::LogIdentity;
use crate::snapshot::SnapshotStore;

/// Snapshots every this many events of a tenant.
pub const SNAPSHOT_EVERY: u64 = 1000;

/// Page cache of the embedded log for the `replay` CLI. Its commands read the
/// trail once, front to back, where a cache does not help; sled's default (1 GiB)
/// would grow with the trail and make a long export look like it held the trail.
/// 8 MiB exports as fast as 64 MiB did, with a peak 23 MiB lower at 200,000
/// events (the `as_of` bench).
pub const REPLAY_CACHE_BYTES: u64 = 8 << 20;

/// Where the log is.
#[derive(Debug, Clone)]
pub struct LogLocation {
    pub data_dir: PathBuf,
    pub nats_url: Option<String>,
    /// Replicas of the streams: created with this many (1 when `None`); given, an
    /// existing stream with another count is refused.
    pub nats_replicas: Option<usize>,
    /// The embedded log's page cache in bytes; `None` keeps sled's default.
    pub cache_bytes: Option<u64>,
    /// Bound on every JetStream request and publish acknowledgement; `None` keeps
    /// [`JetStreamConfig`]'s default (5 s).
    pub nats_timeout: Option<std::time::Duration>,
}

impl LogLocation {
    /// The embedded log's sled database.
    pub fn embedded_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("log")
    }
}

/// An open log with its checkpoint and snapshot stores.
pub struct OpenedLog {
    pub log: Arc<dyn EventLog>,
    pub checkpoints: CheckpointStore,
    pub snapshots: SnapshotStore,
    /// Which log it is, as a data dir records it ([`crate::identity`]).
    pub identity: LogIdentity,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the event log: {0}")]
    Log(#[from] LogError),
    #[error("cannot open the checkpoint store: {0}")]
    Checkpoints(#[from] CheckpointError),
    #[error("cannot open the snapshot store: {0}")]
    Snapshots(String),
}

/// Opens the log at `location` and the stores beside it.
pub async fn open_log(location: &LogLocation) -> Result<OpenedLog, OpenError> {
    match &location.nats_url {
        Some(url) => {
            let mut config = JetStreamConfig {
                url: url.clone(),
                replicas: location.nats_replicas,
                ..JetStreamConfig::default()
            };
            if let Some(timeout) = location.nats_timeout {
                config.request_timeout = timeout;
            }
            let log = JetStreamLog::connect(config).await?;
            let checkpoints =
                CheckpointStore::jetstream(log.client(), location.nats_replicas).await?;
            let identity = LogIdentity::JetStream {
                stream: log.config().stream.clone(),
                created: log.stream_created().await?,
            };
            Ok(OpenedLog {
                log: Arc::new(log),
                checkpoints,
                snapshots: SnapshotStore::in_memory(SNAPSHOT_EVERY),
                identity,
            })
        }
        None => {
            let dir = LogLocation::embedded_dir(&location.data_dir);
            let mut config = sled::Config::new().path(&dir);
            if let Some(bytes) = location.cache_bytes {
                config = config.cache_capacity(bytes);
            }
            let db = config
                .open()
                .map_err(|e| LogError::Store(format!("cannot open {}: {e}", dir.display())))?;
            let log = EmbeddedLog::from_db(db.clone())?;
            let checkpoints = CheckpointStore::sled(&db)?;
            let snapshots = SnapshotStore::open(&db, SNAPSHOT_EVERY)
                .map_err(|e| OpenError::Snapshots(e.to_string()))?;
            Ok(OpenedLog {
                log: Arc::new(log),
                checkpoints,
                snapshots,
                identity: LogIdentity::Embedded,
            })
        }
    }
}
