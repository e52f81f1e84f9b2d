//! Rollcall's read side: the projector folds the event log into sled views (team
//! list, member views with effective permissions, catalog, audit history) and
//! keeps every tenant's `Team` in memory for the check.
//!
//! Reducers are pure (`reduce`): an envelope maps to a list of [`Write`]s, which the
//! runner (`projector`) applies together with the checkpoint in one atomic sled
//! batch, so a crash never applies an event twice or skips one.

mod audit;
mod error;
mod projections;
mod projector;
mod reduce;
mod state;
mod store;
pub mod testing;
mod views;

pub use audit::{
    AccessDelta, AuditEntry, AuditPage, AuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT,
};
pub use error::{ProjectionError, WaitTimeout};
pub use projections::Projections;
pub use projector::{MAX_BATCH, ProjectorHandle};
pub use reduce::{TenantState, reduce};
pub use store::{Quarantined, ViewTree, Write};
pub use views::{CatalogView, EffectivePermission, MemberView, RoleView, UserView};
