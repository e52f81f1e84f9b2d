//! Old stored payloads still read: the fixtures are events as an older build wrote
//! them, hash included. They decode into the newest shape while the stored hash
//! keeps verifying over the raw, old data.

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_events::upcast::current_version;
use rollcall_events::{
    DecodeError, Event, InvitationId, MemberKind, Permission, RawEnvelope, RoleKey, Toggle, UserId,
    UserInvited,
};
use serde_json::json;

fn fixture(name: &str) -> RawEnvelope {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).map_err(|e| e.to_string());
    let raw = bytes.and_then(|b| RawEnvelope::from_json_bytes(&b).map_err(|e| e.to_string()));
    match raw {
        Ok(raw) => raw,
        Err(e) => panic!("fixture {name}: {e}"),
    }
}

fn expires(day: u32, minute: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2025, 6, day, 14, minute, 0)
        .single()
        .unwrap_or_default()
}

#[test]
fn user_invited_is_at_schema_version_2() {
    assert_eq!(current_version("user.invited"), 2);
}

#[test]
fn user_invited_v1_with_one_role_decodes_to_roles_and_member_kind() {
    let raw = fixture("user.invited.v1.json");
    assert_eq!(raw.schema_version, 1);
    assert_eq!(raw.data.get("role"), Some(&json!("user")));
    assert_eq!(raw.data.get("kind"), None);
    assert!(
        raw.hash_is_valid(),
        "the v1 hash must verify over the v1 data"
    );

    let decoded = raw
        .decode()
        .map(|env| (env.schema_version, env.hash, env.event));
    let want = Event::UserInvited(UserInvited {
        user_id: UserId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0a03),
        invitation_id: InvitationId::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0b03),
        email: "sam@acme.example".to_owned(),
        display_name: "Sam Sales".to_owned(),
        kind: MemberKind::Member,
        roles: vec![RoleKey::from("user")],
        overrides: BTreeMap::from([(Permission::from("reporting.view"), Toggle::Allow)]),
        nonce: "v1-n0nce".to_owned(),
        expires_at: expires(5, 30),
    });
    // The envelope still says what was stored (v1, its hash); only the event is new.
    assert_eq!(decoded, Ok((1, raw.hash.clone(), want)));

    // Decoding never touches the raw form, so the hash still verifies afterwards.
    assert!(raw.hash_is_valid());
}

#[test]
fn user_invited_v1_without_a_role_decodes_to_no_roles() {
    let raw = fixture("user.invited.v1-no-role.json");
    assert!(raw.hash_is_valid());
    let decoded = raw.decode().map(|env| env.event);
    let Ok(Event::UserInvited(invited)) = decoded else {
        panic!("expected user.invited, got {decoded:?}")
    };
    assert_eq!(
        (invited.roles, invited.kind),
        (Vec::new(), MemberKind::Member)
    );
    assert!(invited.overrides.is_empty());
}

#[test]
fn the_v1_fixtures_form_a_chain() {
    let first = fixture("user.invited.v1.json");
    let second = fixture("user.invited.v1-no-role.json");
    assert_eq!(second.prev_hash, first.compute_hash());
}

#[test]
fn a_v1_event_resealed_today_is_a_different_v2_event() {
    // Re-sealing writes the newest schema, so the hash differs: stored events are
    // never rewritten, which is why verification runs over the raw form.
    let raw = fixture("user.invited.v1.json");
    let Ok(env) = raw.decode() else {
        panic!("v1 fixture does not decode")
    };
    let meta = rollcall_events::EventMeta {
        event_id: env.event_id,
        tenant_id: env.tenant_id,
        tenant_seq: env.tenant_seq,
        occurred_at: env.occurred_at,
        actor: env.actor,
        reason: env.reason.clone(),
        correlation_id: env.correlation_id,
        idempotency_key: env.idempotency_key.clone(),
    };
    let resealed = RawEnvelope::seal(meta, &env.prev_hash, &env.event);
    assert_eq!(resealed.schema_version, 2);
    assert_eq!(resealed.data["roles"], json!(["user"]));
    assert_ne!(resealed.hash, raw.hash);
}

#[test]
fn a_v1_role_that_is_not_a_string_is_malformed() {
    let mut raw = fixture("user.invited.v1.json");
    raw.data["role"] = json!(["user", "admin"]);
    let err = raw.decode().err();
    let Some(DecodeError::Malformed {
        event_type,
        schema_version,
        message,
    }) = err
    else {
        panic!("expected Malformed, got {err:?}")
    };
    assert_eq!((event_type.as_str(), schema_version), ("user.invited", 1));
    assert!(message.contains("`role` is not a string"), "{message}");
}

#[test]
fn an_unknown_type_is_rejected_by_name() {
    let mut raw = fixture("user.invited.v1.json");
    raw.event_type = "user.teleported".to_owned();
    assert_eq!(
        raw.decode().err(),
        Some(DecodeError::UnknownType("user.teleported".to_owned()))
    );
}

#[test]
fn a_schema_version_from_the_future_is_rejected_with_both_versions() {
    let mut raw = fixture("user.invited.v1.json");
    raw.schema_version = 3;
    assert_eq!(
        raw.decode().err(),
        Some(DecodeError::FutureVersion {
            event_type: "user.invited".to_owned(),
            version: 3,
            known: 2,
        })
    );

    let mut login = fixture("user.invited.v1.json");
    login.event_type = "user.logged_in".to_owned();
    login.schema_version = 2;
    login.data = json!({"user_id": "01900000-0000-7000-8000-000000000a03"});
    assert_eq!(
        login.decode().err(),
        Some(DecodeError::FutureVersion {
            event_type: "user.logged_in".to_owned(),
            version: 2,
            known: 1,
        })
    );
}

#[test]
fn current_data_missing_a_field_is_malformed() {
    let mut raw = fixture("user.invited.v1.json");
    raw.schema_version = 2;
    raw.data = json!({"user_id": "01900000-0000-7000-8000-000000000a03"});
    let err = raw.decode().err();
    let Some(DecodeError::Malformed {
        event_type,
        schema_version,
        message,
    }) = err
    else {
        panic!("expected Malformed, got {err:?}")
    };
    assert_eq!((event_type.as_str(), schema_version), ("user.invited", 2));
    assert!(message.contains("missing field"), "{message}");
}

#[test]
fn bytes_that_are_not_an_envelope_are_rejected() {
    let err = RawEnvelope::from_json_bytes(br#"{"type": "user.invited"}"#).err();
    assert!(matches!(err, Some(DecodeError::Envelope(_))), "{err:?}");
}
