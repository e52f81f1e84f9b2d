//! Signed checkpoints: signatures cover every field, the key file is private and
//! stable, both stores give back the newest checkpoint, and the publisher signs
//! moved heads of intact tenants only.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::{MemoryLog, Scenario, TENANT, acme, at};
use pretty_assertions::assert_eq;
use rollcall_events::TenantId;
use rollcall_log::EventLog;
use rollcall_replay::{
    CheckpointError, CheckpointPublisher, CheckpointSigner, CheckpointStore, SignedCheckpoint,
    latest_checkpoints, publish_checkpoints,
};

const OTHER: TenantId = TenantId(uuid::Uuid::from_u128(0xbeef));

fn signer() -> CheckpointSigner {
    CheckpointSigner::from_secret([42; 32])
}

fn sample() -> SignedCheckpoint {
    signer().sign(TENANT, 10, &"ab".repeat(32), at(12, 0))
}

#[test]
fn a_signed_checkpoint_verifies_and_its_wire_format_is_stable() {
    let checkpoint = sample();
    checkpoint.verify().expect("verifies");
    checkpoint
        .verify_trusted(signer().public_key_hex())
        .expect("trusted");
    insta::assert_json_snapshot!(checkpoint);
}

#[test]
fn changing_any_signed_field_breaks_the_signature() {
    type Edit = fn(&mut SignedCheckpoint);
    let edits: [(&str, Edit); 4] = [
        ("tenant", |c| c.tenant_id = OTHER),
        ("seq", |c| c.tenant_seq = 9),
        ("hash", |c| c.hash = "cd".repeat(32)),
        ("time", |c| c.signed_at += Duration::seconds(1)),
    ];
    for (what, edit) in edits {
        let mut checkpoint = sample();
        edit(&mut checkpoint);
        assert!(
            matches!(
                checkpoint.verify(),
                Err(CheckpointError::SignatureInvalid { .. })
            ),
            "editing the {what} went unnoticed"
        );
    }
    let mut garbled = sample();
    garbled.signature = "zz".into();
    assert!(matches!(
        garbled.verify(),
        Err(CheckpointError::BadSignature)
    ));
}

#[test]
fn a_checkpoint_signed_with_another_key_is_not_trusted() {
    let forger = CheckpointSigner::from_secret([1; 32]);
    let forged = forger.sign(TENANT, 10, &"ab".repeat(32), at(12, 0));
    forged.verify().expect("intact under its own key");
    assert!(matches!(
        forged.verify_trusted(signer().public_key_hex()),
        Err(CheckpointError::UntrustedKey { .. })
    ));
}

#[test]
fn the_key_file_is_created_private_and_loaded_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keys").join("checkpoint.key");
    let first = CheckpointSigner::load_or_create(&path).expect("created");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = CheckpointSigner::load_or_create(&path).expect("loaded");
    let in_dir = CheckpointSigner::load_or_create_in(dir.path()).expect("created in the dir");
    assert!(
        dir.path()
            .join(rollcall_replay::checkpoint::KEY_FILE)
            .exists()
    );
    assert_ne!(in_dir.public_key_hex(), first.public_key_hex());
    assert_eq!(first.public_key_hex(), again.public_key_hex());
    assert_eq!(first.public_key_hex().len(), 64);
    // The secret is not what the file shows to a Debug print.
    assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).expect("read")));

    std::fs::write(&path, "not a key").expect("overwrite");
    assert!(matches!(
        CheckpointSigner::load_or_create(&path),
        Err(CheckpointError::KeyFile { .. })
    ));
}

#[tokio::test]
async fn the_sled_store_keeps_every_checkpoint_and_answers_the_newest() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = sled::open(dir.path()).expect("sled");
        let store = CheckpointStore::sled(&db).expect("store");
        assert_eq!(store.latest(TENANT).await.expect("latest"), None);
        for (tenant, seq) in [(TENANT, 3), (TENANT, 7), (OTHER, 2)] {
            store
                .save(&signer().sign(tenant, seq, &"ab".repeat(32), at(12, 0)))
                .await
                .expect("saved");
        }
    }
    let db = rollcall_tests::open_sled(dir.path());
    let store = CheckpointStore::sled(&db).expect("store");
    let latest = store.latest(TENANT).await.expect("latest").expect("some");
    assert_eq!(latest.tenant_seq, 7);
    let all = latest_checkpoints(&store, None).await.expect("all");
    let heads: Vec<_> = all.iter().map(|c| (c.tenant_id, c.tenant_seq)).collect();
    assert_eq!(heads, vec![(TENANT, 7), (OTHER, 2)]);
    let one = latest_checkpoints(&store, Some(OTHER)).await.expect("one");
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn the_publisher_signs_moved_heads_of_intact_tenants_only() {
    let scenario = acme();
    let log = MemoryLog::with(scenario.raw[..6].to_vec());
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let store = CheckpointStore::sled(&db).expect("store");
    let signer = Arc::new(signer());
    let mut publisher =
        CheckpointPublisher::new(Arc::new(log.clone()), signer.clone(), store.clone());

    let first = publisher.tick(at(13, 0)).await.expect("tick");
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].tenant_seq, &first[0].hash),
        (6, &scenario.raw[5].hash)
    );
    first[0]
        .verify_trusted(signer.public_key_hex())
        .expect("signed by the installation");

    assert_eq!(publisher.tick(at(13, 1)).await.expect("tick"), vec![]);

    for e in &scenario.raw[6..] {
        log.append(TENANT, e.tenant_seq - 1, e)
            .await
            .expect("append");
    }
    // A second tenant whose first event was altered in the store.
    let mut other = Scenario::new(OTHER);
    other.create(at(9, 0));
    let mut bad = other.raw[0].clone();
    bad.reason = Some("edited".into());
    log.append(OTHER, 0, &bad).await.expect("append");

    let second = publisher.tick(at(13, 2)).await.expect("tick");
    let heads: Vec<_> = second.iter().map(|c| (c.tenant_id, c.tenant_seq)).collect();
    assert_eq!(heads, vec![(TENANT, 10)]);
    assert_eq!(
        store
            .latest(TENANT)
            .await
            .expect("latest")
            .map(|c| c.tenant_seq),
        Some(10)
    );
    assert_eq!(store.latest(OTHER).await.expect("latest"), None);
}

#[tokio::test]
async fn the_publisher_task_runs_until_shut_down() {
    let log = Arc::new(MemoryLog::with(acme().raw));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let store = CheckpointStore::sled(&db).expect("store");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(publish_checkpoints(
        log,
        None,
        Arc::new(signer()),
        store.clone(),
        std::time::Duration::from_millis(20),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut latest = None;
    for _ in 0..100 {
        latest = store.latest(TENANT).await.expect("latest");
        if latest.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(latest.map(|c| c.tenant_seq), Some(10));
    let _ = stop.send(());
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("stops when told")
        .expect("no panic");
}
