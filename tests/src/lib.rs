//! Shared test helpers: a private nats-server per test, the event log's
//! conformance suite that every backend runs, and the real `rollcall` binary as a
//! child process.

pub mod log_conformance;
pub mod nats;
pub mod server;

pub use nats::NatsServer;
