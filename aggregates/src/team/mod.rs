//! The Team aggregate: one per tenant, the consistency boundary for every rule that
//! spans members (unique emails, never zero active admins, roles in use).
//!
//! `decide` turns a command into one event or a rejection; `evolve` folds an event
//! into the state. Both are pure.

mod command;
mod decide;
mod error;
mod evolve;
mod reach;
mod state;

pub use command::{Command, Context};
pub use decide::decide;
pub use error::DomainError;
pub use evolve::evolve;
pub use reach::{AccessReach, access_reach};
pub use state::{Invitation, Member, MemberStatus, Override, Role, Team, TeamParts, Vocabulary};
