//! The reducers: pure functions from (tenant state, envelope) to the next state and
//! the writes that bring every view in step with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use rollcall_aggregates::{Effective, Team};
use rollcall_events::{Envelope, UserId};

use crate::store::Write;

/// What the projector keeps per tenant: the aggregate and each member's resolved
/// effective permissions (for the check and for audit deltas).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantState {
    pub team: Arc<Team>,
    pub effective: BTreeMap<UserId, Arc<Effective>>,
}

/// Folds one envelope: the next state and the writes for every view.
pub fn reduce(state: TenantState, envelope: &Envelope) -> (TenantState, Vec<Write>) {
    let _ = (state, envelope);
    todo!()
}
