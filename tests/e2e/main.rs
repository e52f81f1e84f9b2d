//! End-to-end tests: the real `rollcall` binary, driven over HTTP, on the embedded
//! log and on a nats-server each test starts for itself.

mod cluster;
mod compliance;
mod console;
mod faults;
mod first_hour;
mod gateway_auth;
mod gateway_consistency;
mod gateway_endpoints;
mod gateway_events;
mod gateway_nats_outage;
mod invitations;
mod jetbuilt;
mod jethub;
mod jobtracker;
mod jtek;
mod security;
mod shutdown;
mod smoke;
mod support;
mod walkthrough;
