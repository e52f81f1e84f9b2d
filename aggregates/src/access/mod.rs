//! Permission resolution with explanations: what a member may effectively do and
//! why ([`effective`]), whether one request is allowed ([`check`]), and how widely
//! a member holds each permission, which the no-escalation invariant compares
//! ([`entitlement`]).

mod check;
mod effective;
mod grant;
mod set;

pub use check::{CheckOutcome, CheckRequest, Denial, Resource, check, check_effective};
pub use effective::{
    Effective, Source, effective, member_roles, resolve_scopes, resolve_set, sources_of,
};
pub use grant::{Entitlement, Extent, Networks, entitlement};
pub use set::{PermId, PermSet};
