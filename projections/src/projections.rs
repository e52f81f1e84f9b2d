//! [`Projections`]: the handle every reader holds (cheap to clone), the one place
//! batches of events are folded and committed, and the queries answered from the
//! published [`ReadView`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use rollcall_aggregates::{
    CheckOutcome, CheckRequest, Effective, Member, MemberStatus, Team, Verdict, effective_from,
};
use rollcall_events::{Envelope, RawEnvelope, TenantId, UserId};
use rollcall_log::{EventLog, LogError};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use crate::audit::{self, AuditQuery};
use crate::error::{ProjectionError, WaitTimeout};
use crate::fold::{Dirty, Folded, restore_emails, restore_index};
use crate::index::ReadView;
use crate::projector::{self, ProjectorHandle};
use crate::store::{Batch, Opened, Store, quarantine_key};
use crate::views::{
    AuditPage, CatalogAnswer, Membership, PlatformsAnswer, UserDetail, UserList, UserSummary,
};

/// A record of the log as the read side folded it: the stored envelope, and its
/// decoded event unless it could not be decoded. Handed, decoded once, to every
/// consumer in the process.
#[derive(Debug, Clone)]
pub struct Applied {
    pub raw: RawEnvelope,
    /// Filled by the read side as it folds; for a record a follower read from
    /// the log itself, on first use (many consumers only need `raw`).
    envelope: OnceLock<Option<Envelope>>,
}

impl Applied {
    /// A record read from the log, decoded when its event is first asked for.
    pub fn read(raw: RawEnvelope) -> Applied {
        Applied {
            raw,
            envelope: OnceLock::new(),
        }
    }

    pub(crate) fn decoded(raw: RawEnvelope, envelope: Option<Envelope>) -> Applied {
        Applied {
            raw,
            envelope: OnceLock::from(envelope),
        }
    }

    /// The decoded event; `None` when it cannot be decoded (an unknown type or
    /// shape: the read side quarantines it and goes on).
    pub fn envelope(&self) -> Option<&Envelope> {
        self.envelope
            .get_or_init(|| self.raw.decode().ok())
            .as_ref()
    }
}

/// One record of a committed batch, as the read side passes it on.
#[derive(Debug, Clone)]
pub(crate) enum Record {
    Event(Arc<Applied>),
    /// A record that is not an event envelope at all, quarantined by position.
    NotAnEvent {
        position: u64,
        error: String,
    },
}

/// One committed batch: its records in log order.
pub(crate) type AppliedBatch = Arc<Vec<Record>>;

/// A batch folded into the teams and a new view, not committed yet.
pub(crate) struct Staged {
    /// The position it was folded from, and the one it reaches.
    start: u64,
    position: u64,
    writes: Batch,
    view: Arc<ReadView>,
    applied: Vec<Record>,
    /// Tenants whose teams it changed: put back as the store holds them if it
    /// does not commit.
    tenants: Vec<TenantId>,
}

/// A batch that did not fold, and the tenants whose teams it took out.
pub(crate) struct Unstaged {
    error: ProjectionError,
    tenants: Vec<TenantId>,
}

/// [`Projections::claim`]'s guard.
pub(crate) struct Claim(Projections);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.inner.running.store(false, Ordering::Release);
    }
}

/// Batches at least this big are committed on a thread of their own while the
/// next one is folded; smaller ones (live, often one event) commit at once.
pub(crate) const PIPELINE_MIN: usize = 256;

/// Applies batches in log order. A big batch (catching up) is folded and held;
/// it is committed on a thread of its own while the next batch is folded, and
/// [`wait`](Self::wait) commits the one held. The next batch is read from the
/// log while nothing commits: sled 0.34 holds one lock for the whole process
/// while it applies a batch, which every read of any of its trees waits for.
/// Dropping the pipeline commits the batch it holds.
pub(crate) struct Pipeline {
    projections: Projections,
    held: Option<Staged>,
}

impl Pipeline {
    pub fn new(projections: Projections) -> Pipeline {
        Pipeline {
            projections,
            held: None,
        }
    }

    /// Folds `batch` and commits it, now or (a big batch) with the next.
    /// Returns the position reached, committed or held; when the batch held
    /// before does not commit, this one is not applied either.
    pub fn apply(&mut self, batch: Vec<RawEnvelope>) -> Result<u64, ProjectionError> {
        let overlap = batch.len() >= PIPELINE_MIN;
        let staged = match self.held.take() {
            Some(held) if overlap => self.commit_while(held, || self.projections.stage(batch))?,
            held => {
                if let Some(held) = held {
                    self.projections.commit(held)?;
                }
                self.projections
                    .stage(batch)
                    .map_err(|unstaged| self.projections.put_back(unstaged))?
            }
        };
        if overlap && staged.position > staged.start {
            let position = staged.position;
            self.held = Some(staged);
            Ok(position)
        } else {
            self.projections.commit(staged)
        }
    }

    /// [`Projections::skip_undecodable`], in its place among the batches.
    pub fn skip_undecodable(&mut self, position: u64, error: &str) -> Result<u64, ProjectionError> {
        self.wait()?;
        let staged = self.projections.stage_undecodable(position, error)?;
        self.projections.commit(staged)
    }

    /// Commits the batch held, if any; returns the position published.
    pub fn wait(&mut self) -> Result<u64, ProjectionError> {
        match self.held.take() {
            Some(held) => self.projections.commit(held),
            None => Ok(self.projections.position()),
        }
    }

    /// Commits `held` on a thread of its own while `fold` runs here.
    fn commit_while(
        &self,
        held: Staged,
        fold: impl FnOnce() -> Result<Staged, Unstaged>,
    ) -> Result<Staged, ProjectionError> {
        let tenants = held.tenants.clone();
        let (committed, staged) = std::thread::scope(|scope| {
            let commit = std::thread::Builder::new()
                .name("rollcall-commit".into())
                .spawn_scoped(scope, || self.projections.commit(held));
            let staged = fold();
            let committed = match commit {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|_| Err(ProjectionError::Commit("its thread panicked".into()))),
                Err(e) => Err(ProjectionError::Commit(format!(
                    "no thread to commit on: {e}"
                ))),
            };
            (committed, staged)
        });
        // Put back only now that the commit is done, whatever its outcome.
        let staged = staged.map_err(|unstaged| self.projections.put_back(unstaged));
        if let Err(e) = committed {
            // Folded on top of a batch that is not committed: both go back.
            let mut folded = self.projections.folded();
            self.projections.restore(&mut folded, tenants);
            if let Ok(staged) = staged {
                self.projections.restore(&mut folded, staged.tenants);
            }
            return Err(e);
        }
        staged
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Err(error) = self.wait() {
            tracing::error!(%error, "projection batch not committed");
        }
    }
}

/// A record the projector could not decode and skipped: an event of an unknown
/// type or shape (tenant, id and type known), or a record that is not an event
/// envelope at all (only its position known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<rollcall_events::EventId>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    pub error: String,
}

/// The read side. Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct Projections {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// What readers see: swapped after each committed batch.
    view: ArcSwap<ReadView>,
    /// The last position committed; `wait_for` watches it.
    position: watch::Sender<u64>,
    caught_up: AtomicBool,
    /// The log head seen when the projector started (`u64::MAX` before).
    catch_up_target: AtomicU64,
    /// The folded teams; one batch is folded at a time, whoever folds it.
    folded: Mutex<Folded>,
    running: AtomicBool,
    /// Every committed batch, decoded, for the process's other consumers.
    applied: broadcast::Sender<AppliedBatch>,
    /// Whether the store was emptied on open (another schema) and is rebuilt.
    rebuilding: bool,
    /// Held while a batch is committed and published.
    commit_gate: Mutex<()>,
}

/// Batches a slow consumer may fall behind before it must read the log itself.
const APPLIED_BACKLOG: usize = 1024;

impl Projections {
    /// Opens (or creates) the projections in `db` and rebuilds memory from them.
    /// A store of another schema version is emptied: the projector then rebuilds
    /// it from the log ([`Projections::rebuilding`] says so).
    pub fn open(db: sled::Db) -> Result<Self, ProjectionError> {
        let (store, rebuilding) = match Store::open(&db)? {
            Opened::Current(store) => (store, false),
            Opened::Reset(store) => (store, true),
        };
        let position = store.checkpoint()?;
        let (folded, view) = load(&store, position)?;
        let (position, _) = watch::channel(position);
        let (applied, _) = broadcast::channel(APPLIED_BACKLOG);
        Ok(Projections {
            inner: Arc::new(Inner {
                store,
                view: ArcSwap::from_pointee(view),
                position,
                caught_up: AtomicBool::new(false),
                catch_up_target: AtomicU64::new(u64::MAX),
                folded: Mutex::new(folded),
                running: AtomicBool::new(false),
                applied,
                rebuilding,
                commit_gate: Mutex::new(()),
            }),
        })
    }

    /// True when the store found on open was of another schema and is being
    /// rebuilt from the log.
    pub fn rebuilding(&self) -> bool {
        self.inner.rebuilding
    }

    /// Starts the projector: from the checkpoint, catch up, then follow the log live.
    /// A second projector on the same projections ends at once with
    /// [`ProjectionError::AlreadyRunning`].
    pub fn spawn(&self, log: Arc<dyn EventLog>) -> ProjectorHandle {
        projector::spawn(self.clone(), log)
    }

    /// Folds everything up to the log's current head, then returns the position
    /// reached (rebuilds, tools and benchmarks; no live follow).
    /// [`ProjectionError::AlreadyRunning`] while a projector runs on these
    /// projections.
    pub async fn catch_up(&self, log: &dyn EventLog) -> Result<u64, ProjectionError> {
        let (position, _) = self.catch_up_with(log, |_, _| {}).await?;
        Ok(position)
    }

    /// [`catch_up`](Self::catch_up) that calls `progress(reached, head)` before
    /// the first batch and after every batch (`reached` folded; all of it is
    /// committed before this returns), and also answers how many records it
    /// read. A record that is not an event is quarantined in its place.
    pub async fn catch_up_with(
        &self,
        log: &dyn EventLog,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(u64, u64), ProjectionError> {
        use futures::StreamExt;
        let _claim = self.claim()?;
        let head = log.head().await?;
        self.catch_up_to(head);
        progress(self.position(), head);
        let mut stream = log.read(self.position().saturating_add(1)).await?;
        let mut pipeline = Pipeline::new(self.clone());
        let mut batch = Vec::with_capacity(projector::MAX_BATCH);
        let mut records = 0;
        while let Some(next) = stream.next().await {
            records += 1;
            let last = match next {
                Ok(raw) => {
                    let last = raw.position;
                    batch.push(raw);
                    if batch.len() == projector::MAX_BATCH || last >= head {
                        let reached = pipeline.apply(std::mem::take(&mut batch))?;
                        progress(reached, head.max(reached));
                    }
                    last
                }
                Err(LogError::Undecodable { position, error }) => {
                    pipeline.apply(std::mem::take(&mut batch))?;
                    pipeline.skip_undecodable(position, &error)?;
                    position
                }
                Err(e) => return Err(e.into()),
            };
            if last >= head {
                break;
            }
        }
        pipeline.apply(batch)?;
        let reached = pipeline.wait()?;
        progress(reached, head.max(reached));
        self.mark_caught_up();
        Ok((self.position(), records))
    }

    /// The last log position applied (0 before any).
    pub fn position(&self) -> u64 {
        *self.inner.position.borrow()
    }

    /// What readers see now: lock-free, and unchanging for as long as it is held.
    pub fn view(&self) -> Arc<ReadView> {
        self.inner.view.load_full()
    }

    /// Read your writes: waits until `position` is applied, at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, WaitTimeout> {
        if self.position() >= position {
            return Ok(self.position());
        }
        let mut rx = self.inner.position.subscribe();
        let reached = tokio::time::timeout(timeout, async {
            rx.wait_for(|p| *p >= position).await.map(|p| *p).ok()
        })
        .await;
        match reached {
            Ok(Some(p)) => Ok(p),
            _ => Err(WaitTimeout {
                wanted: position,
                reached: self.position(),
            }),
        }
    }

    /// Has the projector reached the log head it saw when it started?
    pub fn caught_up(&self) -> bool {
        self.inner.caught_up.load(Ordering::Acquire)
    }

    /// Every committed batch from now on, decoded. Consumers take them through
    /// [`follow`](Self::follow), which also reads what came before.
    pub(crate) fn subscribe_applied(&self) -> broadcast::Receiver<AppliedBatch> {
        self.inner.applied.subscribe()
    }

    /// A copy of the folded team of `tenant` (its members shared, not copied).
    /// Catching up, it may include a batch folded and not committed yet.
    pub fn team(&self, tenant: TenantId) -> Option<Team> {
        self.folded().teams.get(&tenant).cloned()
    }

    /// Every tenant with at least one event, in id order.
    pub fn tenants(&self) -> Vec<TenantId> {
        let view = self.view();
        let mut ids: Vec<_> = view.tenants.keys().copied().collect();
        ids.sort();
        ids
    }

    /// A member's effective permissions with their sources.
    pub fn effective(&self, tenant: TenantId, user: UserId) -> Option<Effective> {
        let view = self.view();
        let index = view.tenant(tenant)?;
        let entry = index.member(user)?;
        Some(effective_from(
            &index.vocabulary(),
            &entry.member,
            &entry.access,
        ))
    }

    /// The team list, ordered by user id, optionally of one status. Deactivated
    /// members stay in it under their name. `None` for an unknown tenant.
    pub fn users(&self, tenant: TenantId, status: Option<MemberStatus>) -> Option<UserList> {
        let view = self.view();
        let index = view.tenant(tenant)?;
        Some(UserList {
            users: index
                .members
                .values()
                .filter(|e| status.is_none_or(|s| e.member.status == s))
                .map(UserSummary::of)
                .collect(),
        })
    }

    /// One member with everything that decides their access.
    pub fn user(&self, tenant: TenantId, user: UserId) -> Option<UserDetail> {
        let view = self.view();
        let index = view.tenant(tenant)?;
        Some(UserDetail::of(index, index.member(user)?))
    }

    /// The tenant's catalog, version, plan and roles.
    pub fn catalog(&self, tenant: TenantId) -> Option<CatalogAnswer> {
        Some(CatalogAnswer::of(self.view().tenant(tenant)?))
    }

    /// Billable platform → active members holding any permission of its areas.
    pub fn platforms(&self, tenant: TenantId) -> Option<PlatformsAnswer> {
        Some(PlatformsAnswer::of(self.view().tenant(tenant)?))
    }

    /// The check with its explanation; `None` for an unknown tenant.
    pub fn check(&self, tenant: TenantId, request: &CheckRequest) -> Option<CheckOutcome> {
        self.inner.view.load().check(tenant, request)
    }

    /// The check's verdict alone, without its explanation: no lock, no
    /// allocation. `None` for an unknown tenant or member.
    pub fn judge(&self, tenant: TenantId, request: &CheckRequest) -> Option<Verdict> {
        self.inner.view.load().tenant(tenant)?.judge(
            request.user_id,
            request.permission.as_str(),
            request.resource.owner_id,
            request.resource.office_id.as_ref().map(|o| o.as_str()),
            request.source_ip,
        )
    }

    /// A page of the tenant's audit trail; `Ok(None)` for an unknown tenant. A bad
    /// limit or cursor is refused whatever the tenant.
    pub fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Option<AuditPage>, ProjectionError> {
        query.bounds()?;
        let view = self.view();
        let Some(index) = view.tenant(tenant) else {
            return Ok(None);
        };
        audit::query(&self.inner.store, index, query).map(Some)
    }

    /// Every tenant's member holding `email` (normalised by the caller).
    pub fn memberships(&self, email: &str) -> Vec<Membership> {
        let view = self.view();
        let Some(keys) = view.emails.get(email) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|k| {
                let index = view.tenant(k.tenant)?;
                Some(Membership::of(index, index.member(k.user)?))
            })
            .collect()
    }

    /// Records skipped because they could not be decoded, in log order.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, ProjectionError> {
        self.inner.store.quarantined()
    }

    /// SHA-256 over every stored record but the checkpoint: a rebuild and a live
    /// instance at the same position agree.
    pub fn state_hash(&self) -> Result<String, ProjectionError> {
        self.inner.store.state_hash()
    }

    /// Bytes of keys and values the projections store.
    pub fn stored_bytes(&self) -> u64 {
        self.inner.store.stored_bytes()
    }

    /// Flushes the store to disk (a clean stop).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.inner.store.flush()
    }

    fn folded(&self) -> std::sync::MutexGuard<'_, Folded> {
        // A panic while folding ends the projector's task with the teams the
        // batch had taken out lost; the store keeps the last committed state,
        // from which the next start folds again.
        self.inner
            .folded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn mark_caught_up(&self) {
        self.inner.caught_up.store(true, Ordering::Release);
    }

    /// Caught up means reaching `head`; checked again after every batch.
    pub(crate) fn catch_up_to(&self, head: u64) {
        self.inner.catch_up_target.store(head, Ordering::Release);
        if self.position() >= head {
            self.mark_caught_up();
        }
    }

    /// The one right to fold into these projections: a projector holds it while
    /// it runs, a catch-up or a direct `apply` while it works. Released when the
    /// guard drops, however its holder ends.
    pub(crate) fn claim(&self) -> Result<Claim, ProjectionError> {
        if self.inner.running.swap(true, Ordering::AcqRel) {
            return Err(ProjectionError::AlreadyRunning);
        }
        Ok(Claim(self.clone()))
    }

    /// Folds a batch and commits it: events at or below the position reached are
    /// skipped, undecodable ones quarantined; the records and the checkpoint are
    /// committed together, then the view and the position are published. Returns
    /// the position reached. [`ProjectionError::AlreadyRunning`] while a projector
    /// or a catch-up folds into these projections.
    pub fn apply(&self, batch: Vec<RawEnvelope>) -> Result<u64, ProjectionError> {
        let _claim = self.claim()?;
        let staged = self
            .stage(batch)
            .map_err(|unstaged| self.put_back(unstaged))?;
        self.commit(staged)
    }

    /// Quarantines a record of the log that is not an event at all (its reader
    /// reported [`LogError::Undecodable`]) and moves the checkpoint past it, in one
    /// commit. Returns the position reached. [`ProjectionError::AlreadyRunning`]
    /// while a projector or a catch-up folds into these projections.
    pub fn skip_undecodable(&self, position: u64, error: &str) -> Result<u64, ProjectionError> {
        let _claim = self.claim()?;
        let staged = self.stage_undecodable(position, error)?;
        self.commit(staged)
    }

    /// A batch that did not fold: its teams go back as the store holds them.
    /// Called once no commit is in flight.
    fn put_back(&self, unstaged: Unstaged) -> ProjectionError {
        self.restore(&mut self.folded(), unstaged.tenants);
        unstaged.error
    }

    /// Where the next batch folds from: the last batch folded, when it is not
    /// committed yet (a [`Pipeline`] commits it meanwhile), else what is published.
    fn base(&self, folded: &Folded) -> (u64, Arc<ReadView>) {
        match &folded.staged {
            Some((position, view)) if *position > self.position() => (*position, view.clone()),
            _ => (self.position(), self.inner.view.load_full()),
        }
    }

    /// Folds a batch into the teams and a new view, and gathers what to store,
    /// without committing it. A batch that fails to fold answers the tenants it
    /// touched, to be put back as the store holds them once the commit in flight
    /// (if any) is done: not before, or they would miss that commit.
    fn stage(&self, batch: Vec<RawEnvelope>) -> Result<Staged, Unstaged> {
        let mut folded = self.folded();
        let (start, base) = self.base(&folded);
        let mut position = start;
        let mut view = ReadView::clone(&base);
        drop(base);
        // The batch folds teams taken out of the folded state, and puts them back
        // once folded; a failure puts back what the store holds instead.
        let mut work = Folded::default();
        let mut writes = Batch::default();
        let mut dirty = Dirty::default();
        let mut applied = Vec::with_capacity(batch.len());
        for raw in batch {
            if raw.position <= position {
                continue;
            }
            position = raw.position;
            match raw.decode() {
                Ok(envelope) => {
                    let tenant = envelope.tenant_id;
                    if !work.teams.contains_key(&tenant)
                        && let Some(team) = folded.teams.remove(&tenant)
                    {
                        work.teams.insert(tenant, team);
                    }
                    if let Err(error) = work.apply(&mut view, &envelope, &mut dirty) {
                        // The failing event's team was taken out too.
                        let mut tenants: Vec<TenantId> = work.teams.into_keys().collect();
                        tenants.push(tenant);
                        return Err(Unstaged { error, tenants });
                    }
                    applied.push(Record::Event(Arc::new(Applied::decoded(
                        raw,
                        Some(envelope),
                    ))));
                }
                Err(error) => {
                    tracing::warn!(position, event_id = %raw.event_id, %error, "event quarantined");
                    let record = quarantine_record(&Quarantined {
                        position,
                        tenant_id: Some(raw.tenant_id),
                        event_id: Some(raw.event_id),
                        event_type: Some(raw.event_type.clone()),
                        error: error.to_string(),
                    });
                    match record {
                        Ok(record) => writes.put(quarantine_key(position), record),
                        Err(error) => {
                            let tenants = work.teams.into_keys().collect();
                            return Err(Unstaged { error, tenants });
                        }
                    }
                    applied.push(Record::Event(Arc::new(Applied::decoded(raw, None))));
                }
            }
        }
        if let Err(error) = work.write_dirty(dirty, &mut writes) {
            let tenants = work.teams.into_keys().collect();
            return Err(Unstaged { error, tenants });
        }
        let tenants: Vec<TenantId> = work.teams.keys().copied().collect();
        folded.teams.extend(work.teams);
        view.position = position;
        let view = Arc::new(view);
        if position > start {
            folded.staged = Some((position, view.clone()));
        }
        Ok(Staged {
            start,
            position,
            writes,
            view,
            applied,
            tenants,
        })
    }

    /// [`skip_undecodable`](Self::skip_undecodable)'s batch, staged.
    fn stage_undecodable(&self, position: u64, error: &str) -> Result<Staged, ProjectionError> {
        let mut folded = self.folded();
        let (start, base) = self.base(&folded);
        let mut staged = Staged {
            start,
            position: start,
            writes: Batch::default(),
            view: base,
            applied: Vec::new(),
            tenants: Vec::new(),
        };
        if position <= start {
            return Ok(staged);
        }
        tracing::warn!(position, %error, "record quarantined: not an event");
        staged.writes.put(
            quarantine_key(position),
            quarantine_record(&Quarantined {
                position,
                tenant_id: None,
                event_id: None,
                event_type: None,
                error: error.to_owned(),
            })?,
        );
        let mut view = ReadView::clone(&staged.view);
        view.position = position;
        staged.view = Arc::new(view);
        staged.position = position;
        // Passed on too, so a follower sees every position in its place.
        staged.applied.push(Record::NotAnEvent {
            position,
            error: error.to_owned(),
        });
        folded.staged = Some((position, staged.view.clone()));
        Ok(staged)
    }

    /// Commits a staged batch with its checkpoint, then publishes its view and
    /// position and passes its records on. A batch that does not commit leaves
    /// the teams it touched, and every batch folded after it, as the store holds
    /// them.
    fn commit(&self, staged: Staged) -> Result<u64, ProjectionError> {
        let Staged {
            start,
            position,
            writes,
            view,
            applied,
            tenants,
        } = staged;
        if position == start {
            return Ok(self.position());
        }
        let committed = {
            let _gate = self.gate();
            let committed = self.inner.store.commit(writes, position);
            if committed.is_ok() {
                self.inner.view.store(view);
                self.publish(position);
            }
            committed
        };
        match committed {
            Ok(()) => {
                // Nobody listening is fine: consumers that join later read the log.
                let _ = self.inner.applied.send(Arc::new(applied));
                Ok(position)
            }
            Err(e) => {
                self.restore(&mut self.folded(), tenants);
                Err(e)
            }
        }
    }

    /// Held while a batch is committed and published: whoever puts teams back
    /// as the store holds them waits for a commit in flight first.
    fn gate(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .commit_gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// After a batch that did not fold or commit: the teams of `tenants` go back
    /// to what the store holds (the last committed state), and the next batch
    /// folds from what is published; a tenant the store cannot give back is
    /// dropped from memory and its index, to be folded again from the log.
    fn restore(&self, folded: &mut Folded, tenants: Vec<TenantId>) {
        let _gate = self.gate();
        folded.staged = None;
        for tenant in tenants {
            folded.teams.remove(&tenant);
            match load_team(&self.inner.store, tenant) {
                Ok(Some(team)) => {
                    folded.teams.insert(tenant, team);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%tenant, %error, "a tenant's committed state is unreadable");
                }
            }
        }
    }

    /// Publishes a committed position. `caught_up` is set first, so whoever sees
    /// the position that completes the catch-up also sees it.
    fn publish(&self, position: u64) {
        if position >= self.inner.catch_up_target.load(Ordering::Acquire) {
            self.mark_caught_up();
        }
        self.inner.position.send_replace(position);
    }
}

fn quarantine_record(entry: &Quarantined) -> Result<Vec<u8>, ProjectionError> {
    serde_json::to_vec(entry).map_err(|e| ProjectionError::Encode(e.to_string()))
}

/// A team from its stored header and members.
fn team_of(
    store: &Store,
    header: crate::stored::StoredTeam,
) -> Result<(TenantId, Team), ProjectionError> {
    let tenant = TenantId(uuid::Uuid::from_bytes(header.tenant_id));
    let corrupt = |message: String| ProjectionError::Corrupt {
        tree: crate::store::PROJECTIONS_TREE,
        key: format!("team of tenant {tenant}"),
        message,
    };
    let vocabulary = store
        .vocabulary(tenant)?
        .ok_or_else(|| corrupt("its catalog and roles are missing".into()))?;
    let members = store
        .members(tenant)
        .map(|m| Member::try_from(m?).map_err(|e| corrupt(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let team = header
        .into_team(vocabulary, members)
        .map_err(|e| corrupt(e.to_string()))?;
    Ok((tenant, team))
}

/// One tenant's team as the store holds it.
fn load_team(store: &Store, tenant: TenantId) -> Result<Option<Team>, ProjectionError> {
    match store.team(tenant)? {
        Some(header) => team_of(store, header).map(|(_, team)| Some(team)),
        None => Ok(None),
    }
}

/// The folded teams and the view, rebuilt from the store alone.
fn load(store: &Store, position: u64) -> Result<(Folded, ReadView), ProjectionError> {
    let mut folded = Folded::default();
    let mut view = ReadView {
        position,
        ..ReadView::default()
    };
    for header in store.teams() {
        let (tenant, team) = team_of(store, header?)?;
        if let Some(index) = restore_index(tenant, &team) {
            view.tenants.insert(tenant, Arc::new(index));
        }
        restore_emails(&mut view, tenant, &team);
        folded.teams.insert(tenant, team);
    }
    for item in store.all_audits() {
        let (tenant, position, entry) = item?;
        let Some(index) = view.tenants.get_mut(&tenant) else {
            continue;
        };
        Arc::make_mut(index).record_audit(position, entry.target(), entry.actor());
    }
    Ok((folded, view))
}
