//! rollcall-gateway
