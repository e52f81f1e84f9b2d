//! Invitation tokens: the credential an invitee presents to accept.
//!
//! A token is `base64url(tenant_id ‖ invitation_id ‖ nonce) "." base64url(HMAC-SHA256(secret,
//! same bytes))`. Only the server, holding the secret, can mint or verify one; the
//! nonce stored in `user.invited` grants nothing by itself, and a resend draws a new
//! nonce so an older link stops working (the decider compares nonces).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rollcall_events::{InvitationId, TenantId};
use sha2::Sha256;
use thiserror::Error;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused. Deliberately vague towards the caller: the token is
/// never echoed, and a forged token is told apart from a garbled one only here.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("the token is not of the form payload.signature")]
    Shape,
    #[error("the token is not valid base64url")]
    Encoding,
    #[error("the token's payload is too short")]
    Payload,
    #[error("the token's signature does not match")]
    Signature,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; fall back to an empty
    // key rather than panic on a path that serves requests.
    HmacSha256::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()))
}

fn payload(tenant: TenantId, invitation: InvitationId, nonce: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(32 + nonce.len());
    bytes.extend_from_slice(tenant.as_uuid().as_bytes());
    bytes.extend_from_slice(invitation.as_uuid().as_bytes());
    bytes.extend_from_slice(nonce.as_bytes());
    bytes
}

/// Mints the token for one send of an invitation.
pub fn mint(secret: &[u8], tenant: TenantId, invitation: InvitationId, nonce: &str) -> String {
    let bytes = payload(tenant, invitation, nonce);
    let mut m = mac(secret);
    m.update(&bytes);
    let sig = m.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&bytes),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Verifies a token (the signature comparison is constant-time) and returns what
/// it names: tenant, invitation and nonce.
pub fn verify(secret: &[u8], token: &str) -> Result<(TenantId, InvitationId, String), TokenError> {
    let (payload_b64, sig_b64) = token.trim().split_once('.').ok_or(TokenError::Shape)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Encoding)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| TokenError::Encoding)?;
    let mut m = mac(secret);
    m.update(&bytes);
    m.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    if bytes.len() <= 32 {
        return Err(TokenError::Payload);
    }
    let tenant = Uuid::from_slice(&bytes[..16]).map_err(|_| TokenError::Payload)?;
    let invitation = Uuid::from_slice(&bytes[16..32]).map_err(|_| TokenError::Payload)?;
    let nonce = String::from_utf8(bytes[32..].to_vec()).map_err(|_| TokenError::Payload)?;
    Ok((TenantId(tenant), InvitationId(invitation), nonce))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SECRET: &[u8] = b"server secret";

    fn ids() -> (TenantId, InvitationId) {
        (TenantId::from_u128(7), InvitationId::from_u128(9))
    }

    #[test]
    fn a_minted_token_verifies_to_what_it_names() {
        let (t, i) = ids();
        let token = mint(SECRET, t, i, "abc123");
        assert_eq!(verify(SECRET, &token), Ok((t, i, "abc123".to_owned())));
    }

    #[test]
    fn another_secret_or_a_changed_payload_is_refused() {
        let (t, i) = ids();
        let token = mint(SECRET, t, i, "abc123");
        assert_eq!(verify(b"other", &token), Err(TokenError::Signature));
        let (_, sig) = token.split_once('.').unwrap();
        let forged = format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload(t, i, "abc124")));
        assert_eq!(verify(SECRET, &forged), Err(TokenError::Signature));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert_eq!(verify(SECRET, "no-dot"), Err(TokenError::Shape));
        assert_eq!(verify(SECRET, "!!.??"), Err(TokenError::Encoding));
        assert_eq!(verify(SECRET, ""), Err(TokenError::Shape));
    }
}
