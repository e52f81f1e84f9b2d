//! What the service knows across tenants, read from the whole log incrementally:
//! every email's user id (a person already on another account joins a new one
//! with the same identity) and the answers to `CreateTenant` idempotency keys,
//! which cannot live in a tenant stream that does not exist yet.

use std::collections::HashMap;

use futures::StreamExt;
use rollcall_events::{Envelope, Event, EventLog, LogError, UserId};

use crate::service::idempotency::{Remembered, StoredKey};
use crate::service::{Executed, ServiceError};

#[derive(Debug, Default)]
pub(crate) struct GlobalIndex {
    /// Next position to read.
    next: u64,
    pub emails: HashMap<String, UserId>,
    pub tenant_keys: HashMap<String, Remembered>,
}

impl GlobalIndex {
    /// Reads what was appended since the last call. The head is asked first: one
    /// cheap request, where opening a read is not (a JetStream consumer).
    pub async fn catch_up(&mut self, log: &dyn EventLog) -> Result<(), ServiceError> {
        let from = self.next.max(1);
        if log.head().await? < from {
            return Ok(());
        }
        let mut stream = log.read(from).await?;
        while let Some(next) = stream.next().await {
            let raw = match next {
                Ok(raw) => raw,
                // Not an event at all: nothing to learn from it.
                Err(LogError::Undecodable { position, .. }) => {
                    self.next = position + 1;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            self.next = raw.position + 1;
            // An event this build cannot decode says nothing about identities; the
            // tenant's own fold reports it when the tenant is used.
            let Ok(envelope) = raw.decode() else { continue };
            self.apply(&envelope);
        }
        Ok(())
    }

    /// Takes in an event this service just appended, when it is the very next one
    /// the index expects, so a lone gateway never has to read its own writes back.
    pub fn observe(&mut self, envelope: &Envelope) {
        if envelope.position == self.next.max(1) {
            self.next = envelope.position + 1;
            self.apply(envelope);
        }
    }

    fn apply(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::TenantCreated(e) => {
                self.remember(&e.owner_email, e.owner_id);
                if let Some(stored) = envelope.idempotency_key.as_deref() {
                    let key = StoredKey::parse(stored);
                    self.tenant_keys
                        .entry(key.key.to_owned())
                        .or_insert(Remembered {
                            fingerprint: key.fingerprint.map(str::to_owned),
                            executed: Executed {
                                tenant: envelope.tenant_id,
                                position: envelope.position,
                                event_id: envelope.event_id,
                                event: envelope.event.clone(),
                                tenant_seq: envelope.tenant_seq,
                            },
                        });
                }
            }
            Event::UserInvited(e) => self.remember(&e.email, e.user_id),
            _ => {}
        }
    }

    /// The first identity an email was seen with wins, so every account agrees.
    pub fn remember(&mut self, email: &str, user: UserId) {
        self.emails.entry(normalise(email)).or_insert(user);
    }

    pub fn user_for(&self, email: &str) -> Option<UserId> {
        self.emails.get(&normalise(email)).copied()
    }
}

pub(crate) fn normalise(email: &str) -> String {
    email.trim().to_lowercase()
}
