//! rollcall-gateway

pub mod analytics;
pub mod mailer;
pub mod stream;
