//! Tampering with a real log, one suite run against both backends. Each case
//! writes Acme's morning through the log's own `append`, then changes what is
//! stored behind the log's back — as someone holding the data dir (embedded) or
//! the NATS account (JetStream) could — and checks that verify names what was
//! done. A [`Backend`] says how each attack is carried out on its store.
//!
//! The JetStream log's own stream denies deletes; its fixture creates the stream
//! first with deletes allowed (the log accepts such a stream with a warning), as a
//! careless or hostile operator could.
//!
//! Attacks only one store allows (rewriting a record in place is possible in sled,
//! not in a stream) and the checkpoint stream of JetStream close the file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::{TENANT, acme, at};
use pretty_assertions::assert_eq;
use rollcall_events::RawEnvelope;
use rollcall_log::{EmbeddedLog, EventLog, JetStreamConfig, JetStreamLog, LogError};
use rollcall_replay::{
    CheckpointPublisher, CheckpointSigner, CheckpointStore, ReplayError, SignedCheckpoint,
    TamperKind, VerifyReport, verify, verify_log,
};
use rollcall_tests::NatsServer;

/// A log holding Acme's morning (ten events, positions 1–10) and the means to
/// tamper with its store.
#[async_trait]
trait Backend: Send + Sync {
    /// The events as appended, with their positions.
    fn stored(&self) -> &[RawEnvelope];
    /// A log reading the store as it is now.
    async fn log(&self) -> Arc<dyn EventLog>;
    /// Removes the record at `position`.
    async fn remove(&self, position: u64);
    /// Writes `bytes` as a record of the tenant past the head, bypassing the log.
    async fn write_past_head(&self, bytes: Vec<u8>);
    /// Leaves only the first `keep` events, so the trail looks complete but short.
    async fn cut_to(&self, keep: usize);
}

async fn appended(log: &dyn EventLog) -> Vec<RawEnvelope> {
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
    stored
}

fn checkpoint(b: &dyn Backend, when: DateTime<Utc>) -> SignedCheckpoint {
    let head = b.stored().last().expect("events");
    CheckpointSigner::from_secret([9; 32]).sign(TENANT, head.tenant_seq, &head.hash, when)
}

/// Verifies the whole log and the tenant's own read, which must agree.
async fn verify_both(b: &dyn Backend, checkpoint: Option<&SignedCheckpoint>) -> VerifyReport {
    let log = b.log().await;
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

/// Verifies the whole log (what was written past the log need not be in a
/// tenant's index).
async fn verify_all(b: &dyn Backend) -> VerifyReport {
    let log = b.log().await;
    verify(log.read(0).await.expect("read"), None, None)
        .await
        .expect("verify")
}

fn first(report: &VerifyReport) -> (u64, TamperKind) {
    assert_eq!(report.tampering.len(), 1, "{:#?}", report.tampering);
    (
        report.tampering[0].position,
        report.tampering[0].kind.clone(),
    )
}

// The suite.

async fn an_untouched_log_verifies_against_its_checkpoint(b: &dyn Backend) {
    let report = verify_both(b, Some(&checkpoint(b, at(12, 5)))).await;
    assert!(report.is_intact(), "{:#?}", report.tampering);
    assert_eq!(report.checkpoints_confirmed.len(), 1);
}

async fn a_removed_event_is_a_broken_link(b: &dyn Backend) {
    b.remove(4).await;
    let (position, kind) = first(&verify_both(b, None).await);
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

async fn a_forgery_written_past_the_log_with_a_valid_hash_is_caught(b: &dyn Backend) {
    // A copy of event 5 with another reason and a recomputed hash.
    let mut forged = b.stored()[4].clone();
    forged.position = 0;
    forged.reason = Some("replayed".into());
    forged.hash = forged.compute_hash();
    b.write_past_head(forged.to_json_bytes()).await;
    let (position, kind) = first(&verify_all(b).await);
    assert_eq!(position, 11);
    assert!(
        matches!(
            kind,
            TamperKind::BrokenLink {
                expected_seq: 11,
                found_seq: 5,
                ..
            }
        ),
        "{kind:?}"
    );
}

async fn a_cut_trail_passes_plain_verify_and_fails_checkpoint_verify(b: &dyn Backend) {
    let checkpoint = checkpoint(b, at(12, 5));
    b.cut_to(8).await;
    let plain = verify_both(b, None).await;
    assert!(plain.is_intact(), "{:#?}", plain.tampering);
    let (position, kind) = first(&verify_both(b, Some(&checkpoint)).await);
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

async fn a_record_that_is_not_an_event_stops_verify_at_its_position(b: &dyn Backend) {
    b.write_past_head(b"garbage".to_vec()).await;
    let log = b.log().await;
    let error = verify_log(log.as_ref(), None, None)
        .await
        .expect_err("an unreadable record is not verified");
    assert!(
        matches!(
            error,
            ReplayError::Log(LogError::Undecodable { position: 11, .. })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("position 11"), "{error}");
}

/// Each case of the suite, once per backend: `<case>::embedded`, `<case>::jetstream`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn embedded() {
                let b = super::Embedded::new().await;
                super::$case(&b).await;
            }

            #[tokio::test]
            async fn jetstream() {
                let b = super::JetStream::new().await;
                super::$case(&b).await;
            }
        }
    )*};
}

on_both_backends!(
    an_untouched_log_verifies_against_its_checkpoint,
    a_removed_event_is_a_broken_link,
    a_forgery_written_past_the_log_with_a_valid_hash_is_caught,
    a_cut_trail_passes_plain_verify_and_fails_checkpoint_verify,
    a_record_that_is_not_an_event_stops_verify_at_its_position,
);

// The embedded backend: sled trees rewritten directly.

const EVENTS_TREE: &str = "log.events";
const TENANTS_TREE: &str = "log.tenants";

struct Embedded {
    _dir: tempfile::TempDir,
    db: sled::Db,
    stored: Vec<RawEnvelope>,
}

impl Embedded {
    async fn new() -> Embedded {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("sled");
        let stored = appended(&EmbeddedLog::from_db(db.clone()).expect("log")).await;
        Embedded {
            _dir: dir,
            db,
            stored,
        }
    }

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

    /// The log opened afresh on the store (its head is read at open).
    fn reopened(&self) -> EmbeddedLog {
        self.db.flush().expect("flush");
        EmbeddedLog::from_db(self.db.clone()).expect("reopen")
    }
}

#[async_trait]
impl Backend for Embedded {
    fn stored(&self) -> &[RawEnvelope] {
        &self.stored
    }

    async fn log(&self) -> Arc<dyn EventLog> {
        Arc::new(self.reopened())
    }

    async fn remove(&self, position: u64) {
        let seq = self.stored_at(position).tenant_seq;
        self.events()
            .remove(position.to_be_bytes())
            .expect("remove");
        let mut key = TENANT.as_uuid().as_bytes().to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        self.tenants().remove(key).expect("remove index");
    }

    async fn write_past_head(&self, bytes: Vec<u8>) {
        let head = self.stored.last().expect("events").position;
        self.events()
            .insert((head + 1).to_be_bytes(), bytes)
            .expect("insert");
    }

    async fn cut_to(&self, keep: usize) {
        for e in self.stored[keep..].iter().rev() {
            self.remove(e.position).await;
        }
    }
}

// The JetStream backend: a private nats-server whose stream allows deletes.

struct JetStream {
    server: NatsServer,
    client: async_nats::Client,
    log: JetStreamLog,
    stream: jetstream::stream::Stream,
    stored: Vec<RawEnvelope>,
}

impl JetStream {
    async fn new() -> JetStream {
        let server = NatsServer::start();
        let client = async_nats::connect(server.url()).await.expect("connect");
        let stream = jetstream::new(client.clone())
            .create_stream(jetstream::stream::Config {
                name: "ROLLCALL".into(),
                subjects: vec!["rollcall.events.>".into()],
                storage: StorageType::File,
                deny_delete: false,
                deny_purge: false,
                ..Default::default()
            })
            .await
            .expect("stream");
        let log = Self::connect(&server).await;
        let stored = appended(&log).await;
        JetStream {
            server,
            client,
            log,
            stream,
            stored,
        }
    }

    async fn connect(server: &NatsServer) -> JetStreamLog {
        JetStreamLog::connect(JetStreamConfig {
            url: server.url(),
            request_timeout: Duration::from_secs(2),
            ..JetStreamConfig::default()
        })
        .await
        .expect("log")
    }
}

#[async_trait]
impl Backend for JetStream {
    fn stored(&self) -> &[RawEnvelope] {
        &self.stored
    }

    async fn log(&self) -> Arc<dyn EventLog> {
        Arc::new(Self::connect(&self.server).await)
    }

    async fn remove(&self, position: u64) {
        assert!(self.stream.delete_message(position).await.expect("delete"));
    }

    async fn write_past_head(&self, bytes: Vec<u8>) {
        jetstream::new(self.client.clone())
            .publish(format!("rollcall.events.{TENANT}"), Bytes::from(bytes))
            .await
            .expect("publish")
            .await
            .expect("ack");
    }

    /// Deleting the newest messages in place is not a clean truncation on this
    /// server (see the report of the log's behaviour); an operator who wants a
    /// plausible trail wipes the stream and republishes a shortened history.
    async fn cut_to(&self, keep: usize) {
        jetstream::new(self.client.clone())
            .delete_stream("ROLLCALL")
            .await
            .expect("wipe");
        let forged = Self::connect(&self.server).await;
        for e in &self.stored[..keep] {
            forged
                .append(TENANT, e.tenant_seq - 1, e)
                .await
                .expect("republish");
        }
    }
}

// Attacks only sled allows: a record rewritten in place.

#[tokio::test]
async fn embedded_altered_data_in_the_tree_is_a_hash_mismatch() {
    let f = Embedded::new().await;
    let mut e = f.stored_at(6);
    e.data["to"] = serde_json::json!("deny");
    f.put(6, &e);
    let (position, kind) = first(&verify_both(&f, None).await);
    assert_eq!(position, 6);
    assert!(matches!(kind, TamperKind::HashMismatch { .. }), "{kind:?}");
}

#[tokio::test]
async fn embedded_a_removed_event_whose_index_was_left_behind_is_still_reported() {
    let f = Embedded::new().await;
    f.events().remove(4u64.to_be_bytes()).expect("remove");
    let report = verify_log(&f.reopened(), Some(TENANT), None)
        .await
        .expect("verify");
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
async fn embedded_two_reordered_events_are_a_broken_link() {
    let f = Embedded::new().await;
    let (a, b) = (f.stored_at(4), f.stored_at(5));
    f.put(4, &b);
    f.put(5, &a);
    let (position, kind) = first(&verify_both(&f, None).await);
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
async fn embedded_a_forged_event_inserted_with_a_recomputed_hash_breaks_the_next_link() {
    let f = Embedded::new().await;
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
    // The tenant index still names the original events, so read the whole log.
    let (position, kind) = first(&verify_all(&f).await);
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

/// A record overwritten in place with something that is not an event: verify
/// does not skip it, on the whole log or the tenant's read.
#[tokio::test]
async fn embedded_a_record_overwritten_with_garbage_stops_verify_at_its_position() {
    let f = Embedded::new().await;
    f.events()
        .insert(3u64.to_be_bytes(), &b"garbage"[..])
        .expect("overwrite");
    let log = f.reopened();
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

// JetStream's checkpoints: their own stream, and the publisher reading heads from
// the log.

#[tokio::test]
async fn jetstream_checkpoints_are_published_to_their_own_stream_and_read_back() {
    let f = JetStream::new().await;
    let store = CheckpointStore::jetstream(f.client.clone(), None)
        .await
        .expect("store");
    let signer = Arc::new(CheckpointSigner::from_secret([5; 32]));
    let mut publisher =
        CheckpointPublisher::new(Arc::new(f.log.clone()), signer.clone(), store.clone());
    let written = publisher.tick(at(13, 0)).await.expect("tick");
    assert_eq!(written.len(), 1);

    let latest = store.latest(TENANT).await.expect("latest").expect("some");
    assert_eq!(latest, written[0]);
    latest
        .verify_trusted(signer.public_key_hex())
        .expect("verifies");
    assert_eq!(store.latest_all().await.expect("all"), written);

    // The stored checkpoint holds the log to its head.
    let report = verify_both(&f, Some(&latest)).await;
    assert!(report.is_intact());
    assert_eq!(report.checkpoints_confirmed.len(), 1);

    // It lives on rollcall.checkpoints.<tenant> in ROLLCALL_CHECKPOINTS.
    let stream = jetstream::new(f.client.clone())
        .get_stream("ROLLCALL_CHECKPOINTS")
        .await
        .expect("stream");
    let message = stream
        .get_last_raw_message_by_subject(&format!("rollcall.checkpoints.{TENANT}"))
        .await
        .expect("message");
    let parsed: SignedCheckpoint =
        serde_json::from_slice(&message.payload).expect("checkpoint json");
    assert_eq!(parsed, latest);
}
