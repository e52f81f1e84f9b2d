//! Shared test helpers: a private nats-server per test, and the event log's
//! conformance suite that every backend runs.

pub mod log_conformance;
pub mod nats;

pub use nats::NatsServer;
