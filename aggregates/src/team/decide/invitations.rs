//! Invitations: invite, resend, cancel, accept.

use std::collections::{BTreeMap, BTreeSet};

use rollcall_events::{
    Event, InvitationAccepted, InvitationCanceled, InvitationId, InvitationResent, Permission,
    Toggle, UserInvited,
};

use crate::limits;
use crate::team::DomainError;
use crate::team::evolve::expiry;

use super::{Decider, Decision, Invite, valid_email};

impl Decider<'_> {
    pub(super) fn invite_user(&self, c: Invite<'_>) -> Decision {
        self.require_mfa()?;
        let email = valid_email(c.email)?;
        if self.team.member_by_email(&email).is_some() {
            return Err(DomainError::EmailTaken { email });
        }
        if self.team.members.contains_key(&c.user_id) {
            return Err(DomainError::UserIdTaken { user_id: c.user_id });
        }
        if self.invitee(c.invitation_id).is_ok() {
            return Err(DomainError::InvitationIdTaken {
                invitation_id: c.invitation_id,
            });
        }
        limits::count(self.team.members.len() + 1, "members", limits::MAX_MEMBERS)?;
        let display_name = limits::text(c.display_name, "display name", limits::MAX_NAME_CHARS)?;
        let nonce = limits::text(c.nonce, "nonce", limits::MAX_NONCE_CHARS)?;
        limits::count(
            c.overrides.len(),
            "permissions",
            limits::MAX_INVITE_OVERRIDES,
        )?;
        let roles = self.roles(c.roles)?;
        let always_on = self.catalog.always_on(&self.team.plan);
        let mut overrides = BTreeMap::new();
        let mut allowed = BTreeSet::new();
        for (p, t) in c.overrides {
            if !self.catalog.has_permission(p) {
                return Err(DomainError::UnknownPermission {
                    permission: p.clone(),
                });
            }
            match t {
                Toggle::Inherit => continue,
                Toggle::Deny if always_on.contains(p) => {
                    return Err(DomainError::AlwaysOn {
                        plan: self.team.plan.clone(),
                        permission: p.clone(),
                    });
                }
                Toggle::Allow => {
                    self.check_available(p)?;
                    allowed.insert(p.clone());
                }
                Toggle::Deny => {}
            }
            overrides.insert(p.clone(), *t);
        }
        let mut granted = self.role_grants(&roles);
        granted.extend(allowed);
        self.check_external(c.kind, &granted)?;
        let event = Event::UserInvited(UserInvited {
            user_id: c.user_id,
            invitation_id: c.invitation_id,
            email,
            display_name,
            kind: c.kind,
            roles,
            overrides,
            nonce,
            expires_at: self.expiry()?,
        });
        let denied: BTreeSet<Permission> = c
            .overrides
            .iter()
            .filter(|(_, t)| **t == Toggle::Deny)
            .map(|(p, _)| p.clone())
            .collect();
        let granted = granted.difference(&denied).cloned().collect();
        self.check_prerequisites(&self.preview_member(c.user_id, &event), c.user_id, &granted)?;
        Ok(event)
    }

    pub(super) fn resend_invitation(&self, invitation_id: InvitationId, nonce: &str) -> Decision {
        self.require_mfa()?;
        let m = self.pending_invitee(invitation_id)?;
        let nonce = limits::text(nonce, "nonce", limits::MAX_NONCE_CHARS)?;
        let Some(inv) = &m.invitation else {
            return Err(DomainError::UnknownInvitation { invitation_id });
        };
        if inv.nonce == nonce {
            return Err(DomainError::Unchanged { what: "nonce" });
        }
        Ok(Event::InvitationResent(InvitationResent {
            user_id: m.user_id,
            invitation_id,
            nonce,
            previous_expires_at: inv.expires_at,
            expires_at: self.expiry()?,
        }))
    }

    /// When an invitation sent now expires under the catalog's time-to-live.
    fn expiry(&self) -> Result<chrono::DateTime<chrono::Utc>, DomainError> {
        let ttl_hours = self.catalog.doc().invite_ttl_hours;
        expiry(self.ctx.now, ttl_hours).ok_or(DomainError::InvalidExpiry { ttl_hours })
    }

    pub(super) fn cancel_invitation(&self, invitation_id: InvitationId) -> Decision {
        let m = self.pending_invitee(invitation_id)?;
        Ok(Event::InvitationCanceled(InvitationCanceled {
            user_id: m.user_id,
            invitation_id,
        }))
    }

    pub(super) fn accept_invitation(&self, invitation_id: InvitationId, nonce: &str) -> Decision {
        let m = self.pending_invitee(invitation_id)?;
        let Some(inv) = &m.invitation else {
            return Err(DomainError::UnknownInvitation { invitation_id });
        };
        if inv.nonce != nonce {
            return Err(DomainError::InvitationSuperseded { invitation_id });
        }
        if self.ctx.now > inv.expires_at {
            return Err(DomainError::InvitationExpired {
                invitation_id,
                expired_at: inv.expires_at,
            });
        }
        Ok(Event::InvitationAccepted(InvitationAccepted {
            user_id: m.user_id,
            invitation_id,
        }))
    }
}
