//! Shared test helpers: a private nats-server per test, the real `rollcall` binary
//! as a child process, and the event log's conformance suite that every backend runs.

pub mod cluster;
pub mod flaky;
pub mod log_conformance;
pub mod nats;
pub mod server;

pub use cluster::NatsCluster;
pub use flaky::FlakySubscribe;
pub use nats::NatsServer;
pub use server::{RollcallServer, ServerOptions};

use std::path::Path;
use std::time::{Duration, Instant};

/// Appends `events` in order, each at its tenant's next sequence; returns the last
/// position the log assigned.
pub async fn append_all(
    log: &dyn rollcall_log::EventLog,
    events: &[rollcall_events::RawEnvelope],
) -> u64 {
    let mut last = 0;
    for raw in events {
        last = log
            .append(raw.tenant_id, raw.tenant_seq - 1, raw)
            .await
            .expect("append")
            .position;
    }
    last
}

/// Overwrites the record at `position` of the embedded log kept in `db` with
/// bytes that are not an event envelope, as damage to the store would.
pub fn overwrite_with_not_an_event(db: &sled::Db, position: u64) {
    db.open_tree("log.events")
        .expect("events tree")
        .insert(position.to_be_bytes(), &b"{\"not\": \"an envelope\"}"[..])
        .expect("overwrite");
}

/// Opens the sled database at `path`, waiting up to ten seconds for its file lock.
/// A handle closed a moment ago may still hold the lock: sled's background I/O
/// threads let go of the file only when they finish. A process that exits releases
/// it at once, so this is what a restart sees.
pub fn open_sled(path: &Path) -> sled::Db {
    let started = Instant::now();
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open sled at {}: {e}", path.display()),
        }
    }
}
