//! One tenant's state as the command service keeps it: the Team folded from the
//! tenant's stream, and the answers to every idempotency key in that stream.

use std::collections::HashMap;

use rollcall_aggregates::{Team, evolve};
use rollcall_events::{Envelope, GENESIS_HASH, TenantId};

use crate::service::Executed;
use crate::service::idempotency::{Remembered, StoredKey};

/// The Team and the idempotency answers, folded up to `team.tenant_seq`.
#[derive(Debug, Default)]
pub(crate) struct TenantState {
    pub team: Team,
    pub keys: HashMap<String, Remembered>,
}

impl TenantState {
    /// The hash the next event chains to.
    pub fn head_hash(&self) -> &str {
        if self.team.tenant_seq == 0 {
            GENESIS_HASH
        } else {
            &self.team.head_hash
        }
    }

    /// Folds one envelope (already decoded, position assigned).
    pub fn fold(&mut self, tenant: TenantId, envelope: &Envelope) {
        if let Some(stored) = envelope.idempotency_key.as_deref() {
            let key = StoredKey::parse(stored);
            self.keys.entry(key.key.to_owned()).or_insert(Remembered {
                fingerprint: key.fingerprint.map(str::to_owned),
                executed: Executed {
                    tenant,
                    position: envelope.position,
                    event_id: envelope.event_id,
                    event: envelope.event.clone(),
                    tenant_seq: envelope.tenant_seq,
                },
            });
        }
        let team = std::mem::take(&mut self.team);
        self.team = evolve(team, envelope);
    }
}
