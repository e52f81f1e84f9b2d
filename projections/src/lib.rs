//! Rollcall's read side: the projector folds the event log — through the
//! domain's one `evolve` — into an in-memory access index that checks, queries
//! and request admission read without locks, and into sled, where its own
//! versioned records (teams, members, one audit entry per event) and its
//! checkpoint are committed together per batch, so a crash never applies an
//! event twice or skips one, and a restart resumes without the log's history.

mod audit;
mod error;
mod fold;
mod follow;
mod index;
mod projections;
mod projector;
mod store;
pub mod stored;
#[cfg(feature = "testing")]
pub mod testing;
pub mod views;

pub use audit::{AuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, change};
pub use error::{ProjectionError, WaitTimeout};
pub use follow::FollowStream;
pub use index::{Admission, MemberEntry, MembershipKey, ReadView, TenantIndex};
pub use projections::{Applied, Projections, Quarantined};
pub use projector::{MAX_BATCH, ProjectorHandle};
pub use store::PROJECTIONS_TREE;
pub use views::*;
