//! Shared helpers of the gateway's tests: an embedded log in a temporary directory,
//! and sealed events for a tenant, built with fixed ids and times so wire formats
//! can be snapshotted.

#![allow(dead_code)]

pub mod outbox;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rollcall_events::{
    Actor, Event, EventId, EventMeta, GENESIS_HASH, InvitationAccepted, InvitationCanceled,
    InvitationId, InvitationResent, MemberKind, RawEnvelope, RoleKey, TenantCreated, TenantId,
    UserId, UserInvited,
};
use rollcall_log::{EmbeddedLog, EventLog};
use uuid::Uuid;

/// An embedded (sled) event log in a fresh directory; keep the directory alive
/// as long as the log.
pub fn embedded_log() -> (tempfile::TempDir, Arc<dyn EventLog>) {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path()).unwrap();
    (dir, Arc::new(log))
}

/// Far enough ahead that no invitation of a test expires while it runs.
pub fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 12, 0, 0).unwrap()
}

/// One tenant's stream under construction: sequence and hash chain.
pub struct TenantFixture {
    pub tenant: TenantId,
    seq: u64,
    prev_hash: String,
}

impl TenantFixture {
    pub fn new(n: u128) -> TenantFixture {
        TenantFixture {
            tenant: TenantId::from_u128(n),
            seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }

    /// Seals the tenant's next event with an id and time derived from its sequence.
    pub fn seal(&mut self, event: &Event) -> RawEnvelope {
        self.seq += 1;
        let meta = EventMeta {
            event_id: EventId::from_u128(
                (self.tenant.as_uuid().as_u128() << 32) | self.seq as u128,
            ),
            tenant_id: self.tenant,
            tenant_seq: self.seq,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
                + chrono::Duration::seconds(self.seq as i64),
            actor: Actor::Operator,
            reason: None,
            correlation_id: Uuid::from_u128(self.seq as u128),
            idempotency_key: None,
        };
        let raw = RawEnvelope::seal(meta, &self.prev_hash, event);
        self.prev_hash = raw.hash.clone();
        raw
    }

    /// Seals and appends; returns the position.
    pub async fn append(&mut self, log: &dyn EventLog, event: Event) -> u64 {
        let raw = self.seal(&event);
        log.append(self.tenant, raw.tenant_seq - 1, &raw)
            .await
            .unwrap()
            .position
    }
}

pub fn tenant_created(name: &str, product: &str) -> Event {
    let catalog = rollcall_catalogs::by_name(product).unwrap();
    Event::TenantCreated(TenantCreated {
        name: name.to_owned(),
        owner_roles: catalog.owner_roles.clone(),
        catalog,
        plan: "standard".to_owned(),
        owner_id: UserId::from_u128(1),
        owner_email: "owner@example.com".to_owned(),
        owner_display_name: "Olivia Owner".to_owned(),
    })
}

pub fn user_invited(user: u128, invitation: u128, email: &str, name: &str, nonce: &str) -> Event {
    Event::UserInvited(UserInvited {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(invitation),
        email: email.to_owned(),
        display_name: name.to_owned(),
        kind: MemberKind::Member,
        roles: vec![RoleKey::new("sales")],
        overrides: Default::default(),
        nonce: nonce.to_owned(),
        expires_at: far_future(),
    })
}

pub fn invitation_resent(user: u128, invitation: u128, nonce: &str) -> Event {
    Event::InvitationResent(InvitationResent {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(invitation),
        nonce: nonce.to_owned(),
        previous_expires_at: far_future(),
        expires_at: far_future() + chrono::Duration::hours(1),
    })
}

pub fn invitation_accepted(user: u128, invitation: u128) -> Event {
    Event::InvitationAccepted(InvitationAccepted {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(invitation),
    })
}

pub fn invitation_canceled(user: u128, invitation: u128) -> Event {
    Event::InvitationCanceled(InvitationCanceled {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(invitation),
    })
}
