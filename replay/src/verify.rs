//! Verification of the hash chain: every tenant's events must hash to what they
//! claim, link to the one before (`prev_hash`), count 1, 2, 3… and sit at strictly
//! increasing positions. The first problem of each tenant is reported, named
//! exactly; later events of that tenant are counted but not judged, because one
//! break makes everything after it unanchored.
//!
//! A chain alone cannot show that its newest events were cut off. Given a
//! [`SignedCheckpoint`] (a signed head from earlier), verify also checks the
//! tenant still reaches that head and that the event there has the signed hash.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use futures::{Stream, StreamExt};
use rollcall_events::{GENESIS_HASH, RawEnvelope, TenantId};
use rollcall_log::{EventLog, LogError};
use serde::Serialize;

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::error::ReplayError;

/// What is wrong at one place of a tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TamperKind {
    /// The event's content does not hash to its stored hash: it was altered.
    HashMismatch { stored: String, computed: String },
    /// The event does not link to the one before it: events were removed,
    /// inserted or reordered before this one. The sequences say which.
    BrokenLink {
        expected_prev_hash: String,
        found_prev_hash: String,
        expected_seq: u64,
        found_seq: u64,
    },
    /// The chain links, but the sequence skips numbers (a re-sealed forgery).
    SequenceGap { expected: u64, found: u64 },
    /// The chain links, but the sequence repeats or goes back.
    SequenceRepeat { previous: u64, found: u64 },
    /// The event's log position is not after the tenant's previous one.
    PositionNotIncreasing { previous: u64, found: u64 },
    /// The tenant ends before the head a checkpoint signed: its newest events
    /// were removed.
    Truncated { checkpoint_seq: u64, head_seq: u64 },
    /// The event at the checkpoint's sequence is not the one that was signed:
    /// the history was rewritten from there on.
    CheckpointMismatch {
        seq: u64,
        signed_hash: String,
        found_hash: String,
    },
}

/// The first problem found in one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tampering {
    /// Log position of the event where the problem shows (for a truncation, the
    /// position of the tenant's last event, 0 when none is left).
    pub position: u64,
    pub tenant: TenantId,
    /// The `tenant_seq` the event claims (for a truncation, the head left).
    pub tenant_seq: u64,
    #[serde(flatten)]
    pub kind: TamperKind,
}

impl fmt::Display for Tampering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (t, p) = (self.tenant, self.position);
        match &self.kind {
            TamperKind::HashMismatch { .. } => write!(
                f,
                "tenant {t}: event {} at position {p} was altered (its content no longer matches its hash)",
                self.tenant_seq
            ),
            TamperKind::BrokenLink {
                expected_seq,
                found_seq,
                ..
            } => {
                let what = if found_seq > expected_seq {
                    format!("events {expected_seq}..{} are missing", found_seq - 1)
                } else if found_seq < expected_seq {
                    format!("event {found_seq} appears again or out of order")
                } else {
                    "an event was inserted or replaced before it".to_owned()
                };
                write!(
                    f,
                    "tenant {t}: event {found_seq} at position {p} does not link to the event before it: {what}"
                )
            }
            TamperKind::SequenceGap { expected, found } => write!(
                f,
                "tenant {t}: position {p} carries tenant_seq {found} where {expected} was due"
            ),
            TamperKind::SequenceRepeat { previous, found } => write!(
                f,
                "tenant {t}: position {p} carries tenant_seq {found} after {previous}"
            ),
            TamperKind::PositionNotIncreasing { previous, found } => write!(
                f,
                "tenant {t}: event {} sits at position {found}, not after {previous}",
                self.tenant_seq
            ),
            TamperKind::Truncated {
                checkpoint_seq,
                head_seq,
            } => write!(
                f,
                "tenant {t}: ends at event {head_seq} but a checkpoint signed event {checkpoint_seq}: the newest events were removed"
            ),
            TamperKind::CheckpointMismatch { seq, .. } => write!(
                f,
                "tenant {t}: event {seq} is not the one a checkpoint signed: history was rewritten"
            ),
        }
    }
}

/// What verify saw of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantChain {
    pub tenant_id: TenantId,
    pub events: u64,
    pub head_seq: u64,
    pub head_hash: String,
    pub head_position: u64,
}

/// The outcome of a verification: every tenant walked, and every problem found
/// (at most one per tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub tenants: Vec<TenantChain>,
    pub tampering: Vec<Tampering>,
    /// Checkpoints that were checked and held.
    pub checkpoints_confirmed: Vec<ConfirmedCheckpoint>,
}

/// A signed head the chain was found to still contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmedCheckpoint {
    pub tenant_id: TenantId,
    pub tenant_seq: u64,
}

impl VerifyReport {
    /// No tenant's chain shows a problem.
    pub fn is_intact(&self) -> bool {
        self.tampering.is_empty()
    }

    pub fn tenant(&self, tenant: TenantId) -> Option<&TenantChain> {
        self.tenants.iter().find(|c| c.tenant_id == tenant)
    }
}

/// Walk state of one tenant.
#[derive(Debug, Clone)]
struct Walk {
    chain: TenantChain,
    /// Once a problem is found the tenant is only counted.
    broken: bool,
}

/// The verifier, fed one envelope at a time in log order, so any source (a log
/// stream, an export being re-read, a test's vector) can be checked in constant
/// memory per tenant.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    only: Option<TenantId>,
    walks: BTreeMap<TenantId, Walk>,
    tampering: Vec<Tampering>,
    /// Checkpoints to hold the chain to, and the hash seen at each one's sequence.
    checkpoints: Vec<(SignedCheckpoint, Option<String>)>,
    watch: HashMap<TenantId, Vec<usize>>,
}

impl ChainVerifier {
    /// Verifies every tenant, or only `tenant` (other tenants' events are ignored).
    pub fn new(tenant: Option<TenantId>) -> Self {
        ChainVerifier {
            only: tenant,
            ..Default::default()
        }
    }

    /// Also hold the chain to a signed head. The caller checks the signature
    /// first (see [`verify`]); here the checkpoint is taken as authentic.
    pub fn expect_checkpoint(&mut self, checkpoint: SignedCheckpoint) {
        self.watch
            .entry(checkpoint.tenant_id)
            .or_default()
            .push(self.checkpoints.len());
        self.checkpoints.push((checkpoint, None));
    }

    pub fn push(&mut self, event: &RawEnvelope) {
        self.push_hashed(event, event.compute_hash());
    }

    /// [`push`](Self::push) with the event's hash already computed from its
    /// content (`compute_hash`), so hashing can run beside the walk.
    pub fn push_hashed(&mut self, event: &RawEnvelope, computed: String) {
        let tenant = event.tenant_id;
        if self.only.is_some_and(|only| only != tenant) {
            return;
        }
        if let Some(indexes) = self.watch.get(&tenant) {
            for &i in indexes {
                if self.checkpoints[i].0.tenant_seq == event.tenant_seq {
                    self.checkpoints[i].1 = Some(event.hash.clone());
                }
            }
        }
        let walk = self.walks.entry(tenant).or_insert_with(|| Walk {
            chain: TenantChain {
                tenant_id: tenant,
                events: 0,
                head_seq: 0,
                head_hash: GENESIS_HASH.to_owned(),
                head_position: 0,
            },
            broken: false,
        });
        if !walk.broken
            && let Some(kind) = judge(&walk.chain, event, computed)
        {
            walk.broken = true;
            self.tampering.push(Tampering {
                position: event.position,
                tenant,
                tenant_seq: event.tenant_seq,
                kind,
            });
        }
        let chain = &mut walk.chain;
        chain.events += 1;
        chain.head_seq = event.tenant_seq;
        chain.head_hash = event.hash.clone();
        chain.head_position = event.position;
    }

    /// Every tenant seen so far, with whether its chain is still intact.
    pub fn heads(&self) -> impl Iterator<Item = (&TenantChain, bool)> {
        self.walks.values().map(|w| (&w.chain, !w.broken))
    }

    /// Ends the walk: checks the checkpoints against what was seen.
    pub fn finish(mut self) -> VerifyReport {
        let mut confirmed = Vec::new();
        for (checkpoint, seen) in &self.checkpoints {
            let tenant = checkpoint.tenant_id;
            let walk = self.walks.get(&tenant);
            // A tenant already found broken has its first problem reported.
            if walk.is_some_and(|w| w.broken) {
                continue;
            }
            let (head_seq, head_position) =
                walk.map_or((0, 0), |w| (w.chain.head_seq, w.chain.head_position));
            let kind = match seen {
                None if head_seq < checkpoint.tenant_seq => Some(TamperKind::Truncated {
                    checkpoint_seq: checkpoint.tenant_seq,
                    head_seq,
                }),
                // The sequence was passed without being seen: the chain skipped it,
                // which the walk reports; nothing to add.
                None => None,
                Some(found) if *found != checkpoint.hash => Some(TamperKind::CheckpointMismatch {
                    seq: checkpoint.tenant_seq,
                    signed_hash: checkpoint.hash.clone(),
                    found_hash: found.clone(),
                }),
                Some(_) => {
                    confirmed.push(ConfirmedCheckpoint {
                        tenant_id: tenant,
                        tenant_seq: checkpoint.tenant_seq,
                    });
                    None
                }
            };
            if let Some(kind) = kind {
                if let Some(w) = self.walks.get_mut(&tenant) {
                    w.broken = true;
                }
                self.tampering.push(Tampering {
                    position: head_position,
                    tenant,
                    tenant_seq: head_seq,
                    kind,
                });
            }
        }
        VerifyReport {
            tenants: self.walks.into_values().map(|w| w.chain).collect(),
            tampering: self.tampering,
            checkpoints_confirmed: confirmed,
        }
    }
}

/// The first thing wrong with `event` as the successor of `head`, if anything.
/// Order matters: altered content is named before the link it breaks, and a
/// broken link before the sequence numbers that come with it.
fn judge(head: &TenantChain, event: &RawEnvelope, computed: String) -> Option<TamperKind> {
    if computed != event.hash {
        return Some(TamperKind::HashMismatch {
            stored: event.hash.clone(),
            computed,
        });
    }
    if head.events > 0 && event.position <= head.head_position {
        return Some(TamperKind::PositionNotIncreasing {
            previous: head.head_position,
            found: event.position,
        });
    }
    let expected_seq = head.head_seq + 1;
    if event.prev_hash != head.head_hash {
        return Some(TamperKind::BrokenLink {
            expected_prev_hash: head.head_hash.clone(),
            found_prev_hash: event.prev_hash.clone(),
            expected_seq,
            found_seq: event.tenant_seq,
        });
    }
    if event.tenant_seq > expected_seq {
        return Some(TamperKind::SequenceGap {
            expected: expected_seq,
            found: event.tenant_seq,
        });
    }
    if event.tenant_seq < expected_seq {
        return Some(TamperKind::SequenceRepeat {
            previous: head.head_seq,
            found: event.tenant_seq,
        });
    }
    None
}

/// Verifies a stream of envelopes in log order (`EventLog::read(0)` for all
/// tenants, `read_tenant(t, 1)` for one). A checkpoint's signature is checked
/// first: a checkpoint that does not verify is refused, never trusted.
pub async fn verify<S>(
    stream: S,
    tenant: Option<TenantId>,
    checkpoint: Option<&SignedCheckpoint>,
) -> Result<VerifyReport, ReplayError>
where
    S: Stream<Item = Result<RawEnvelope, LogError>>,
{
    let mut verifier = ChainVerifier::new(tenant);
    if let Some(checkpoint) = checkpoint {
        if let Some(verifying) = tenant.filter(|t| *t != checkpoint.tenant_id) {
            // Otherwise the tenant would look truncated to nothing.
            return Err(CheckpointError::WrongTenant {
                checkpoint: checkpoint.tenant_id,
                verifying,
            }
            .into());
        }
        checkpoint.verify()?;
        verifier.expect_checkpoint(checkpoint.clone());
    }
    // Hashing runs on blocking threads, a batch at a time, while the next
    // batch is read: the walk itself is cheap, the hash is not. At most
    // `HASHING_AHEAD` batches are in flight, so memory stays bounded.
    let hashed = stream.ready_chunks(HASH_BATCH).map(|batch| {
        tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|event| event.map(|e| (e.compute_hash(), e)))
                .collect::<Vec<_>>()
        })
    });
    let mut hashed = std::pin::pin!(hashed.buffered(HASHING_AHEAD));
    while let Some(batch) = hashed.next().await {
        let batch = batch.map_err(|e| ReplayError::Worker(e.to_string()))?;
        for item in batch {
            let (computed, event) = item?;
            verifier.push_hashed(&event, computed);
        }
    }
    Ok(verifier.finish())
}

/// Events hashed together by one blocking task.
const HASH_BATCH: usize = 512;
/// Batches hashed ahead of the walk.
const HASHING_AHEAD: usize = 2;

/// Verifies straight from a log: the tenant's own read when `tenant` is given
/// (cheap on JetStream, where it is filtered by subject), else the whole log.
///
/// A tenant read can fail where the store's per-tenant index itself was damaged
/// (the embedded log reports an indexed position that is missing); the whole log
/// is then walked instead, so the damage is reported as tampering, not as an error.
pub async fn verify_log(
    log: &dyn EventLog,
    tenant: Option<TenantId>,
    checkpoint: Option<&SignedCheckpoint>,
) -> Result<VerifyReport, ReplayError> {
    if let Some(t) = tenant {
        match verify(log.read_tenant(t, 1).await?, tenant, checkpoint).await {
            Err(ReplayError::Log(LogError::Store(_))) => {}
            other => return other,
        }
    }
    verify(log.read(0).await?, tenant, checkpoint).await
}
