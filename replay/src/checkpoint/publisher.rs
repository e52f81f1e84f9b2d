//! The checkpoint publisher: follows the log (as the process's read side applies
//! it, when there is one), verifies every tenant's chain as it goes, and
//! periodically signs each tenant head that moved. A tenant whose chain
//! shows tampering is never signed again: a signature must not bless a break.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use rollcall_events::{RawEnvelope, TenantId};
use rollcall_log::{EventLog, LogError};
use rollcall_projections::{Applied, FollowStream, Projections};

use super::{CheckpointSigner, CheckpointStore, SignedCheckpoint};
use crate::error::ReplayError;
use crate::verify::ChainVerifier;

/// One publisher's state: where it is in the log and what it signed last.
pub struct CheckpointPublisher {
    log: Arc<dyn EventLog>,
    signer: Arc<CheckpointSigner>,
    store: CheckpointStore,
    verifier: ChainVerifier,
    next_position: u64,
    signed: HashMap<TenantId, u64>,
    warned: HashMap<TenantId, ()>,
}

impl CheckpointPublisher {
    pub fn new(
        log: Arc<dyn EventLog>,
        signer: Arc<CheckpointSigner>,
        store: CheckpointStore,
    ) -> Self {
        CheckpointPublisher {
            log,
            signer,
            store,
            verifier: ChainVerifier::new(None),
            next_position: 1,
            signed: HashMap::new(),
            warned: HashMap::new(),
        }
    }

    /// The position of the next record to take.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// Takes the next event of the log into the verification (hashing it); one
    /// already taken is ignored, so the log may be handed over in overlapping parts.
    pub fn push(&mut self, event: &RawEnvelope) {
        if event.position < self.next_position {
            return;
        }
        self.next_position = event.position + 1;
        self.verifier.push(event);
    }

    /// Moves past a record of the log that is not an event. Nothing is signed on
    /// its account: if it was a tenant's event, that tenant's next one does not
    /// link to its head, and the tenant is never signed again.
    pub fn pass(&mut self, position: u64, error: &str) {
        if position < self.next_position {
            return;
        }
        tracing::warn!(position, %error, "checkpoint publisher passes a record that is not an event");
        self.next_position = position + 1;
    }

    /// Reads what was appended since the last record taken, then signs and stores
    /// the head of every intact tenant that moved. Returns the checkpoints written.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<Vec<SignedCheckpoint>, ReplayError> {
        let mut stream = self.log.read(self.next_position).await?;
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => self.push(&event),
                Err(LogError::Undecodable { position, error }) => self.pass(position, &error),
                Err(e) => return Err(e.into()),
            }
        }
        self.sign(now).await
    }

    /// Signs and stores the head of every intact tenant that moved, as far as the
    /// events taken so far go: a head is signed only once its chain was verified
    /// up to it. Returns the checkpoints written.
    pub async fn sign(&mut self, now: DateTime<Utc>) -> Result<Vec<SignedCheckpoint>, ReplayError> {
        let mut written = Vec::new();
        for (head, intact) in self.verifier.heads() {
            if !intact {
                if self.warned.insert(head.tenant_id, ()).is_none() {
                    tracing::warn!(tenant = %head.tenant_id, "tenant's chain is broken; its head is not signed");
                }
                continue;
            }
            if self
                .signed
                .get(&head.tenant_id)
                .is_some_and(|s| *s >= head.head_seq)
            {
                continue;
            }
            let checkpoint = self
                .signer
                .sign(head.tenant_id, head.head_seq, &head.head_hash, now);
            self.store.save(&checkpoint).await?;
            self.signed.insert(head.tenant_id, head.head_seq);
            written.push(checkpoint);
        }
        Ok(written)
    }
}

/// Runs a publisher every `interval` until `shutdown` completes, then ticks once
/// more. With the process's read side (`read`), the publisher takes each event as
/// the read side applies it, between ticks, instead of reading the log again;
/// without one, each tick reads the log. A failed tick (log or store unavailable)
/// is logged and retried at the next one.
pub async fn publish_checkpoints(
    log: Arc<dyn EventLog>,
    read: Option<Projections>,
    signer: Arc<CheckpointSigner>,
    store: CheckpointStore,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut publisher = CheckpointPublisher::new(log.clone(), signer, store);
    let follow = |publisher: &CheckpointPublisher| {
        read.as_ref()
            .map(|read| read.follow(log.clone(), publisher.next_position()))
    };
    // `None` while there is no read side, or after following it failed: until
    // the next tick, which reads the log itself and follows again.
    let mut events = follow(&publisher);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                // One last tick, so what was appended since the previous one is
                // signed before the process goes away: what the read side passed
                // on, then whatever else the log holds.
                if let Some(events) = &mut events {
                    while let Some(Some(item)) = events.next().now_or_never() {
                        if !take(&mut publisher, item) {
                            break;
                        }
                    }
                }
                if let Err(e) = publisher.tick(Utc::now()).await {
                    tracing::warn!(error = %e, "final checkpoint tick failed");
                }
                return;
            }
            item = next(&mut events) => {
                if !item.is_some_and(|item| take(&mut publisher, item)) {
                    events = None;
                }
            }
            _ = ticker.tick() => {
                let ticked = match events {
                    Some(_) => publisher.sign(Utc::now()).await,
                    None => publisher.tick(Utc::now()).await,
                };
                match ticked {
                    Ok(written) if !written.is_empty() => {
                        tracing::debug!(count = written.len(), "checkpoints signed");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint tick failed"),
                }
                if events.is_none() {
                    events = follow(&publisher);
                }
            }
        }
    }
}

/// Hands one followed record to the publisher; false when following failed.
fn take(publisher: &mut CheckpointPublisher, item: Result<Arc<Applied>, LogError>) -> bool {
    match item {
        Ok(record) => publisher.push(&record.raw),
        Err(LogError::Undecodable { position, error }) => publisher.pass(position, &error),
        Err(e) => {
            tracing::warn!(error = %e, "checkpoint publisher cannot follow the log; the next tick reads it");
            return false;
        }
    }
    true
}

/// The next followed record; pending for ever when not following.
async fn next(events: &mut Option<FollowStream>) -> Option<Result<Arc<Applied>, LogError>> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}
