//! What the mailer remembers, durably, in its own sled tree: the last position it
//! folded (its checkpoint), each open invitation with its newest nonce and whether a
//! message for it is still owed, and each tenant's name and product label.
//!
//! Folding an event and moving the checkpoint happen in one sled batch, so a restart
//! resumes exactly after the last folded event. A message is owed from the moment
//! its `user.invited` / `invitation.resent` is folded until it is sent; an accept,
//! a cancel or a newer resend folded before the send replaces or drops what is owed,
//! which is how a mailer that was behind never sends a stale link.
//!
//! Memory holds only what the next events and sends need: every open
//! invitation's tenant and invitee (to find them on a deactivation or a profile
//! change), and the whole record of those whose message is still owed, in the
//! order they are owed. A sent invitation's record is read back from the tree
//! when an event changes it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rollcall_events::{Event, InvitationId, TenantId, UserId};
use rollcall_projections::Applied;
use serde::{Deserialize, Serialize};

use super::MailerError;

const CHECKPOINT_KEY: &[u8] = b"checkpoint";
const INVITATION_PREFIX: &[u8] = b"invitation/";
const TENANT_PREFIX: &[u8] = b"tenant/";

/// An invitation that has not been accepted or canceled yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInvitation {
    pub tenant_id: TenantId,
    pub invitation_id: InvitationId,
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    /// The newest nonce: the only one whose link still works.
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
    /// Position of the event that asked for the newest message.
    pub position: u64,
    /// True once a resend asked for the newest message.
    pub resent: bool,
    /// A message for the newest nonce is owed and not yet sent.
    pub due: bool,
}

/// How a tenant is named in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLabel {
    pub name: String,
    /// The catalog's label (`Jtek`, `Jet Hub`…).
    pub product: String,
}

/// Whose an open invitation is, and whether its message is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Invitee {
    tenant_id: TenantId,
    user_id: UserId,
    /// Position of the event that asked for the owed message, if one is.
    owed: Option<u64>,
}

/// The mailer's durable state and what of it is kept in memory.
pub struct MailerState {
    tree: sled::Tree,
    checkpoint: u64,
    /// Every open invitation.
    open: BTreeMap<InvitationId, Invitee>,
    /// The open invitations whose newest message is owed, whole, by the
    /// position of the event that asked for it.
    due: BTreeMap<u64, OpenInvitation>,
    tenants: HashMap<TenantId, TenantLabel>,
}

impl MailerState {
    /// Reads the state a previous run left in `tree` (empty on the first run).
    pub fn load(tree: sled::Tree) -> Result<MailerState, MailerError> {
        let checkpoint = match tree.get(CHECKPOINT_KEY)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| MailerError::CorruptState("checkpoint".into()))?,
            ),
            None => 0,
        };
        let (mut open, mut due) = (BTreeMap::new(), BTreeMap::new());
        for entry in tree.scan_prefix(INVITATION_PREFIX) {
            let (_, value) = entry?;
            let invitation = invitation_of(&value)?;
            open.insert(invitation.invitation_id, Invitee::of(&invitation));
            if invitation.due {
                due.insert(invitation.position, invitation);
            }
        }
        let mut tenants = HashMap::new();
        for entry in tree.scan_prefix(TENANT_PREFIX) {
            let (key, value) = entry?;
            let id = uuid_after(&key, TENANT_PREFIX)
                .ok_or_else(|| MailerError::CorruptState("tenant key".into()))?;
            let label: TenantLabel = serde_json::from_slice(&value)
                .map_err(|e| MailerError::CorruptState(format!("tenant: {e}")))?;
            tenants.insert(TenantId(id), label);
        }
        Ok(MailerState {
            tree,
            checkpoint,
            open,
            due,
            tenants,
        })
    }

    /// Position of the last event folded (0 before the first).
    pub fn checkpoint(&self) -> u64 {
        self.checkpoint
    }

    pub fn tenant(&self, tenant: TenantId) -> Option<&TenantLabel> {
        self.tenants.get(&tenant)
    }

    /// The open invitation `id`, owed or read back from the tree.
    pub fn invitation(&self, id: InvitationId) -> Result<Option<OpenInvitation>, MailerError> {
        let Some(invitee) = self.open.get(&id) else {
            return Ok(None);
        };
        if let Some(owed) = invitee.owed.and_then(|at| self.due.get(&at)) {
            return Ok(Some(owed.clone()));
        }
        match self.tree.get(invitation_key(id))? {
            Some(value) => invitation_of(&value).map(Some),
            None => Ok(None),
        }
    }

    /// The invitation whose message has been owed longest, if any is.
    pub fn first_due(&self) -> Option<OpenInvitation> {
        self.due.values().next().cloned()
    }

    pub fn has_due(&self) -> bool {
        !self.due.is_empty()
    }

    /// Folds one event, as the read side decoded it, and moves the checkpoint to
    /// its position, atomically. An event that cannot be decoded only moves the
    /// checkpoint: it cannot be about an invitation the mailer could act on anyway
    /// (the read side quarantined it, with the reason).
    pub fn apply(&mut self, record: &Applied) -> Result<(), MailerError> {
        let raw = &record.raw;
        let mut batch = sled::Batch::default();
        match record.envelope() {
            Some(envelope) => {
                self.fold(raw.tenant_id, raw.position, &envelope.event, &mut batch)?
            }
            None => tracing::warn!(
                position = raw.position,
                event_type = %raw.event_type,
                "mailer skips an event it cannot decode"
            ),
        }
        batch.insert(CHECKPOINT_KEY, &raw.position.to_be_bytes());
        self.tree.apply_batch(batch)?;
        self.checkpoint = raw.position;
        Ok(())
    }

    /// Moves the checkpoint past a record of the log that is not an event at all.
    pub fn pass(&mut self, position: u64) -> Result<(), MailerError> {
        if position > self.checkpoint {
            self.tree.insert(CHECKPOINT_KEY, &position.to_be_bytes())?;
            self.checkpoint = position;
        }
        Ok(())
    }

    /// Records that the owed message for `id` went out (or can never go out).
    pub fn settle(&mut self, id: InvitationId) -> Result<(), MailerError> {
        let owed = self.open.get_mut(&id).and_then(|i| i.owed.take());
        if let Some(mut invitation) = owed.and_then(|at| self.due.remove(&at)) {
            invitation.due = false;
            self.tree
                .insert(invitation_key(id), to_json(&invitation)?)?;
        }
        Ok(())
    }

    /// Makes everything written so far survive a crash.
    pub async fn flush(&self) -> Result<(), MailerError> {
        self.tree.flush_async().await?;
        Ok(())
    }

    fn fold(
        &mut self,
        tenant: TenantId,
        position: u64,
        event: &Event,
        batch: &mut sled::Batch,
    ) -> Result<(), MailerError> {
        match event {
            Event::TenantCreated(e) => {
                let label = TenantLabel {
                    name: e.name.clone(),
                    product: e.catalog.label.clone(),
                };
                batch.insert(tenant_key(tenant), to_json(&label)?);
                self.tenants.insert(tenant, label);
            }
            Event::CatalogDefined(e) => {
                if let Some(label) = self.tenants.get_mut(&tenant) {
                    label.product = e.catalog.label.clone();
                    batch.insert(tenant_key(tenant), to_json(label)?);
                }
            }
            Event::UserInvited(e) => {
                let invitation = OpenInvitation {
                    tenant_id: tenant,
                    invitation_id: e.invitation_id,
                    user_id: e.user_id,
                    email: e.email.clone(),
                    display_name: e.display_name.clone(),
                    nonce: e.nonce.clone(),
                    expires_at: e.expires_at,
                    position,
                    resent: false,
                    due: true,
                };
                self.put(invitation, batch)?;
            }
            Event::InvitationResent(e) => {
                // A resend of an invitation the mailer never saw open (accepted,
                // canceled, or older than this mailer's state) has no address to go to.
                if let Some(open) = self.invitation(e.invitation_id)? {
                    let invitation = OpenInvitation {
                        nonce: e.nonce.clone(),
                        expires_at: e.expires_at,
                        position,
                        resent: true,
                        due: true,
                        ..open
                    };
                    self.put(invitation, batch)?;
                }
            }
            Event::InvitationAccepted(e) => self.close(e.invitation_id, batch),
            Event::InvitationCanceled(e) => self.close(e.invitation_id, batch),
            Event::UserDeactivated(e) => {
                for id in self.invitations_of(tenant, e.user_id) {
                    self.close(id, batch);
                }
            }
            Event::ProfileUpdated(e) => {
                for id in self.invitations_of(tenant, e.user_id) {
                    if let Some(open) = self.invitation(id)? {
                        let renamed = OpenInvitation {
                            display_name: e.to.display_name.clone(),
                            ..open
                        };
                        self.put(renamed, batch)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn put(
        &mut self,
        invitation: OpenInvitation,
        batch: &mut sled::Batch,
    ) -> Result<(), MailerError> {
        let id = invitation.invitation_id;
        batch.insert(invitation_key(id), to_json(&invitation)?);
        let before = self.open.insert(id, Invitee::of(&invitation));
        if let Some(at) = before.and_then(|i| i.owed) {
            self.due.remove(&at);
        }
        if invitation.due {
            self.due.insert(invitation.position, invitation);
        }
        Ok(())
    }

    fn close(&mut self, id: InvitationId, batch: &mut sled::Batch) {
        if let Some(invitee) = self.open.remove(&id) {
            if let Some(at) = invitee.owed {
                self.due.remove(&at);
            }
            batch.remove(invitation_key(id));
        }
    }

    /// The open invitations of `user` in `tenant`.
    fn invitations_of(&self, tenant: TenantId, user: UserId) -> Vec<InvitationId> {
        self.open
            .iter()
            .filter(|(_, i)| i.tenant_id == tenant && i.user_id == user)
            .map(|(id, _)| *id)
            .collect()
    }
}

impl Invitee {
    fn of(invitation: &OpenInvitation) -> Invitee {
        Invitee {
            tenant_id: invitation.tenant_id,
            user_id: invitation.user_id,
            owed: invitation.due.then_some(invitation.position),
        }
    }
}

fn invitation_of(value: &[u8]) -> Result<OpenInvitation, MailerError> {
    serde_json::from_slice(value).map_err(|e| MailerError::CorruptState(format!("invitation: {e}")))
}

fn invitation_key(id: InvitationId) -> Vec<u8> {
    [INVITATION_PREFIX, id.as_uuid().as_bytes()].concat()
}

fn tenant_key(id: TenantId) -> Vec<u8> {
    [TENANT_PREFIX, id.as_uuid().as_bytes()].concat()
}

fn uuid_after(key: &[u8], prefix: &[u8]) -> Option<uuid::Uuid> {
    key.strip_prefix(prefix)
        .and_then(|rest| uuid::Uuid::from_slice(rest).ok())
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, MailerError> {
    serde_json::to_vec(value).map_err(|e| MailerError::CorruptState(e.to_string()))
}
