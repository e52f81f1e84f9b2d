//! Idempotency keys: how a retried command finds its first answer.
//!
//! The key travels in the event's envelope, so the answer survives restarts and is
//! found by every gateway that folds the tenant. A key answers for
//! [`KEY_TTL`] after its first use; after that it is forgotten (and memory holds
//! one day of keys, not all of them). A keyed tenant creation goes further: the
//! tenant's id is derived from the key, so two gateways racing with the same key
//! write to the same tenant and the log lets only one of them create it. A key is stored as
//! `<fingerprint>/<client key>`, the fingerprint being 16 hex digits of SHA-256 over
//! the actor, the request (less the ids and nonces drawn fresh for each attempt)
//! and the reason: the same key with a different request is refused, not replayed.

use chrono::{DateTime, Utc};
use rollcall_aggregates::Command;
use rollcall_events::{Actor, TenantId};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::service::Executed;

/// How long a key answers with its first answer.
pub const KEY_TTL: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// The first answer given for a key.
#[derive(Debug, Clone)]
pub(crate) struct Remembered {
    /// `None` for keys written without one (another writer): matched on the key alone.
    pub fingerprint: Option<String>,
    /// When the key was first used.
    pub at: DateTime<Utc>,
    pub executed: Executed,
}

/// The id of the tenant a keyed `CreateTenant` creates: the same for every retry
/// with that key, on every gateway.
pub fn tenant_id_for_key(key: &str) -> TenantId {
    let digest = Sha256::digest([b"rollcall tenant\0".as_slice(), key.as_bytes()].concat());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A version-8 (custom) UUID.
    TenantId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// A key as found in an envelope.
pub(crate) struct StoredKey<'a> {
    pub fingerprint: Option<&'a str>,
    pub key: &'a str,
}

impl<'a> StoredKey<'a> {
    pub fn parse(stored: &'a str) -> StoredKey<'a> {
        match stored.split_once('/') {
            Some((fp, key)) if fp.len() == 16 && fp.bytes().all(|b| b.is_ascii_hexdigit()) => {
                StoredKey {
                    fingerprint: Some(fp),
                    key,
                }
            }
            _ => StoredKey {
                fingerprint: None,
                key: stored,
            },
        }
    }

    pub fn format(fingerprint: &str, key: &str) -> String {
        format!("{fingerprint}/{key}")
    }
}

/// Fingerprint of a request: what must be equal for a retry to be "the same".
pub(crate) fn fingerprint(
    actor: Actor,
    command: &Command,
    reason: Option<&str>,
) -> Result<String, serde_json::Error> {
    // Fields the gateway draws fresh for every attempt; a retry differs in them only.
    let fresh: &[&str] = match command {
        Command::CreateTenant { .. } => &["tenant_id", "owner_id"],
        Command::InviteUser { .. } => &["user_id", "invitation_id", "nonce"],
        Command::ResendInvitation { .. } => &["nonce"],
        _ => &[],
    };
    let mut value = serde_json::to_value(command)?;
    if let Value::Object(map) = &mut value {
        for field in fresh {
            map.remove(*field);
        }
    }
    let canonical = serde_json::json!({
        "actor": actor.to_string(),
        "command": value,
        "reason": reason,
    });
    let bytes = serde_json::to_vec(&canonical)?;
    Ok(hex::encode(&Sha256::digest(&bytes)[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rollcall_events::{InvitationId, UserId};

    fn invite(user: u128, email: &str) -> Command {
        Command::InviteUser {
            user_id: UserId::from_u128(user),
            invitation_id: InvitationId::from_u128(user + 100),
            email: email.to_owned(),
            display_name: "Ann".to_owned(),
            roles: vec![],
            overrides: Default::default(),
            kind: Default::default(),
            nonce: format!("nonce-{user}"),
        }
    }

    #[test]
    fn fresh_ids_do_not_change_the_fingerprint_but_the_request_does() {
        let print = |c: &Command, why| fingerprint(Actor::Operator, c, why).unwrap();
        let a = print(&invite(1, "a@x.io"), None);
        let b = print(&invite(2, "a@x.io"), None);
        let c = print(&invite(1, "b@x.io"), None);
        let d = print(&invite(1, "a@x.io"), Some("why"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn stored_keys_round_trip_and_foreign_keys_are_kept_whole() {
        let stored = StoredKey::format("0123456789abcdef", "client/key");
        let parsed = StoredKey::parse(&stored);
        assert_eq!(parsed.fingerprint, Some("0123456789abcdef"));
        assert_eq!(parsed.key, "client/key");
        let foreign = StoredKey::parse("plain-key");
        assert_eq!(foreign.fingerprint, None);
        assert_eq!(foreign.key, "plain-key");
    }
}
