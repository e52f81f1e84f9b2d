//! Shared test helpers: a private nats-server per test, the real `rollcall` binary
//! as a child process, and the event log's conformance suite that every backend runs.

pub mod log_conformance;
pub mod nats;
pub mod server;

pub use nats::NatsServer;
pub use server::{RollcallServer, ServerOptions};
