//! Invitation tokens: the credential an invitee presents to accept.
//!
//! A token is `base64url(tenant_id ‖ invitation_id ‖ invitee_id ‖ nonce) "."
//! base64url(HMAC-SHA256(key, same bytes))`, under the installation's invitation
//! key (its own key, not the one member tokens are signed with). Only the server
//! can mint or verify one; the nonce stored in `user.invited` grants nothing by
//! itself, and a resend draws a new nonce so an older link stops working (the
//! decider compares nonces, and checks the invitation is the invitee's).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rollcall_events::{InvitationId, TenantId, UserId};
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
    #[error("the invitation key cannot key an HMAC")]
    Key,
}

fn mac(secret: &[u8]) -> Result<HmacSha256, TokenError> {
    // HMAC takes keys of every length; the error exists for MACs that do not.
    <HmacSha256 as Mac>::new_from_slice(secret).map_err(|_| TokenError::Key)
}

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteToken {
    pub tenant: TenantId,
    pub invitation: InvitationId,
    pub invitee: UserId,
    pub nonce: String,
}

/// Bytes before the nonce: three ids.
const IDS: usize = 48;

fn payload(token: &InviteToken) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(IDS + token.nonce.len());
    bytes.extend_from_slice(token.tenant.as_uuid().as_bytes());
    bytes.extend_from_slice(token.invitation.as_uuid().as_bytes());
    bytes.extend_from_slice(token.invitee.as_uuid().as_bytes());
    bytes.extend_from_slice(token.nonce.as_bytes());
    bytes
}

/// Mints the token for one send of an invitation.
pub fn mint(secret: &[u8], token: &InviteToken) -> Result<String, TokenError> {
    let bytes = payload(token);
    let mut m = mac(secret)?;
    m.update(&bytes);
    let sig = m.finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&bytes),
        URL_SAFE_NO_PAD.encode(sig)
    ))
}

/// Verifies a token (the signature comparison is constant-time) and returns what
/// it names.
pub fn verify(secret: &[u8], token: &str) -> Result<InviteToken, TokenError> {
    let (payload_b64, sig_b64) = token.trim().split_once('.').ok_or(TokenError::Shape)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Encoding)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .map_err(|_| TokenError::Encoding)?;
    let mut m = mac(secret)?;
    m.update(&bytes);
    m.verify_slice(&sig).map_err(|_| TokenError::Signature)?;
    if bytes.len() <= IDS {
        return Err(TokenError::Payload);
    }
    let id = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .and_then(|b| Uuid::from_slice(b).ok())
            .ok_or(TokenError::Payload)
    };
    Ok(InviteToken {
        tenant: TenantId(id(0..16)?),
        invitation: InvitationId(id(16..32)?),
        invitee: UserId(id(32..48)?),
        nonce: String::from_utf8(bytes[IDS..].to_vec()).map_err(|_| TokenError::Payload)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const SECRET: &[u8] = b"server secret";

    fn named(nonce: &str) -> InviteToken {
        InviteToken {
            tenant: TenantId::from_u128(7),
            invitation: InvitationId::from_u128(9),
            invitee: UserId::from_u128(11),
            nonce: nonce.to_owned(),
        }
    }

    #[test]
    fn a_minted_token_verifies_to_what_it_names() {
        let token = mint(SECRET, &named("abc123")).unwrap();
        assert_eq!(verify(SECRET, &token), Ok(named("abc123")));
    }

    #[test]
    fn another_secret_or_a_changed_payload_is_refused() {
        let token = mint(SECRET, &named("abc123")).unwrap();
        assert_eq!(verify(b"other", &token), Err(TokenError::Signature));
        let (_, sig) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{sig}",
            URL_SAFE_NO_PAD.encode(payload(&named("abc124")))
        );
        assert_eq!(verify(SECRET, &forged), Err(TokenError::Signature));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert_eq!(verify(SECRET, "no-dot"), Err(TokenError::Shape));
        assert_eq!(verify(SECRET, "!!.??"), Err(TokenError::Encoding));
        assert_eq!(verify(SECRET, ""), Err(TokenError::Shape));
    }
}
