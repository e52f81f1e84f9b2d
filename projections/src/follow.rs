//! Following the log as the read side applied it: the one way a consumer in the
//! gateway process takes the log's records (the event streams, the invitation
//! mailer, the checkpoint publisher), so each event is read and decoded once per
//! process, not once per consumer.
//!
//! From a position, what the read side already applied is read from the log;
//! after that each committed batch is taken from the read side itself. The
//! follower subscribes to the batches *before* it looks at how far the read side
//! got, so nothing falls between the two. One that falls behind the batches the
//! read side keeps ([`broadcast`] lag) reads the log again from after the last
//! record it yielded. No position is yielded twice or skipped.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use rollcall_events::TenantId;
use rollcall_log::{EventLog, EventStream, LogError};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::projections::{Applied, AppliedBatch, Projections, Record};

/// Records of the log in order, as [`Projections::follow`] yields them.
pub type FollowStream = BoxStream<'static, Result<Arc<Applied>, LogError>>;

impl Projections {
    /// Every record of the log from `from_position` on, in log order, never
    /// running ahead of the read side: a record comes once the read side has
    /// applied it. The stream does not end on its own.
    ///
    /// An item is `Ok(record)` (its [`envelope`](Applied::envelope) `None` when the
    /// event cannot be decoded), or `Err(LogError::Undecodable)` in the place of a
    /// record that is not an event at all, after which the stream goes on, as a
    /// log's own stream does. Any other error (the log failed while the follower
    /// read it) ends the stream: follow again from after the last record taken.
    pub fn follow(&self, log: Arc<dyn EventLog>, from_position: u64) -> FollowStream {
        Follower::new(self.clone(), log, None, from_position).into_stream()
    }

    /// [`follow`](Self::follow), only `tenant`'s events: records that are not
    /// events are left out (whose they were is unknown). A fresh follower whose
    /// gap is longer than the tenant's history reads the tenant's own stream.
    pub fn follow_tenant(
        &self,
        log: Arc<dyn EventLog>,
        tenant: TenantId,
        from_position: u64,
    ) -> FollowStream {
        Follower::new(self.clone(), log, Some(tenant), from_position).into_stream()
    }
}

struct Follower {
    read: Projections,
    log: Arc<dyn EventLog>,
    tenant: Option<TenantId>,
    /// Every position up to here was yielded or passed over.
    cursor: u64,
    phase: Phase,
}

enum Phase {
    /// Subscribe to the read side's batches, then see how far it got.
    Start,
    /// Reading from the log what the read side applied up to `reached`; what it
    /// applies later arrives on `applied`.
    CatchUp {
        applied: broadcast::Receiver<AppliedBatch>,
        reached: u64,
        records: EventStream,
        /// The tenant's own stream (tenant_seq from 1), not the global log.
        tenant_stream: bool,
    },
    Live {
        applied: broadcast::Receiver<AppliedBatch>,
        batch: AppliedBatch,
        next: usize,
    },
    Ended,
}

impl Follower {
    fn new(
        read: Projections,
        log: Arc<dyn EventLog>,
        tenant: Option<TenantId>,
        from_position: u64,
    ) -> Follower {
        Follower {
            read,
            log,
            tenant,
            cursor: from_position.max(1) - 1,
            phase: Phase::Start,
        }
    }

    fn into_stream(self) -> FollowStream {
        // `unfold` keeps the pending step inside the stream, so a caller that
        // drops a `next()` (a `select!` that took another branch) loses nothing.
        futures::stream::unfold(self, |mut follower| async move {
            let item = follower.next().await?;
            Some((item, follower))
        })
        .boxed()
    }

    async fn next(&mut self) -> Option<Result<Arc<Applied>, LogError>> {
        loop {
            // Taken out while it works; put back unless the stream ends.
            match std::mem::replace(&mut self.phase, Phase::Ended) {
                Phase::Ended => return None,
                Phase::Start => {
                    let applied = self.read.subscribe_applied();
                    let reached = self.read.position();
                    if self.cursor >= reached {
                        self.phase = live(applied);
                        continue;
                    }
                    let tenant_stream = self.tenant.filter(|tenant| {
                        let history = self
                            .read
                            .view()
                            .tenant(*tenant)
                            .map_or(0, |index| index.tenant_seq);
                        reached - self.cursor > history
                    });
                    let records = match tenant_stream {
                        Some(tenant) => self.log.read_tenant(tenant, 1).await,
                        None => self.log.read(self.cursor + 1).await,
                    };
                    match records {
                        Ok(records) => {
                            self.phase = Phase::CatchUp {
                                applied,
                                reached,
                                records,
                                tenant_stream: tenant_stream.is_some(),
                            }
                        }
                        Err(e) => return Some(Err(e)),
                    }
                }
                Phase::CatchUp {
                    applied,
                    reached,
                    mut records,
                    tenant_stream,
                } => {
                    let next = records.next().await;
                    let position = match &next {
                        Some(Ok(raw)) => raw.position,
                        Some(Err(LogError::Undecodable { position, .. })) => *position,
                        Some(Err(_)) | None => 0,
                    };
                    // Past what the read side applied: it comes on `applied`.
                    if next.is_none() || position > reached {
                        if tenant_stream {
                            // The tenant's stream held every one of its events
                            // up to `reached`; the others are not wanted.
                            self.cursor = self.cursor.max(reached);
                        }
                        self.phase = live(applied);
                        continue;
                    }
                    self.phase = Phase::CatchUp {
                        applied,
                        reached,
                        records,
                        tenant_stream,
                    };
                    let taken = match next {
                        Some(Ok(raw)) => Record::Event(Arc::new(Applied::read(raw))),
                        Some(Err(LogError::Undecodable { position, error })) => {
                            Record::NotAnEvent { position, error }
                        }
                        Some(Err(e)) => {
                            self.phase = Phase::Ended;
                            return Some(Err(e));
                        }
                        None => continue,
                    };
                    if let Some(item) = self.take(&taken) {
                        return Some(item);
                    }
                }
                Phase::Live {
                    mut applied,
                    batch,
                    next,
                } => {
                    if let Some(record) = batch.get(next) {
                        let record = record.clone();
                        self.phase = Phase::Live {
                            applied,
                            batch,
                            next: next + 1,
                        };
                        if let Some(item) = self.take(&record) {
                            return Some(item);
                        }
                        continue;
                    }
                    match applied.recv().await {
                        Ok(batch) => {
                            self.phase = Phase::Live {
                                applied,
                                batch,
                                next: 0,
                            }
                        }
                        // Fell behind the read side: read the log again.
                        Err(RecvError::Lagged(_)) => self.phase = Phase::Start,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        }
    }

    /// What a record becomes for this follower: yielded, or passed over (at or
    /// before the cursor, another tenant's, or not an event when following a
    /// tenant). The cursor moves past it either way.
    fn take(&mut self, record: &Record) -> Option<Result<Arc<Applied>, LogError>> {
        let position = match record {
            Record::Event(applied) => applied.raw.position,
            Record::NotAnEvent { position, .. } => *position,
        };
        if position <= self.cursor {
            return None;
        }
        self.cursor = position;
        match record {
            Record::Event(applied) => self
                .tenant
                .is_none_or(|tenant| applied.raw.tenant_id == tenant)
                .then(|| Ok(applied.clone())),
            Record::NotAnEvent { position, error } => self.tenant.is_none().then(|| {
                Err(LogError::Undecodable {
                    position: *position,
                    error: error.clone(),
                })
            }),
        }
    }
}

fn live(applied: broadcast::Receiver<AppliedBatch>) -> Phase {
    Phase::Live {
        applied,
        batch: Arc::new(Vec::new()),
        next: 0,
    }
}
