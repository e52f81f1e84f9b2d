//! Rollcall's gateway: the command service, the HTTP API (commands, queries, the
//! check, auth, problem+json errors), the `serve` entry point of the binary, and
//! the log's consumers that live here: the invitation mailer and the SSE event
//! stream.
//!
//! The gateway is thin: handlers parse, build a command, call the service and map
//! the result; every rule lives in `rollcall-aggregates`.

pub mod auth;
pub mod fresh;
pub mod http;
pub mod invitation_link;
pub mod invite_token;
pub mod limits;
pub mod mailer;
pub mod problem;
pub mod run;
pub mod server;
pub mod service;
pub mod stream;
pub mod telemetry;
