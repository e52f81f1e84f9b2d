//! One tenant's state as the command service keeps it: the Team folded from the
//! tenant's stream, and the answers to the idempotency keys of its last day.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use rollcall_aggregates::{Team, evolve};
use rollcall_events::{Envelope, GENESIS_HASH, TenantId};

use crate::service::Executed;
use crate::service::idempotency::{KEY_TTL, Remembered, StoredKey};

/// The Team and the idempotency answers, folded up to `team.tenant_seq`.
#[derive(Debug, Default)]
pub(crate) struct TenantState {
    pub team: Team,
    keys: HashMap<String, Remembered>,
    /// Keys in the order they were first used, to forget them once expired.
    ages: VecDeque<(DateTime<Utc>, String)>,
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

    /// The first answer given for `key`, unless it expired by `now`.
    pub fn answer_for(&self, key: &str, now: DateTime<Utc>) -> Option<&Remembered> {
        self.keys.get(key).filter(|r| now - r.at < KEY_TTL)
    }

    /// Folds one envelope (already decoded, position assigned), and forgets the
    /// keys that expired by its time.
    pub fn fold(&mut self, tenant: TenantId, envelope: &Envelope) {
        if let Some(stored) = envelope.idempotency_key.as_deref() {
            let key = StoredKey::parse(stored);
            let fresh = self.answer_for(key.key, envelope.occurred_at).is_none();
            if fresh {
                self.keys.insert(
                    key.key.to_owned(),
                    Remembered {
                        fingerprint: key.fingerprint.map(str::to_owned),
                        at: envelope.occurred_at,
                        executed: Executed {
                            tenant,
                            position: envelope.position,
                            event_id: envelope.event_id,
                            event: envelope.event.clone(),
                            tenant_seq: envelope.tenant_seq,
                        },
                    },
                );
                self.ages
                    .push_back((envelope.occurred_at, key.key.to_owned()));
            }
        }
        while let Some((at, _)) = self.ages.front() {
            if envelope.occurred_at - *at < KEY_TTL {
                break;
            }
            if let Some((at, key)) = self.ages.pop_front()
                && self.keys.get(&key).is_some_and(|r| r.at == at)
            {
                self.keys.remove(&key);
            }
        }
        let team = std::mem::take(&mut self.team);
        self.team = evolve(team, envelope);
    }
}
