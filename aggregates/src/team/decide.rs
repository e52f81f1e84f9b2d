//! `decide`: one command against the current Team yields one event or a rejection.

use crate::team::{Command, Context, DomainError, Team};
use rollcall_events::Event;

/// Decides a command. Pure: the same team, command and context always give the
/// same answer.
pub fn decide(team: &Team, command: &Command, ctx: &Context) -> Result<Event, DomainError> {
    todo!()
}
