//! Rollcall's gateway: the command service, the HTTP API (commands, queries, the
//! check, auth, problem+json errors) and the `serve` entry point of the binary.
//!
//! The gateway is thin: handlers parse, build a command, call the service and map
//! the result; every rule lives in `rollcall-aggregates`.

pub mod auth;
pub mod fresh;
pub mod http;
pub mod invite_token;
pub mod problem;
pub mod read;
pub mod run;
pub mod service;
pub mod telemetry;
pub mod views;
