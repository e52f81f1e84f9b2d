//! Verify over sealed envelopes: every kind of tampering is named, at the right
//! event, and only truncation needs a checkpoint to be seen.

mod common;

use common::{TENANT, acme, stream_of};
use pretty_assertions::assert_eq;
use rollcall_events::{GENESIS_HASH, RawEnvelope, TenantId};
use rollcall_replay::{
    CheckpointError, CheckpointSigner, ConfirmedCheckpoint, ReplayError, TamperKind, Tampering,
    VerifyReport, verify,
};

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_secret([7; 32])
}

async fn run(events: Vec<RawEnvelope>) -> VerifyReport {
    verify(stream_of(events), None, None)
        .await
        .expect("verify runs")
}

/// Recomputes the hash after an edit, as a forger with the format would.
fn reseal(mut e: RawEnvelope) -> RawEnvelope {
    e.hash = e.compute_hash();
    e
}

fn only(report: &VerifyReport) -> &Tampering {
    assert_eq!(report.tampering.len(), 1, "{:#?}", report.tampering);
    &report.tampering[0]
}

#[tokio::test]
async fn an_untouched_trail_verifies() {
    let events = acme().raw;
    let last = events.last().cloned().expect("events");
    let report = run(events).await;
    assert!(report.is_intact());
    let chain = report.tenant(TENANT).expect("tenant walked");
    assert_eq!(
        (
            chain.events,
            chain.head_seq,
            chain.head_hash.as_str(),
            chain.head_position
        ),
        (10, 10, last.hash.as_str(), 10)
    );
}

#[tokio::test]
async fn altered_content_is_a_hash_mismatch_at_that_event() {
    let mut events = acme().raw;
    events[5].reason = Some("nothing to see here".into());
    let report = run(events.clone()).await;
    let t = only(&report);
    assert_eq!((t.position, t.tenant_seq), (6, 6));
    assert_eq!(
        t.kind,
        TamperKind::HashMismatch {
            stored: events[5].hash.clone(),
            computed: events[5].compute_hash(),
        }
    );
    // Later events are still counted.
    assert_eq!(report.tenant(TENANT).map(|c| c.events), Some(10));
}

#[tokio::test]
async fn a_removed_event_breaks_the_link_of_the_next() {
    let mut events = acme().raw;
    let removed = events.remove(3);
    let report = run(events).await;
    let t = only(&report);
    assert_eq!((t.position, t.tenant_seq), (5, 5));
    assert_eq!(
        t.kind,
        TamperKind::BrokenLink {
            expected_prev_hash: removed.prev_hash.clone(),
            found_prev_hash: removed.hash.clone(),
            expected_seq: 4,
            found_seq: 5,
        }
    );
    assert!(t.to_string().contains("events 4..4 are missing"), "{t}");
}

#[tokio::test]
async fn two_swapped_events_break_the_link() {
    let mut events = acme().raw;
    // Swap contents but keep the positions where they were, as a store rewrite would.
    let (p3, p4) = (events[3].position, events[4].position);
    events.swap(3, 4);
    events[3].position = p3;
    events[4].position = p4;
    let report = run(events).await;
    let t = only(&report);
    assert_eq!((t.position, t.tenant_seq), (4, 5));
    assert!(matches!(
        t.kind,
        TamperKind::BrokenLink {
            expected_seq: 4,
            found_seq: 5,
            ..
        }
    ));
}

#[tokio::test]
async fn a_forged_insertion_with_a_recomputed_hash_is_caught_at_the_next_event() {
    let mut events = acme().raw;
    let mut forged = events[3].clone();
    forged.tenant_seq = 5;
    forged.prev_hash = events[3].hash.clone();
    forged.reason = Some("backdated grant".into());
    let forged = reseal(forged);
    events.insert(4, forged);
    for (i, e) in events.iter_mut().enumerate() {
        e.position = i as u64 + 1;
    }
    let report = run(events).await;
    let t = only(&report);
    // The forgery itself hashes and links; the original event 5 after it does not.
    assert_eq!((t.position, t.tenant_seq), (6, 5));
    assert!(matches!(
        t.kind,
        TamperKind::BrokenLink {
            expected_seq: 6,
            found_seq: 5,
            ..
        }
    ));
}

#[tokio::test]
async fn a_resealed_event_with_a_skipped_sequence_is_a_gap() {
    let mut events = acme().raw;
    events.truncate(5);
    events[4].tenant_seq = 6;
    events[4] = reseal(events[4].clone());
    let t = only(&run(events).await).clone();
    assert_eq!(
        (t.position, t.kind),
        (
            5,
            TamperKind::SequenceGap {
                expected: 5,
                found: 6
            }
        )
    );
}

#[tokio::test]
async fn a_resealed_event_with_a_repeated_sequence_is_a_repeat() {
    let mut events = acme().raw;
    events.truncate(5);
    events[4].tenant_seq = 4;
    events[4] = reseal(events[4].clone());
    let t = only(&run(events).await).clone();
    assert_eq!(
        (t.position, t.kind),
        (
            5,
            TamperKind::SequenceRepeat {
                previous: 4,
                found: 4
            }
        )
    );
}

#[tokio::test]
async fn positions_must_increase_within_a_tenant() {
    let mut events = acme().raw;
    events[4].position = 4;
    let t = only(&run(events).await).clone();
    assert_eq!(
        t.kind,
        TamperKind::PositionNotIncreasing {
            previous: 4,
            found: 4
        }
    );
}

#[tokio::test]
async fn a_chain_that_does_not_start_at_genesis_is_broken() {
    let mut events = acme().raw;
    events.remove(0);
    let t = only(&run(events).await).clone();
    assert!(matches!(
        t.kind,
        TamperKind::BrokenLink { ref expected_prev_hash, expected_seq: 1, found_seq: 2, .. }
            if expected_prev_hash == GENESIS_HASH
    ));
}

#[tokio::test]
async fn truncation_is_invisible_to_plain_verify_and_caught_by_a_checkpoint() {
    let events = acme().raw;
    let head = events.last().cloned().expect("events");
    let checkpoint = signer().sign(TENANT, head.tenant_seq, &head.hash, common::at(12, 5));
    let truncated: Vec<_> = events[..8].to_vec();

    assert!(run(truncated.clone()).await.is_intact());

    let report = verify(stream_of(truncated), Some(TENANT), Some(&checkpoint))
        .await
        .expect("verify runs");
    let t = only(&report);
    assert_eq!(
        (t.position, t.tenant_seq, t.kind.clone()),
        (
            8,
            8,
            TamperKind::Truncated {
                checkpoint_seq: 10,
                head_seq: 8
            }
        )
    );

    let whole = verify(stream_of(events), Some(TENANT), Some(&checkpoint))
        .await
        .expect("verify runs");
    assert!(whole.is_intact());
    assert_eq!(
        whole.checkpoints_confirmed,
        vec![ConfirmedCheckpoint {
            tenant_id: TENANT,
            tenant_seq: 10
        }]
    );
}

#[tokio::test]
async fn a_tenant_that_vanished_is_truncated_to_nothing() {
    let events = acme().raw;
    let checkpoint = signer().sign(TENANT, 10, &events[9].hash, common::at(12, 5));
    let report = verify(stream_of(vec![]), None, Some(&checkpoint))
        .await
        .expect("verify runs");
    assert_eq!(
        only(&report).kind,
        TamperKind::Truncated {
            checkpoint_seq: 10,
            head_seq: 0
        }
    );
}

#[tokio::test]
async fn a_history_resealed_from_scratch_is_caught_by_a_checkpoint() {
    let events = acme().raw;
    let signed = events[6].clone();
    let checkpoint = signer().sign(TENANT, signed.tenant_seq, &signed.hash, common::at(12, 5));
    // The forger rewrites event 3 and re-seals every later event: the chain is
    // consistent again, so only the checkpoint can tell.
    let mut forged = Vec::new();
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in events.into_iter().enumerate() {
        let mut e = e;
        if i == 2 {
            e.reason = Some("rewritten".into());
        }
        e.prev_hash = prev.clone();
        let e = reseal(e);
        prev = e.hash.clone();
        forged.push(e);
    }
    assert!(run(forged.clone()).await.is_intact());
    let report = verify(stream_of(forged.clone()), None, Some(&checkpoint))
        .await
        .expect("verify runs");
    assert_eq!(
        only(&report).kind,
        TamperKind::CheckpointMismatch {
            seq: 7,
            signed_hash: signed.hash.clone(),
            found_hash: forged[6].hash.clone(),
        }
    );
}

#[tokio::test]
async fn a_checkpoint_that_does_not_verify_is_refused() {
    let events = acme().raw;
    let mut checkpoint = signer().sign(TENANT, 10, &events[9].hash, common::at(12, 5));
    checkpoint.tenant_seq = 8;
    let err = verify(stream_of(events), None, Some(&checkpoint)).await;
    assert!(matches!(err, Err(ReplayError::Checkpoint(_))), "{err:?}");
}

#[tokio::test]
async fn a_checkpoint_of_another_tenant_is_refused() {
    let events = acme().raw;
    let checkpoint = signer().sign(TENANT, 10, &events[9].hash, common::at(12, 5));
    let err = verify(
        stream_of(events),
        Some(TenantId::from_u128(5)),
        Some(&checkpoint),
    )
    .await;
    assert!(
        matches!(
            err,
            Err(ReplayError::Checkpoint(CheckpointError::WrongTenant { .. }))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn tenants_are_judged_apart_and_the_filter_keeps_one() {
    let ours = acme().raw;
    let other_tenant = TenantId::from_u128(0xbeef);
    let mut theirs = common::Scenario::new(other_tenant);
    theirs.create(common::at(8, 0));
    theirs.invite(common::at(8, 5), common::ANN, "Ann", &["user"]);
    let mut theirs = theirs.raw;
    theirs[1].reason = Some("edited".into());
    // Interleave: theirs at positions 11, 12.
    let mut all = ours.clone();
    for (i, mut e) in theirs.into_iter().enumerate() {
        e.position = 11 + i as u64;
        all.push(e);
    }
    let report = run(all.clone()).await;
    assert_eq!(report.tenants.len(), 2);
    let t = only(&report);
    assert_eq!((t.tenant, t.position), (other_tenant, 12));

    let filtered = verify(stream_of(all), Some(TENANT), None)
        .await
        .expect("verify runs");
    assert!(filtered.is_intact());
    assert_eq!(filtered.tenants.len(), 1);
}

#[tokio::test]
async fn the_report_wire_format() {
    let mut events = acme().raw;
    events.remove(3);
    let report = run(events).await;
    insta::assert_json_snapshot!(report);
}
