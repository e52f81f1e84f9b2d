//! Permission resolution with explanations: what a member may effectively do and
//! why ([`effective`]), and whether one request is allowed ([`check`]).

mod check;
mod effective;

pub use check::{CheckOutcome, CheckRequest, Denial, Resource, check, check_effective};
pub use effective::{Effective, Source, effective};
pub(crate) use effective::{resolve_permissions, resolve_scopes};
