//! Permission resolution with explanations: what a member may effectively do and
//! why ([`effective`]), whether one request is allowed ([`check`]), and how widely
//! a member holds each permission, which the no-escalation invariant compares
//! ([`entitlement`]).

mod check;
mod effective;
mod grant;
mod set;

pub use check::{
    CheckOutcome, CheckRequest, Denial, Resource, Verdict, check, explain, judge, unknown_user,
};
pub use effective::{
    Effective, MemberAccess, Source, area_scopes, deny_source, effective, effective_from,
    effective_of, member_access, member_roles, resolve_set, sources_of,
};
pub use grant::{Entitlement, Extent, Networks, entitlement};
pub use set::{PermId, PermSet};
