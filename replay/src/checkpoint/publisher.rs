//! The checkpoint publisher: follows the log, verifies every tenant's chain as it
//! goes, and periodically signs each tenant head that moved. A tenant whose chain
//! shows tampering is never signed again: a signature must not bless a break.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rollcall_events::TenantId;
use rollcall_log::EventLog;

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

    /// Reads what was appended since the last tick, then signs and stores the head
    /// of every intact tenant that moved. Returns the checkpoints written.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<Vec<SignedCheckpoint>, ReplayError> {
        let mut stream = self.log.read(self.next_position).await?;
        while let Some(event) = stream.next().await {
            let event = event?;
            self.next_position = event.position + 1;
            self.verifier.push(&event);
        }
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
/// more. A failed tick
/// (log or store unavailable) is logged and retried at the next one.
pub async fn publish_checkpoints(
    log: Arc<dyn EventLog>,
    signer: Arc<CheckpointSigner>,
    store: CheckpointStore,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut publisher = CheckpointPublisher::new(log, signer, store);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                // One last tick, so what was appended since the previous one is
                // signed before the process goes away.
                if let Err(e) = publisher.tick(Utc::now()).await {
                    tracing::warn!(error = %e, "final checkpoint tick failed");
                }
                return;
            }
            _ = ticker.tick() => {
                match publisher.tick(Utc::now()).await {
                    Ok(written) if !written.is_empty() => {
                        tracing::debug!(count = written.len(), "checkpoints signed");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint tick failed"),
                }
            }
        }
    }
}
