//! Rollcall's event vocabulary: ids, the catalog document, events, the envelope with
//! its hash chain, upcasting of old schemas, and the event log.

pub mod catalog;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod log;
pub mod upcast;

pub use catalog::{CatalogDoc, Scope};
pub use envelope::{Envelope, EventMeta, GENESIS_HASH, RawEnvelope};
pub use event::*;
pub use ids::*;
pub use log::{Appended, EventLog, EventStream, LogError};
pub use upcast::DecodeError;
