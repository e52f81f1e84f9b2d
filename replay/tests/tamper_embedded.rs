//! Tampering with a real embedded log: each case writes Acme's morning through
//! `EmbeddedLog::append`, then rewrites the sled trees directly (as someone with
//! the data dir could) and checks verify names what was done.

mod common;

use chrono::{DateTime, Utc};
use common::{TENANT, acme, at};
use pretty_assertions::assert_eq;
use rollcall_events::RawEnvelope;
use rollcall_log::{EmbeddedLog, EventLog, LogError};
use rollcall_replay::{
    CheckpointSigner, ReplayError, SignedCheckpoint, TamperKind, VerifyReport, verify, verify_log,
};

const EVENTS_TREE: &str = "log.events";
const TENANTS_TREE: &str = "log.tenants";

struct Fixture {
    _dir: tempfile::TempDir,
    db: sled::Db,
    stored: Vec<RawEnvelope>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let log = EmbeddedLog::from_db(db.clone()).expect("log");
    let mut stored = Vec::new();
    for e in acme().raw {
        let appended = log
            .append(TENANT, e.tenant_seq - 1, &e)
            .await
            .expect("append");
        stored.push(RawEnvelope {
            position: appended.position,
            ..e
        });
    }
    Fixture {
        _dir: dir,
        db,
        stored,
    }
}

impl Fixture {
    fn events(&self) -> sled::Tree {
        self.db.open_tree(EVENTS_TREE).expect("events tree")
    }

    fn tenants(&self) -> sled::Tree {
        self.db.open_tree(TENANTS_TREE).expect("tenants tree")
    }

    fn stored_at(&self, position: u64) -> RawEnvelope {
        let bytes = self
            .events()
            .get(position.to_be_bytes())
            .expect("get")
            .expect("present");
        RawEnvelope::from_json_bytes(&bytes).expect("envelope")
    }

    fn put(&self, position: u64, e: &RawEnvelope) {
        self.events()
            .insert(position.to_be_bytes(), e.to_json_bytes())
            .expect("insert");
    }

    fn remove(&self, position: u64, seq: u64) {
        self.events()
            .remove(position.to_be_bytes())
            .expect("remove");
        let mut key = TENANT.as_uuid().as_bytes().to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        self.tenants().remove(key).expect("remove index");
    }

    /// Verifies through a freshly opened log (its head is read at open), over the
    /// whole log and over the tenant's own read, which must agree.
    async fn verify(&self, checkpoint: Option<&SignedCheckpoint>) -> VerifyReport {
        self.db.flush().expect("flush");
        let log = EmbeddedLog::from_db(self.db.clone()).expect("reopen");
        let all = verify(log.read(0).await.expect("read"), None, checkpoint)
            .await
            .expect("verify");
        let one = verify(
            log.read_tenant(TENANT, 1).await.expect("read tenant"),
            Some(TENANT),
            checkpoint,
        )
        .await
        .expect("verify tenant");
        assert_eq!(all, one, "the global and the tenant read disagree");
        all
    }

    fn checkpoint(&self, when: DateTime<Utc>) -> SignedCheckpoint {
        let head = self.stored.last().expect("events");
        CheckpointSigner::from_secret([9; 32]).sign(TENANT, head.tenant_seq, &head.hash, when)
    }
}

fn first(report: &VerifyReport) -> (u64, TamperKind) {
    assert_eq!(report.tampering.len(), 1, "{:#?}", report.tampering);
    (
        report.tampering[0].position,
        report.tampering[0].kind.clone(),
    )
}

#[tokio::test]
async fn an_untouched_embedded_log_verifies_against_its_checkpoint() {
    let f = fixture().await;
    let report = f.verify(Some(&f.checkpoint(at(12, 5)))).await;
    assert!(report.is_intact(), "{:#?}", report.tampering);
    assert_eq!(report.checkpoints_confirmed.len(), 1);
}

#[tokio::test]
async fn altered_data_in_the_tree_is_a_hash_mismatch() {
    let f = fixture().await;
    let mut e = f.stored_at(6);
    e.data["to"] = serde_json::json!("deny");
    f.put(6, &e);
    let (position, kind) = first(&f.verify(None).await);
    assert_eq!(position, 6);
    assert!(matches!(kind, TamperKind::HashMismatch { .. }), "{kind:?}");
}

#[tokio::test]
async fn a_removed_event_is_a_broken_link() {
    let f = fixture().await;
    f.remove(4, 4);
    let (position, kind) = first(&f.verify(None).await);
    assert_eq!(position, 5);
    assert!(
        matches!(
            kind,
            TamperKind::BrokenLink {
                expected_seq: 4,
                found_seq: 5,
                ..
            }
        ),
        "{kind:?}"
    );
}

#[tokio::test]
async fn a_removed_event_whose_index_was_left_behind_is_still_reported() {
    let f = fixture().await;
    f.events().remove(4u64.to_be_bytes()).expect("remove");
    f.db.flush().expect("flush");
    let log = EmbeddedLog::from_db(f.db.clone()).expect("reopen");
    let report = verify_log(&log, Some(TENANT), None).await.expect("verify");
    let (position, kind) = first(&report);
    assert_eq!(position, 5);
    assert!(
        matches!(
            kind,
            TamperKind::BrokenLink {
                expected_seq: 4,
                found_seq: 5,
                ..
            }
        ),
        "{kind:?}"
    );
}

#[tokio::test]
async fn two_reordered_events_are_a_broken_link() {
    let f = fixture().await;
    let (a, b) = (f.stored_at(4), f.stored_at(5));
    f.put(4, &b);
    f.put(5, &a);
    let (position, kind) = first(&f.verify(None).await);
    assert_eq!(position, 4);
    assert!(
        matches!(
            kind,
            TamperKind::BrokenLink {
                expected_seq: 4,
                found_seq: 5,
                ..
            }
        ),
        "{kind:?}"
    );
}

#[tokio::test]
async fn a_forged_event_inserted_with_a_recomputed_hash_breaks_the_next_link() {
    let f = fixture().await;
    // Make room at position 5 by moving every later event up one position, then
    // slip in a forgery that links to event 4 and carries a valid hash.
    for p in (5..=10).rev() {
        let e = f.stored_at(p);
        f.put(p + 1, &e);
    }
    let mut forged = f.stored_at(4);
    forged.tenant_seq = 5;
    forged.prev_hash = forged.hash.clone();
    forged.reason = Some("backdated".into());
    forged.hash = forged.compute_hash();
    f.put(5, &forged);
    f.db.flush().expect("flush");
    // The tenant index still names the original events, so read the whole log.
    let log = EmbeddedLog::from_db(f.db.clone()).expect("reopen");
    let report = verify(log.read(0).await.expect("read"), None, None)
        .await
        .expect("verify");
    let (position, kind) = first(&report);
    assert_eq!(position, 6);
    assert!(
        matches!(
            kind,
            TamperKind::BrokenLink {
                expected_seq: 6,
                found_seq: 5,
                ..
            }
        ),
        "{kind:?}"
    );
}

#[tokio::test]
async fn truncation_passes_plain_verify_and_fails_checkpoint_verify() {
    let f = fixture().await;
    let checkpoint = f.checkpoint(at(12, 5));
    f.remove(10, 10);
    f.remove(9, 9);
    assert!(f.verify(None).await.is_intact());
    let (position, kind) = first(&f.verify(Some(&checkpoint)).await);
    assert_eq!(
        (position, kind),
        (
            8,
            TamperKind::Truncated {
                checkpoint_seq: 10,
                head_seq: 8
            }
        )
    );
}

/// A record overwritten with something that is not an event at all: verify does
/// not skip it, on the whole log or the tenant's read, and names its position.
#[tokio::test]
async fn a_record_that_is_not_an_event_stops_verify_at_its_position() {
    let f = fixture().await;
    f.events()
        .insert(3u64.to_be_bytes(), &b"garbage"[..])
        .expect("overwrite");
    f.db.flush().expect("flush");
    let log = EmbeddedLog::from_db(f.db.clone()).expect("reopen");
    for tenant in [None, Some(TENANT)] {
        let error = verify_log(&log, tenant, None)
            .await
            .expect_err("an unreadable record is not verified");
        assert!(
            matches!(
                error,
                ReplayError::Log(LogError::Undecodable { position: 3, .. })
            ),
            "{error}"
        );
        assert!(error.to_string().contains("position 3"), "{error}");
    }
}
