//! End-to-end tests: the real `rollcall` binary, driven over HTTP, on the embedded
//! log and on a nats-server each test starts for itself.

mod compliance;
mod invitations;
mod smoke;
mod support;
