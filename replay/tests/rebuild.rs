//! Rebuild: the projections folded anew into a fresh directory equal those a live
//! projector built, with progress reported up to the head.

mod common;

use std::sync::Mutex;

use common::{TENANT, acme};
use pretty_assertions::assert_eq;
use rollcall_log::{EmbeddedLog, EventLog};
use rollcall_projections::Projections;
use rollcall_replay::{ReplayError, rebuild};

#[tokio::test]
async fn a_rebuild_equals_the_live_projections_and_reports_progress() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = EmbeddedLog::open(&dir.path().join("log")).expect("log");
    for e in acme().raw {
        log.append(TENANT, e.tenant_seq - 1, &e)
            .await
            .expect("append");
    }
    let live =
        Projections::open(sled::open(dir.path().join("live")).expect("sled")).expect("projections");
    live.catch_up(&log).await.expect("catch up");

    let seen = Mutex::new(Vec::new());
    let fresh = dir.path().join("fresh");
    let rebuilt = rebuild(&log, &fresh, |done, total| {
        seen.lock().expect("progress").push((done, total));
    })
    .await
    .expect("rebuild");

    assert_eq!(
        (rebuilt.position, rebuilt.events, rebuilt.quarantined),
        (10, 10, 0)
    );
    let live_hash = live.state_hash().expect("hash");
    assert_eq!(rebuilt.state_hash, live_hash);
    let seen = seen.into_inner().expect("progress");
    assert_eq!(seen.first(), Some(&(0, 10)));
    assert_eq!(seen.last(), Some(&(10, 10)));

    // The views are really there: open them again and ask.
    let reopened = Projections::open(rollcall_tests::open_sled(&fresh)).expect("projections");
    assert_eq!(reopened.state_hash().expect("hash"), live_hash);
    assert_eq!(reopened.users(TENANT, None).expect("tenant").users.len(), 4);
}

#[tokio::test]
async fn a_rebuild_never_writes_over_an_existing_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = EmbeddedLog::open(&dir.path().join("log")).expect("log");
    std::fs::write(dir.path().join("keep.txt"), "mine").expect("write");
    let err = rebuild(&log, dir.path(), |_, _| {}).await;
    assert!(matches!(err, Err(ReplayError::NotFresh { .. })), "{err:?}");
    assert_eq!(log.head().await.expect("head"), 0);
}
