//! The envelope around every event, in two forms: [`RawEnvelope`], exactly as
//! stored (type, schema version and untyped data), and [`Envelope`], decoded and
//! upcast to the newest schema. The hash chain is computed and verified over the
//! raw form, so upcasting never changes what was signed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::event::Event;
use crate::ids::{Actor, EventId, TenantId, UserId};
use crate::upcast::{self, DecodeError};

/// `prev_hash` of a tenant's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEnvelope {
    pub event_id: EventId,
    pub tenant_id: TenantId,
    /// The log's global sequence; assigned on append, 0 before. Not hashed: a
    /// JetStream position is only known once the server has stored the message.
    #[serde(default)]
    pub position: u64,
    /// 1, 2, 3… within the tenant.
    pub tenant_seq: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(default)]
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    /// The client's `Idempotency-Key`, so a retried command finds its first answer
    /// in the tenant's own stream, on any gateway and after any restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub data: Value,
}

/// Everything about an event except its content and chain, supplied by the caller
/// (ids and time come in from outside; nothing here reads a clock).
#[derive(Debug, Clone, PartialEq)]
pub struct EventMeta {
    pub event_id: EventId,
    pub tenant_id: TenantId,
    pub tenant_seq: u64,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    pub idempotency_key: Option<String>,
}

/// The hashed fields of a [`RawEnvelope`], borrowed, in the canonical order: the
/// fields are declared sorted by name, every one of them is a string, a number or
/// null, and `data` is a `Value`, whose objects are sorted maps (serde_json's
/// `preserve_order` feature is not enabled). So the bytes are the canonical ones.
#[derive(Serialize)]
struct Canonical<'a> {
    actor: Actor,
    correlation_id: &'a Uuid,
    data: &'a Value,
    event_id: &'a EventId,
    idempotency_key: &'a Option<String>,
    occurred_at: &'a DateTime<Utc>,
    prev_hash: &'a str,
    reason: &'a Option<String>,
    schema_version: u32,
    tenant_id: &'a TenantId,
    tenant_seq: u64,
    #[serde(rename = "type")]
    event_type: &'a str,
}

impl<'a> Canonical<'a> {
    fn of(raw: &'a RawEnvelope) -> Self {
        Canonical {
            actor: raw.actor,
            correlation_id: &raw.correlation_id,
            data: &raw.data,
            event_id: &raw.event_id,
            idempotency_key: &raw.idempotency_key,
            occurred_at: &raw.occurred_at,
            prev_hash: &raw.prev_hash,
            reason: &raw.reason,
            schema_version: raw.schema_version,
            tenant_id: &raw.tenant_id,
            tenant_seq: raw.tenant_seq,
            event_type: &raw.event_type,
        }
    }
}

impl RawEnvelope {
    /// Encodes `event` in its newest schema and links it to the tenant's chain.
    pub fn seal(meta: EventMeta, prev_hash: &str, event: &Event) -> RawEnvelope {
        let data = match serde_json::to_value(event) {
            Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
            // Every Event variant serialises to {"type", "data"}; anything else is a
            // bug in the vocabulary, caught by the snapshot tests.
            _ => Value::Null,
        };
        let mut raw = RawEnvelope {
            event_id: meta.event_id,
            tenant_id: meta.tenant_id,
            position: 0,
            tenant_seq: meta.tenant_seq,
            event_type: event.type_name().to_owned(),
            schema_version: event.schema_version(),
            occurred_at: meta.occurred_at,
            actor: meta.actor,
            reason: meta.reason,
            correlation_id: meta.correlation_id,
            idempotency_key: meta.idempotency_key,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
            data,
        };
        raw.hash = raw.compute_hash();
        raw
    }

    /// SHA-256 over the canonical encoding: a JSON object of every field but
    /// `position` and `hash`, keys sorted at every level, no whitespace.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        // Written straight into the hasher, without copying `data` into a `Value`
        // of the whole object first. Writing into a hasher cannot fail, and every
        // field serialises (strings, numbers, and a `Value` whose keys are
        // strings): there is no error that could turn into the hash of nothing.
        if let Err(e) = serde_json::to_writer(&mut hasher, &Canonical::of(self)) {
            unreachable!("the canonical encoding of an envelope cannot fail: {e}");
        }
        hex::encode(hasher.finalize())
    }

    /// Does the stored hash match the content?
    pub fn hash_is_valid(&self) -> bool {
        self.compute_hash() == self.hash
    }

    /// Decodes and upcasts into the newest schema.
    pub fn decode(&self) -> Result<Envelope, DecodeError> {
        let data = upcast::upcast(&self.event_type, self.schema_version, &self.data)?;
        let event =
            Event::from_parts(&self.event_type, &data).map_err(|e| DecodeError::Malformed {
                event_type: self.event_type.clone(),
                schema_version: self.schema_version,
                message: e.to_string(),
            })?;
        Ok(Envelope {
            event_id: self.event_id,
            tenant_id: self.tenant_id,
            position: self.position,
            tenant_seq: self.tenant_seq,
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            actor: self.actor,
            reason: self.reason.clone(),
            correlation_id: self.correlation_id,
            idempotency_key: self.idempotency_key.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
            event,
        })
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<RawEnvelope, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Envelope(e.to_string()))
    }
}

/// A decoded event in its newest schema, with its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub event_id: EventId,
    pub tenant_id: TenantId,
    pub position: u64,
    pub tenant_seq: u64,
    /// The version it was stored with (the data is already upcast).
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    pub idempotency_key: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub event: Event,
}

impl Envelope {
    pub fn type_name(&self) -> &'static str {
        self.event.type_name()
    }

    pub fn target(&self) -> Option<UserId> {
        self.event.target()
    }
}
