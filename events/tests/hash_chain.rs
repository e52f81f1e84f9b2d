//! The hash over the raw envelope: stable across a decode and re-seal, and broken
//! by any change to a hashed field, which is what makes the trail tamper-evident.

mod common;

use pretty_assertions::assert_eq;
use rollcall_events::{Actor, Envelope, EventMeta, GENESIS_HASH, RawEnvelope};
use serde_json::json;

fn meta_of(env: &Envelope) -> EventMeta {
    EventMeta {
        event_id: env.event_id,
        tenant_id: env.tenant_id,
        tenant_seq: env.tenant_seq,
        occurred_at: env.occurred_at,
        actor: env.actor,
        reason: env.reason.clone(),
        correlation_id: env.correlation_id,
        idempotency_key: env.idempotency_key.clone(),
    }
}

#[test]
fn every_sample_is_sealed_with_a_valid_hash() {
    for raw in common::sealed() {
        assert!(raw.hash_is_valid(), "{}", raw.event_type);
        assert_eq!(raw.hash.len(), 64, "{}", raw.event_type);
    }
}

#[test]
fn raw_to_decoded_to_resealed_gives_the_same_hash() {
    for raw in common::sealed() {
        let stored = RawEnvelope::from_json_bytes(&raw.to_json_bytes());
        let decoded = stored.and_then(|r| r.decode());
        let Ok(env) = decoded else {
            panic!("{} does not decode: {decoded:?}", raw.event_type)
        };
        let resealed = RawEnvelope::seal(meta_of(&env), &env.prev_hash, &env.event);
        assert_eq!(resealed.hash, raw.hash, "{}", raw.event_type);
        assert_eq!(resealed, raw);
    }
}

/// A named change to a sealed envelope.
type Tampering = (&'static str, fn(&mut RawEnvelope));

/// Each hashed part of the envelope, changed in a way a forger might try.
fn tamperings() -> Vec<Tampering> {
    vec![
        ("data", |r| r.data["user_id"] = json!(common::owner())),
        ("data, a field added", |r| r.data["extra"] = json!(true)),
        ("actor", |r| r.actor = Actor::Operator),
        ("occurred_at", |r| {
            r.occurred_at += chrono::Duration::seconds(1)
        }),
        ("tenant_seq", |r| r.tenant_seq += 1),
        ("prev_hash", |r| r.prev_hash = GENESIS_HASH.to_owned()),
        ("type", |r| r.event_type = "user.reactivated".to_owned()),
        ("schema_version", |r| r.schema_version += 1),
        ("reason", |r| r.reason = Some("nothing to see".to_owned())),
        ("correlation_id", |r| r.correlation_id = uuid::Uuid::nil()),
        ("idempotency_key", |r| {
            r.idempotency_key = Some("other".to_owned())
        }),
        ("event_id", |r| {
            r.event_id = rollcall_events::EventId::from_u128(7)
        }),
        ("tenant_id", |r| {
            r.tenant_id = rollcall_events::TenantId::from_u128(7)
        }),
    ]
}

#[test]
fn changing_any_hashed_field_breaks_the_hash() {
    // A member's event, so `user_id` is in the data and the actor is a user.
    let original = common::sealed()
        .into_iter()
        .find(|r| r.event_type == "user.roles_changed");
    let Some(original) = original else {
        panic!("no user.roles_changed sample")
    };
    assert!(original.hash_is_valid());
    for (field, tamper) in tamperings() {
        let mut forged = original.clone();
        tamper(&mut forged);
        assert_ne!(forged, original, "{field}: the tampering changed nothing");
        assert!(!forged.hash_is_valid(), "{field}: change went unnoticed");
    }
}

#[test]
fn the_log_position_is_not_hashed() {
    // The position is only known once the log has stored the event.
    for mut raw in common::sealed() {
        raw.position = 42;
        assert!(raw.hash_is_valid(), "{}", raw.event_type);
    }
}

#[test]
fn a_rewritten_event_breaks_the_link_to_the_next() {
    let samples = common::samples();
    let mut chain: Vec<RawEnvelope> = Vec::new();
    for (i, event) in samples.iter().enumerate() {
        let prev = chain.last().map_or(GENESIS_HASH, |r| r.hash.as_str());
        let raw = RawEnvelope::seal(common::meta(i), prev, event);
        chain.push(raw);
    }
    let links_hold = |chain: &[RawEnvelope]| {
        chain
            .windows(2)
            .all(|w| w[0].hash_is_valid() && w[1].prev_hash == w[0].compute_hash())
    };
    assert!(links_hold(&chain));

    // A forger who rewrites an event and fixes its own hash still breaks the link.
    let mut forged = chain.clone();
    forged[3].data["label"] = json!("Superuser");
    forged[3].hash = forged[3].compute_hash();
    assert!(forged[3].hash_is_valid());
    assert!(!links_hold(&forged));
}

/// The canonical encoding spelled out the slow, obvious way: the whole envelope
/// as a `serde_json::Value` (sorted maps), written out compactly.
fn hash_by_the_definition(raw: &RawEnvelope) -> String {
    use sha2::{Digest, Sha256};
    let canonical = json!({
        "actor": raw.actor,
        "correlation_id": raw.correlation_id,
        "data": raw.data,
        "event_id": raw.event_id,
        "idempotency_key": raw.idempotency_key,
        "occurred_at": raw.occurred_at,
        "prev_hash": raw.prev_hash,
        "reason": raw.reason,
        "schema_version": raw.schema_version,
        "tenant_id": raw.tenant_id,
        "tenant_seq": raw.tenant_seq,
        "type": raw.event_type,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[test]
fn the_hash_is_the_definition_s_on_every_sample_and_on_awkward_content() {
    for mut raw in common::sealed() {
        assert_eq!(
            raw.compute_hash(),
            hash_by_the_definition(&raw),
            "{}",
            raw.event_type
        );
        // Content a stored event may carry: keys out of order, nesting, escapes,
        // non-ASCII, numbers of every kind, both optional fields set or not.
        raw.data = serde_json::from_str(
            r#"{"z": 1, "a": {"y": [1.5, -2, 18446744073709551615], "b": null},
                "quote\"d": "line\nbreak\ttab \u0001 é 漢 😀", "m": [], "e": {}}"#,
        )
        .expect("literal JSON");
        raw.reason = Some("a \"reason\" \\ with\nlines".to_owned());
        raw.idempotency_key = raw.idempotency_key.take().xor(Some("key-1".to_owned()));
        assert_eq!(
            raw.compute_hash(),
            hash_by_the_definition(&raw),
            "{}",
            raw.event_type
        );
    }
}
