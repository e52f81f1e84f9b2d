//! Tampering with a real JetStream log on a private nats-server. The log's own
//! stream denies deletes; these tests create it first with deletes allowed (the
//! log accepts such a stream with a warning), as a careless or hostile operator
//! could, then delete and forge messages. Also: the checkpoint store on its own
//! stream, and the publisher signing heads read from JetStream.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::StorageType};
use bytes::Bytes;
use common::{TENANT, acme, at};
use pretty_assertions::assert_eq;
use rollcall_events::RawEnvelope;
use rollcall_log::{EventLog, JetStreamConfig, JetStreamLog};
use rollcall_replay::{
    CheckpointPublisher, CheckpointSigner, CheckpointStore, TamperKind, VerifyReport, verify,
};
use rollcall_tests::NatsServer;

struct Fixture {
    server: NatsServer,
    client: async_nats::Client,
    log: JetStreamLog,
    stream: jetstream::stream::Stream,
    stored: Vec<RawEnvelope>,
}

async fn fixture() -> Fixture {
    let server = NatsServer::start();
    let client = async_nats::connect(server.url()).await.expect("connect");
    let context = jetstream::new(client.clone());
    let stream = context
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
    let log = JetStreamLog::connect(JetStreamConfig {
        url: server.url(),
        request_timeout: Duration::from_secs(2),
        ..JetStreamConfig::default()
    })
    .await
    .expect("log");
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
        server,
        client,
        log,
        stream,
        stored,
    }
}

impl Fixture {
    async fn verify_tenant(
        &self,
        checkpoint: Option<&rollcall_replay::SignedCheckpoint>,
    ) -> VerifyReport {
        verify(
            self.log.read_tenant(TENANT, 1).await.expect("read"),
            Some(TENANT),
            checkpoint,
        )
        .await
        .expect("verify")
    }

    async fn verify_all(&self) -> VerifyReport {
        verify(self.log.read(0).await.expect("read"), None, None)
            .await
            .expect("verify")
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
async fn a_deleted_message_is_a_broken_link() {
    let f = fixture().await;
    assert!(f.verify_all().await.is_intact());
    assert!(f.stream.delete_message(4).await.expect("delete"));
    for report in [f.verify_all().await, f.verify_tenant(None).await] {
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
}

#[tokio::test]
async fn a_forged_message_published_past_the_log_is_caught() {
    let f = fixture().await;
    // A forgery of event 5 with a valid hash, published straight to the subject.
    let mut forged = f.stored[4].clone();
    forged.position = 0;
    forged.reason = Some("replayed".into());
    forged.hash = forged.compute_hash();
    let context = jetstream::new(f.client.clone());
    context
        .publish(
            format!("rollcall.events.{TENANT}"),
            Bytes::from(forged.to_json_bytes()),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    let (position, kind) = first(&f.verify_all().await);
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

/// Deleting the newest messages in place is not a clean truncation on this server
/// (see the report of the log's behaviour); an operator who wants a plausible
/// trail wipes the stream and republishes a shortened history instead.
#[tokio::test]
async fn a_stream_republished_without_its_newest_events_needs_a_checkpoint_to_be_seen() {
    let f = fixture().await;
    let head = f.stored.last().expect("events");
    let checkpoint =
        CheckpointSigner::from_secret([3; 32]).sign(TENANT, head.tenant_seq, &head.hash, at(12, 5));
    assert!(f.verify_tenant(Some(&checkpoint)).await.is_intact());

    let context = jetstream::new(f.client.clone());
    context.delete_stream("ROLLCALL").await.expect("wipe");
    let forged = JetStreamLog::connect(JetStreamConfig {
        url: f.server.url(),
        request_timeout: Duration::from_secs(2),
        ..JetStreamConfig::default()
    })
    .await
    .expect("log");
    for e in &f.stored[..8] {
        forged
            .append(TENANT, e.tenant_seq - 1, e)
            .await
            .expect("republish");
    }

    let plain = verify(forged.read(0).await.expect("read"), None, None)
        .await
        .expect("verify");
    assert!(plain.is_intact(), "{:#?}", plain.tampering);
    let report = verify(
        forged.read_tenant(TENANT, 1).await.expect("read"),
        Some(TENANT),
        Some(&checkpoint),
    )
    .await
    .expect("verify");
    let (position, kind) = first(&report);
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

#[tokio::test]
async fn checkpoints_are_published_to_their_own_stream_and_read_back() {
    let f = fixture().await;
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
    let report = f.verify_tenant(Some(&latest)).await;
    assert!(report.is_intact());
    assert_eq!(report.checkpoints_confirmed.len(), 1);

    // It lives on rollcall.checkpoints.<tenant> in ROLLCALL_CHECKPOINTS.
    let context = jetstream::new(f.client.clone());
    let stream = context
        .get_stream("ROLLCALL_CHECKPOINTS")
        .await
        .expect("stream");
    let message = stream
        .get_last_raw_message_by_subject(&format!("rollcall.checkpoints.{TENANT}"))
        .await
        .expect("message");
    let parsed: rollcall_replay::SignedCheckpoint =
        serde_json::from_slice(&message.payload).expect("checkpoint json");
    assert_eq!(parsed, latest);
}
