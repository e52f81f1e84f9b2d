//! `evolve`: folds one event into the Team. Total and infallible, because an event
//! is a fact: replay never fails on it.

use rollcall_events::Envelope;

use crate::team::Team;

/// Folds one envelope into the state. The envelope, not only the event, is needed
/// because overrides remember who set them, when, and at which log position.
pub fn evolve(team: Team, envelope: &Envelope) -> Team {
    todo!()
}
