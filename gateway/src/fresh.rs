//! Fresh ids, nonces and secrets. The domain core draws no randomness, so the
//! gateway draws it here, once per request, and hands it in with the command.

use rand::RngCore;
use rollcall_events::{EventId, InvitationId, TenantId, UserId};
use uuid::Uuid;

/// Event ids are uuid v7: time-ordered, so they sort roughly as they were written.
pub fn event_id() -> EventId {
    EventId(Uuid::now_v7())
}

pub fn tenant_id() -> TenantId {
    TenantId(Uuid::new_v4())
}

pub fn user_id() -> UserId {
    UserId(Uuid::new_v4())
}

pub fn invitation_id() -> InvitationId {
    InvitationId(Uuid::new_v4())
}

pub fn correlation_id() -> Uuid {
    Uuid::new_v4()
}

/// 32 random bytes, hex: invitation nonces, generated operator tokens and secrets.
pub fn secret_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An invitation nonce (one per send).
pub fn nonce() -> String {
    secret_hex()
}
