//! Shared test helpers: the real `rollcall` binary as a child process.

pub mod server;
