//! Shared fixtures of the replay tests: histories built through the real decider
//! (so every event is one the domain would produce), sealed into a hash chain, and
//! a minimal in-memory `EventLog` to serve them.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::StreamExt;
use rollcall_aggregates::testing::{OWNER, catalogs};
use rollcall_aggregates::{Command, Context, DomainError, Team, decide, evolve};
use rollcall_events::{
    Actor, Envelope, Event, EventId, EventMeta, InvitationId, Permission, RawEnvelope, RoleKey,
    TenantId, Toggle, UserId,
};
use rollcall_log::{Appended, EventLog, EventStream, LogError};
use uuid::Uuid;

/// The fixture tenant (fixed, so snapshots are stable).
pub const TENANT: TenantId = TenantId(Uuid::from_u128(0xac3e));

pub const ANN: UserId = UserId(Uuid::from_u128(2));
pub const BOB: UserId = UserId(Uuid::from_u128(3));
pub const CARA: UserId = UserId(Uuid::from_u128(4));

/// 2026-03-02 at `h:m` UTC.
pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0)
        .single()
        .unwrap_or_default()
}

/// One tenant's history, built command by command through `decide`.
pub struct Scenario {
    pub tenant: TenantId,
    pub team: Team,
    pub raw: Vec<RawEnvelope>,
    pub decoded: Vec<Envelope>,
    /// Positions are offset so several scenarios can share a log.
    pub position_base: u64,
}

impl Scenario {
    pub fn new(tenant: TenantId) -> Self {
        Scenario {
            tenant,
            team: Team::default(),
            raw: Vec::new(),
            decoded: Vec::new(),
            position_base: 0,
        }
    }

    /// Decides `command` by `actor` at `now`; on success seals and folds the event.
    pub fn try_run(
        &mut self,
        actor: Actor,
        now: DateTime<Utc>,
        reason: Option<&str>,
        command: Command,
    ) -> Result<&RawEnvelope, DomainError> {
        let ctx = Context {
            now,
            actor,
            mfa: true,
            reason: None,
        };
        let event = decide(&self.team, &command, &ctx)?;
        Ok(self.record(actor, now, reason, &event))
    }

    /// Seals and folds an event as given, without deciding it (for bulk histories
    /// whose events are valid by construction).
    pub fn record(
        &mut self,
        actor: Actor,
        now: DateTime<Utc>,
        reason: Option<&str>,
        event: &Event,
    ) -> &RawEnvelope {
        let seq = self.team.tenant_seq + 1;
        let meta = EventMeta {
            event_id: EventId(Uuid::from_u128(
                (self.tenant.as_uuid().as_u128() << 32) | u128::from(seq),
            )),
            tenant_id: self.tenant,
            tenant_seq: seq,
            occurred_at: now,
            actor,
            reason: reason.map(str::to_owned),
            correlation_id: Uuid::from_u128(u128::from(seq)),
            idempotency_key: None,
        };
        let mut raw = RawEnvelope::seal(meta, &self.team.head_hash, event);
        raw.position = self.position_base + seq;
        let decoded = raw.decode().expect("a sealed event decodes");
        self.team = evolve(std::mem::take(&mut self.team), &decoded);
        self.raw.push(raw);
        self.decoded.push(decoded);
        self.raw.last().expect("just pushed")
    }

    #[track_caller]
    pub fn run(
        &mut self,
        actor: Actor,
        now: DateTime<Utc>,
        reason: Option<&str>,
        command: Command,
    ) -> &RawEnvelope {
        match self.try_run(actor, now, reason, command.clone()) {
            Ok(raw) => raw,
            Err(e) => panic!("{} was rejected: {e:?}", command.name()),
        }
    }

    pub fn create(&mut self, now: DateTime<Utc>) {
        self.run(
            Actor::Operator,
            now,
            None,
            Command::CreateTenant {
                tenant_id: self.tenant,
                name: "Acme".into(),
                catalog: catalogs::small(),
                plan: None,
                owner_id: OWNER,
                owner_email: "olive@acme.test".into(),
                owner_display_name: "Olive Owner".into(),
            },
        );
    }

    pub fn invite(&mut self, now: DateTime<Utc>, user: UserId, name: &str, roles: &[&str]) {
        self.run(
            Actor::User(OWNER),
            now,
            None,
            Command::InviteUser {
                user_id: user,
                invitation_id: InvitationId(user.as_uuid()),
                email: format!("{}@acme.test", name.to_lowercase()),
                display_name: name.into(),
                roles: roles.iter().map(|r| RoleKey::from(*r)).collect(),
                overrides: Default::default(),
                kind: Default::default(),
                nonce: "nonce-1".into(),
            },
        );
    }

    pub fn accept(&mut self, now: DateTime<Utc>, user: UserId) {
        self.run(
            Actor::User(user),
            now,
            None,
            Command::AcceptInvitation {
                invitation_id: InvitationId(user.as_uuid()),
                nonce: "nonce-1".into(),
            },
        );
    }
}

/// Acme's morning: three members join, access changes, one leaves, one is renamed,
/// one invitation stays open.
pub fn acme() -> Scenario {
    let mut s = Scenario::new(TENANT);
    s.create(at(9, 0));
    s.invite(at(9, 10), ANN, "Ann", &["user"]);
    s.accept(at(9, 20), ANN);
    s.invite(at(9, 30), BOB, "Bob", &["viewer"]);
    s.accept(at(9, 35), BOB);
    s.run(
        Actor::User(OWNER),
        at(10, 0),
        Some("quarterly billing audit"),
        Command::TogglePermission {
            user_id: BOB,
            permission: Permission::from("billing.view"),
            state: Toggle::Allow,
        },
    );
    s.run(
        Actor::User(OWNER),
        at(10, 30),
        Some("promoted to manager"),
        Command::ChangeRoles {
            user_id: ANN,
            roles: vec![RoleKey::from("manager")],
        },
    );
    s.run(
        Actor::User(OWNER),
        at(11, 0),
        Some("left the company"),
        Command::DeactivateUser {
            user_id: BOB,
            reassign_to: Some(ANN),
        },
    );
    s.run(
        Actor::User(OWNER),
        at(11, 30),
        Some("married"),
        Command::UpdateProfile {
            user_id: ANN,
            display_name: Some("Ann Smith".into()),
            must_change_password: None,
            links: None,
        },
    );
    s.invite(at(12, 0), CARA, "Cara", &["viewer"]);
    s
}

/// A stream over already built envelopes, as a log read would hand them out.
pub fn stream_of(events: Vec<RawEnvelope>) -> EventStream {
    futures::stream::iter(events.into_iter().map(Ok)).boxed()
}

/// The smallest `EventLog` that keeps the contract's sequence rules, in memory.
#[derive(Default, Clone)]
pub struct MemoryLog {
    events: Arc<Mutex<Vec<RawEnvelope>>>,
}

impl MemoryLog {
    /// A log holding exactly these events (their positions are kept).
    pub fn with(events: Vec<RawEnvelope>) -> Self {
        MemoryLog {
            events: Arc::new(Mutex::new(events)),
        }
    }

    fn snapshot(&self) -> Vec<RawEnvelope> {
        self.events.lock().expect("log lock").clone()
    }
}

#[async_trait]
impl EventLog for MemoryLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        let mut events = self.events.lock().expect("log lock");
        let actual = events
            .iter()
            .filter(|e| e.tenant_id == tenant)
            .map(|e| e.tenant_seq)
            .max()
            .unwrap_or(0);
        if actual != expected {
            return Err(LogError::Conflict {
                tenant,
                expected,
                actual,
            });
        }
        let position = events.last().map_or(1, |e| e.position + 1);
        let mut stored = event.clone();
        stored.position = position;
        events.push(stored);
        Ok(Appended {
            position,
            duplicate: false,
        })
    }

    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        Ok(stream_of(
            self.snapshot()
                .into_iter()
                .filter(|e| e.position >= from)
                .collect(),
        ))
    }

    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError> {
        Ok(stream_of(
            self.snapshot()
                .into_iter()
                .filter(|e| e.tenant_id == tenant && e.tenant_seq >= from_seq)
                .collect(),
        ))
    }

    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        self.read(from).await
    }

    async fn head(&self) -> Result<u64, LogError> {
        Ok(self.snapshot().last().map_or(0, |e| e.position))
    }

    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        Ok(self
            .snapshot()
            .iter()
            .filter(|e| e.tenant_id == tenant)
            .map(|e| e.tenant_seq)
            .max()
            .unwrap_or(0))
    }
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}
