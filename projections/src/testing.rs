//! Test fixtures, compiled for every consumer so other crates' tests can reuse
//! them: histories of sealed events across tenants with fixed ids and times (so
//! every view and snapshot is deterministic), and projections in a temporary db.
//!
//! Panics on broken fixtures: a test should report them, not work around them.

use std::collections::HashMap;

use crate::{ProjectionError, Projections};
use chrono::{DateTime, Duration, Utc};
use rollcall_aggregates::testing::t0;
use rollcall_aggregates::{Command, Context, DomainError, Team, decide, evolve};
use rollcall_events::{Actor, Event, EventId, EventMeta, GENESIS_HASH, RawEnvelope, TenantId};

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
