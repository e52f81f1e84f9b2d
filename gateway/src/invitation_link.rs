//! `rollcall invitation-link`: the accept link of an open invitation, minted from
//! the invitation's newest nonce in the log with the server's invitation key,
//! so an invitation can be tried without a mailbox. The link is the invitee's
//! credential: it is returned to the caller only, never logged, never in an error.

use chrono::Utc;
use rollcall_aggregates::MemberStatus;
use rollcall_events::{InvitationId, TenantId};
use rollcall_replay::TeamHistory;
use rollcall_replay::cli::LogArgs;
use thiserror::Error;

use crate::invite_token;
use crate::mailer::accept_link;

#[derive(Debug, Error)]
pub enum LinkError {
    #[error("{0}")]
    Open(String),
    #[error(transparent)]
    Replay(#[from] rollcall_replay::ReplayError),
    #[error("no such tenant {0}")]
    NoSuchTenant(TenantId),
    #[error("tenant {tenant} has no invitation {invitation}")]
    NoSuchInvitation {
        tenant: TenantId,
        invitation: InvitationId,
    },
    #[error("invitation {invitation} is {state}; it has no link that works")]
    Closed {
        invitation: InvitationId,
        state: &'static str,
    },
}

/// The accept link (`<public_url>/accept?token=…`) of `invitation`'s newest send.
pub async fn invitation_link(
    log: &LogArgs,
    invite_key: &[u8],
    tenant: TenantId,
    invitation: InvitationId,
    public_url: &str,
) -> Result<String, LinkError> {
    let opened = log.open().await.map_err(LinkError::Open)?;
    let team = TeamHistory::new(opened.log, None)
        .team_at(tenant, Utc::now())
        .await?;
    if team.tenant_seq == 0 {
        return Err(LinkError::NoSuchTenant(tenant));
    }
    let (member, sent) = team
        .invitee(invitation)
        .and_then(|m| m.invitation.as_ref().map(|i| (m, i)))
        .ok_or(LinkError::NoSuchInvitation { tenant, invitation })?;
    let closed = |state| LinkError::Closed { invitation, state };
    if sent.accepted_at.is_some() {
        return Err(closed("accepted"));
    }
    if sent.canceled_at.is_some() || member.status == MemberStatus::Canceled {
        return Err(closed("canceled"));
    }
    if sent.expires_at <= Utc::now() {
        return Err(closed("expired (resend it for a new link)"));
    }
    let token = invite_token::mint(
        invite_key,
        &invite_token::InviteToken {
            tenant,
            invitation,
            invitee: member.user_id,
            nonce: sent.nonce.clone(),
        },
    )
    .map_err(|e| LinkError::Open(e.to_string()))?;
    Ok(accept_link(public_url, &token))
}
