//! Rollcall's event vocabulary: ids, the catalog document, events, the envelope with
//! its hash chain and upcasting of old schemas. Pure: no storage or runtime
//! dependency, so the domain core builds on it alone. The event log that stores
//! these envelopes is the `rollcall-log` crate (`events/log`).

pub mod catalog;
pub mod envelope;
pub mod event;
pub mod ids;
pub mod upcast;

pub use catalog::{CatalogDoc, Scope};
pub use envelope::{Envelope, EventMeta, GENESIS_HASH, RawEnvelope};
pub use event::*;
pub use ids::*;
pub use upcast::DecodeError;
