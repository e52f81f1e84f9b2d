//! Rollcall's domain core, pure and synchronous: the compiled [`Catalog`], the
//! Team decider ([`decide`] / [`evolve`]) and permission resolution with
//! explanations ([`effective`] / [`check`]).
//!
//! Nothing here does I/O, reads a clock or draws random numbers: time, the actor
//! and fresh ids arrive with the command and its [`Context`], so a decision can be
//! replayed and retried and always comes out the same.
//!
//! ```
//! use rollcall_aggregates::testing::{OWNER, catalogs, given, tenant_created};
//! use rollcall_aggregates::{Command, DomainError};
//! use rollcall_events::{Actor, Toggle};
//!
//! // The owner may not deny itself the team permission: it is the last admin.
//! given([tenant_created(catalogs::small())])
//!     .when(Command::TogglePermission {
//!         user_id: OWNER,
//!         permission: "team.manage".into(),
//!         state: Toggle::Deny,
//!     })
//!     .by(Actor::User(OWNER))
//!     .then_err(DomainError::LastActiveAdmin { admins: vec![OWNER] });
//! ```

pub mod access;
pub mod catalog;
pub mod limits;
pub mod team;
#[cfg(feature = "testing")]
pub mod testing;

pub use access::{
    CheckOutcome, CheckRequest, Denial, Effective, Entitlement, Extent, MemberAccess, Networks,
    PermId, PermSet, Resource, Source, Verdict, check, effective, effective_from, effective_of,
    entitlement, explain, judge, member_access, unknown_user,
};
pub use catalog::{Catalog, CatalogError};
pub use team::{
    AccessReach, Command, Context, DomainError, Invitation, Member, MemberStatus, Override, Role,
    Team, TeamParts, Vocabulary, access_reach, decide, evolve,
};
