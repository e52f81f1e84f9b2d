//! Test fixtures behind the `testing` feature, so other crates' tests can reuse
//! them: histories of sealed events across tenants with fixed ids and times (so
//! every view and snapshot is deterministic), and projections in a temporary db.
//!
//! Panics on broken fixtures: a test should report them, not work around them.

use std::collections::HashMap;

use crate::{ProjectionError, Projections};
use chrono::{DateTime, Duration, Utc};
use rollcall_aggregates::testing::{catalogs, t0, tenant_created};
use rollcall_aggregates::{Command, Context, DomainError, Team, decide, evolve};
use rollcall_events::{
    Actor, Event, EventId, EventMeta, GENESIS_HASH, InvitationAccepted, InvitationId, MemberKind,
    Permission, PermissionToggled, RawEnvelope, RoleKey, TenantCreated, TenantId, Toggle, UserId,
    UserInvited, UserLoggedIn,
};

/// A log in memory: events sealed per tenant chain, positions 1, 2, 3…, the time
/// one minute per position after `t0`.
#[derive(Default)]
pub struct History {
    pub events: Vec<RawEnvelope>,
    chains: HashMap<TenantId, (u64, String)>,
    pub teams: HashMap<TenantId, Team>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    pub fn position(&self) -> u64 {
        self.events.len() as u64
    }

    pub fn at(position: u64) -> DateTime<Utc> {
        t0() + Duration::minutes(position as i64)
    }

    /// Seals `event` as the tenant's next, with a reason when given.
    pub fn push(&mut self, tenant: TenantId, actor: Actor, event: Event) -> RawEnvelope {
        self.push_with(tenant, actor, None, event)
    }

    pub fn push_with(
        &mut self,
        tenant: TenantId,
        actor: Actor,
        reason: Option<&str>,
        event: Event,
    ) -> RawEnvelope {
        let position = self.position() + 1;
        let (seq, prev) = self
            .chains
            .get(&tenant)
            .cloned()
            .unwrap_or((0, GENESIS_HASH.to_owned()));
        let meta = EventMeta {
            event_id: EventId::from_u128(0xe000_0000 + u128::from(position)),
            tenant_id: tenant,
            tenant_seq: seq + 1,
            occurred_at: History::at(position),
            actor,
            reason: reason.map(str::to_owned),
            correlation_id: uuid::Uuid::from_u128(u128::from(position)),
            idempotency_key: None,
        };
        let mut raw = RawEnvelope::seal(meta, &prev, &event);
        raw.position = position;
        self.chains.insert(tenant, (seq + 1, raw.hash.clone()));
        let envelope = match raw.decode() {
            Ok(envelope) => envelope,
            Err(e) => panic!("{} does not decode after sealing: {e}", raw.event_type),
        };
        let team = self.teams.remove(&tenant).unwrap_or_default();
        self.teams.insert(tenant, evolve(team, &envelope));
        self.events.push(raw.clone());
        raw
    }

    /// Decides `command` against the tenant's team (at the time of the next
    /// position) and records the event when it is accepted.
    pub fn decide(
        &mut self,
        tenant: TenantId,
        actor: Actor,
        command: Command,
    ) -> Result<RawEnvelope, DomainError> {
        let team = self.teams.get(&tenant).cloned().unwrap_or_default();
        let ctx = Context {
            now: History::at(self.position() + 1),
            actor,
            mfa: true,
            reason: None,
        };
        let event = decide(&team, &command, &ctx)?;
        Ok(self.push(tenant, actor, event))
    }

    pub fn team(&self, tenant: TenantId) -> Team {
        self.teams.get(&tenant).cloned().unwrap_or_default()
    }
}

/// Fresh projections in a temporary sled database.
pub fn projections() -> Projections {
    let opened = sled::Config::new()
        .temporary(true)
        .open()
        .map_err(ProjectionError::from)
        .and_then(Projections::open);
    match opened {
        Ok(projections) => projections,
        Err(e) => panic!("temporary projections do not open: {e}"),
    }
}

/// The tenant of [`busy_history`]'s tenant number `t`.
pub fn busy_tenant(t: u64) -> TenantId {
    TenantId::from_u128(0x1000_0000 + u128::from(t))
}

/// The `n`th member (1 = owner) of [`busy_history`]'s tenant number `t`.
pub fn busy_user(t: u64, n: u64) -> UserId {
    UserId::from_u128((u128::from(t) << 16) + u128::from(n) + 0x2000_0000)
}

/// A valid history over `tenants` tenants of the small catalog, interleaved round
/// robin so every batch touches many tenants: each tenant is created with its
/// owner, two members join, then logins and a permission toggled on and off, until
/// `events` events in all.
pub fn busy_history(tenants: u64, events: u64) -> History {
    let mut h = History::new();
    let mut step = vec![0u64; tenants as usize];
    let mut t = 0u64;
    while h.position() < events {
        let (actor, event) = busy_event(t, step[t as usize]);
        step[t as usize] += 1;
        h.push(busy_tenant(t), actor, event);
        t = (t + 1) % tenants;
    }
    h
}

/// Step `s` of [`busy_history`]'s tenant number `t`, and who causes it.
pub fn busy_event(t: u64, s: u64) -> (Actor, Event) {
    let owner = busy_user(t, 1);
    let member = busy_user(t, 2);
    let event = match s {
        0 => Event::TenantCreated(TenantCreated {
            owner_id: owner,
            owner_email: format!("owner{t}@busy.test"),
            owner_display_name: format!("Owner {t}"),
            ..tenant_created_small()
        }),
        1 => invite(busy_user(t, 2), "user"),
        3 => invite(busy_user(t, 3), "viewer"),
        2 | 4 => Event::InvitationAccepted(InvitationAccepted {
            user_id: busy_user(t, s / 2 + 1),
            invitation_id: InvitationId(busy_user(t, s / 2 + 1).as_uuid()),
        }),
        _ => match s % 4 {
            0 | 2 => Event::UserLoggedIn(UserLoggedIn {
                user_id: busy_user(t, 1 + (s / 4) % 3),
                source_ip: None,
            }),
            1 => toggle(member, Toggle::Inherit, Toggle::Deny),
            _ => toggle(member, Toggle::Deny, Toggle::Inherit),
        },
    };
    let actor = if s == 0 {
        Actor::Operator
    } else {
        Actor::User(owner)
    };
    (actor, event)
}

/// [`busy_history`]'s events sealed round by round without keeping them or
/// folding any state: for logs too big to hold in memory (benchmarks). Each
/// round has one event per tenant, so a round's appends may run concurrently.
pub struct BusyRounds {
    tenants: u64,
    round: u64,
    chains: Vec<String>,
}

impl BusyRounds {
    pub fn new(tenants: u64) -> BusyRounds {
        BusyRounds {
            tenants,
            round: 0,
            chains: vec![GENESIS_HASH.to_owned(); tenants as usize],
        }
    }

    /// The next round: one sealed event per tenant (position 0: the log assigns it).
    pub fn next_round(&mut self) -> Vec<RawEnvelope> {
        let s = self.round;
        self.round += 1;
        (0..self.tenants)
            .map(|t| {
                let (actor, event) = busy_event(t, s);
                let meta = EventMeta {
                    event_id: EventId::from_u128((u128::from(t) << 64) + u128::from(s) + 1),
                    tenant_id: busy_tenant(t),
                    tenant_seq: s + 1,
                    occurred_at: t0() + Duration::seconds(s as i64),
                    actor,
                    reason: None,
                    correlation_id: uuid::Uuid::from_u128((u128::from(t) << 64) + u128::from(s)),
                    idempotency_key: None,
                };
                let raw = RawEnvelope::seal(meta, &self.chains[t as usize], &event);
                self.chains[t as usize] = raw.hash.clone();
                raw
            })
            .collect()
    }
}

fn tenant_created_small() -> TenantCreated {
    match tenant_created(catalogs::small()) {
        Event::TenantCreated(e) => e,
        other => panic!("tenant_created gave {}", other.type_name()),
    }
}

fn invite(user: UserId, role: &str) -> Event {
    Event::UserInvited(UserInvited {
        user_id: user,
        invitation_id: InvitationId(user.as_uuid()),
        email: format!("{user}@busy.test"),
        display_name: format!("Member {user}"),
        kind: MemberKind::Member,
        roles: vec![RoleKey::from(role)],
        overrides: Default::default(),
        nonce: "n".to_owned(),
        expires_at: t0() + Duration::hours(72),
    })
}

fn toggle(user: UserId, from: Toggle, to: Toggle) -> Event {
    Event::PermissionToggled(PermissionToggled {
        user_id: user,
        permission: Permission::from("contacts.delete"),
        from,
        to,
    })
}
