//! Upcasting: older stored schemas are lifted to the newest one when decoded.
//!
//! A chain of pure functions keyed by `(type, from_version)`. Stored events are
//! never rewritten; a change of meaning is a new event type, not a new version.

use std::borrow::Cow;

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("the envelope is not valid JSON of the expected shape: {0}")]
    Envelope(String),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("`{event_type}` has schema version {version}, newer than this build knows ({known})")]
    FutureVersion {
        event_type: String,
        version: u32,
        known: u32,
    },
    #[error("`{event_type}` v{schema_version} data does not match its schema: {message}")]
    Malformed {
        event_type: String,
        schema_version: u32,
        message: String,
    },
}

/// Newest schema version of a type; 1 for types that never changed.
pub fn current_version(event_type: &str) -> u32 {
    match event_type {
        "user.invited" => 2,
        _ => 1,
    }
}

type Step = fn(Value) -> Result<Value, String>;

/// The step that lifts `event_type` data from `from` to `from + 1`.
fn step(event_type: &str, from: u32) -> Option<Step> {
    match (event_type, from) {
        ("user.invited", 1) => Some(user_invited_v1_to_v2),
        _ => None,
    }
}

/// Lifts stored data of `event_type` at `version` to the newest version. Data
/// already at the newest version is borrowed, not copied.
pub fn upcast<'a>(
    event_type: &str,
    version: u32,
    data: &'a Value,
) -> Result<Cow<'a, Value>, DecodeError> {
    if !crate::event::Event::TYPES.contains(&event_type) {
        return Err(DecodeError::UnknownType(event_type.to_owned()));
    }
    let known = current_version(event_type);
    if version > known || version == 0 {
        return Err(DecodeError::FutureVersion {
            event_type: event_type.to_owned(),
            version,
            known,
        });
    }
    let mut data = Cow::Borrowed(data);
    for from in version..known {
        let lift = step(event_type, from).ok_or_else(|| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            schema_version: from,
            message: format!("no upcaster from v{from}"),
        })?;
        let lifted = lift(data.into_owned()).map_err(|message| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            schema_version: from,
            message,
        })?;
        data = Cow::Owned(lifted);
    }
    Ok(data)
}

/// v1 invited with exactly one `role` and had no member kind (everyone was an
/// employee). v2 carries `roles` (multi-role catalogs) and `kind`.
fn user_invited_v1_to_v2(data: Value) -> Result<Value, String> {
    let Value::Object(mut map) = data else {
        return Err("user.invited v1 data is not an object".to_owned());
    };
    let roles = match map.remove("role") {
        Some(Value::String(role)) => vec![Value::String(role)],
        Some(Value::Null) | None => Vec::new(),
        Some(other) => return Err(format!("user.invited v1 `role` is not a string: {other}")),
    };
    map.insert("roles".to_owned(), Value::Array(roles));
    map.entry("kind")
        .or_insert_with(|| Value::String("member".to_owned()));
    Ok(Value::Object(map))
}
