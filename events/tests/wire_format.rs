//! The stored JSON of every event type, pinned by snapshots. A failing snapshot
//! means the wire format changed: stored events would no longer read back, so
//! the change needs a new schema version and an upcaster, not an accepted snapshot.

mod common;

use std::collections::BTreeSet;

use pretty_assertions::assert_eq;
use rollcall_events::{Event, RawEnvelope};

#[test]
fn every_event_type_has_a_sample_in_declaration_order() {
    let sampled: Vec<&str> = common::samples().iter().map(Event::type_name).collect();
    assert_eq!(sampled, Event::TYPES.to_vec());
}

#[test]
fn every_event_type_has_a_committed_snapshot() {
    // Catches a snapshot that was never written or accepted, and one left behind
    // by a type that no longer exists.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let prefix = "wire_format__";
    let snapshotted: BTreeSet<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().into_string().ok())
                .filter_map(|name| {
                    let stem = name.strip_prefix(prefix)?.strip_suffix(".snap")?;
                    Some(stem.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let types: BTreeSet<String> = Event::TYPES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(snapshotted, types);
}

#[test]
fn stored_json_of_every_event_type() {
    for raw in common::sealed() {
        insta::assert_json_snapshot!(raw.event_type.clone(), raw);
    }
}

#[test]
fn the_stored_bytes_read_back_into_the_same_envelope() {
    for raw in common::sealed() {
        let bytes = raw.to_json_bytes();
        assert_eq!(
            RawEnvelope::from_json_bytes(&bytes),
            Ok(raw.clone()),
            "{}",
            raw.event_type
        );
    }
}

#[test]
fn a_decoded_event_is_the_sample_it_was_sealed_from() {
    for (raw, sample) in common::sealed().iter().zip(common::samples()) {
        let decoded = raw.decode().map(|env| env.event);
        assert_eq!(decoded, Ok(sample));
    }
}
