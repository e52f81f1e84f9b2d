//! Specification helpers, compiled for every consumer so other crates' tests can
//! reuse them: `given([events]).when(command).then(event)` / `.then_err(error)`,
//! envelope sealing and a few fixture catalogs.
//!
//! Events given are sealed into real envelopes (`RawEnvelope::seal(..).decode()`),
//! tenant_seq and position 1, 2, 3…, so `evolve` sees exactly what the log hands it.

use chrono::{DateTime, TimeZone, Utc};
use rollcall_events::catalog::CatalogDoc;
use rollcall_events::{
    Actor, Envelope, Event, EventId, EventMeta, GENESIS_HASH, RawEnvelope, TenantId, UserId,
};

use crate::team::{Command, Context, DomainError, Team, decide, evolve};

/// The tenant every fixture lives in.
pub const TENANT: TenantId = TenantId(uuid::Uuid::from_u128(0x7e7a));
/// The owner created with every fixture tenant: the first admin.
pub const OWNER: UserId = UserId(uuid::Uuid::from_u128(1));

/// A fixed instant; fixtures never read the clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Seals events (each with its actor) into decoded envelopes continuing `team`'s
/// chain: tenant_seq and position follow the team's last ones.
pub fn seal_after(team: &Team, events: impl IntoIterator<Item = (Actor, Event)>) -> Vec<Envelope> {
    todo!()
}

/// Folds envelopes into a team.
pub fn fold<'a>(team: Team, envelopes: impl IntoIterator<Item = &'a Envelope>) -> Team {
    envelopes.into_iter().fold(team, evolve)
}

/// The events so far, folded from empty; the starting point of a specification.
pub struct Given {
    team: Team,
}

/// A command about to be decided against a [`Given`] team.
pub struct When {
    team: Team,
    command: Command,
    ctx: Context,
}

/// Starts a specification from events sealed with the operator as actor.
pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    todo!()
}

impl Given {
    /// Appends more events caused by `actor`.
    pub fn and_by(self, actor: Actor, events: impl IntoIterator<Item = Event>) -> Given {
        todo!()
    }

    pub fn team(&self) -> &Team {
        &self.team
    }

    pub fn into_team(self) -> Team {
        self.team
    }

    /// The command, by default from [`OWNER`] at [`t0`] without MFA.
    pub fn when(self, command: Command) -> When {
        When {
            team: self.team,
            command,
            ctx: Context {
                now: t0(),
                actor: Actor::User(OWNER),
                mfa: false,
            },
        }
    }
}

impl When {
    pub fn by(mut self, actor: Actor) -> When {
        self.ctx.actor = actor;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> When {
        self.ctx.now = now;
        self
    }

    pub fn with_mfa(mut self) -> When {
        self.ctx.mfa = true;
        self
    }

    pub fn result(&self) -> Result<Event, DomainError> {
        decide(&self.team, &self.command, &self.ctx)
    }

    /// Asserts the decision and returns the team with the event folded in.
    #[track_caller]
    pub fn then(self, expected: Event) -> Team {
        todo!()
    }

    /// Asserts the rejection.
    #[track_caller]
    pub fn then_err(self, expected: DomainError) {
        pretty_assertions::assert_eq!(self.result(), Err(expected));
    }
}

/// Fixture catalogs.
pub mod catalogs {
    use super::*;

    /// A small CRM-like catalog exercising every feature: scopes, prerequisites,
    /// a lifting permission, plans with always-on and unavailable permissions.
    pub fn small() -> CatalogDoc {
        todo!()
    }
}

/// `tenant.created` for [`TENANT`] with [`OWNER`] and the catalog's owner roles.
pub fn tenant_created(catalog: CatalogDoc) -> Event {
    todo!()
}
