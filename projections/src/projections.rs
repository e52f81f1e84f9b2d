//! [`Projections`]: the handle every reader holds (cheap to clone), and the one
//! place batches of events are folded and committed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rollcall_aggregates::{
    CheckOutcome, CheckRequest, Effective, MemberStatus, Team, check, check_effective,
};
use rollcall_events::{EventLog, LogError, RawEnvelope, TenantId, UserId};
use tokio::sync::watch;

use crate::audit::{self, AuditPage, AuditQuery};
use crate::error::{ProjectionError, WaitTimeout};
use crate::projector::{self, ProjectorHandle};
use crate::reduce::{TenantState, reduce};
use crate::state::{StoredView, load_all};
use crate::store::{Quarantined, Store, ViewTree, Write, member_key, prefix, tenant_key};
use crate::views::{CatalogView, MemberView, UserView};

/// The read side. Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct Projections {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// Swapped per tenant after each committed batch, so readers always see a
    /// state that matches the committed views.
    tenants: RwLock<HashMap<TenantId, Arc<TenantState>>>,
    /// The last position committed; `wait_for` watches it.
    position: watch::Sender<u64>,
    caught_up: AtomicBool,
    /// The log head seen when the projector started (`u64::MAX` before).
    catch_up_target: AtomicU64,
    /// One batch is folded at a time, whoever folds it (projector or `catch_up`).
    folding: Mutex<()>,
    running: AtomicBool,
}

impl Projections {
    /// Opens (or creates) the projection trees in `db` and rebuilds memory from them.
    pub fn open(db: sled::Db) -> Result<Self, ProjectionError> {
        let store = Store::open(&db)?;
        let position = store.checkpoint()?;
        let tenants = load_all(&store)?;
        let (position, _) = watch::channel(position);
        Ok(Projections {
            inner: Arc::new(Inner {
                store,
                tenants: RwLock::new(tenants),
                position,
                caught_up: AtomicBool::new(false),
                catch_up_target: AtomicU64::new(u64::MAX),
                folding: Mutex::new(()),
                running: AtomicBool::new(false),
            }),
        })
    }

    /// Starts the projector: from the checkpoint, catch up, then follow the log live.
    /// A second projector on the same projections ends at once with
    /// [`ProjectionError::AlreadyRunning`].
    pub fn spawn(&self, log: Arc<dyn EventLog>) -> ProjectorHandle {
        projector::spawn(self.clone(), log)
    }

    /// Folds everything up to the log's current head, then returns the position
    /// reached (rebuilds, tools and benchmarks; no live follow).
    pub async fn catch_up(&self, log: &dyn EventLog) -> Result<u64, ProjectionError> {
        let (position, _) = self.catch_up_with(log, |_, _| {}).await?;
        Ok(position)
    }

    /// [`catch_up`](Self::catch_up) that calls `progress(reached, head)` before
    /// the first batch and after every batch, and also answers how many records
    /// it read. A record that is not an event is quarantined in its place.
    pub async fn catch_up_with(
        &self,
        log: &dyn EventLog,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(u64, u64), ProjectionError> {
        use futures::StreamExt;
        let head = log.head().await?;
        self.catch_up_to(head);
        progress(self.position(), head);
        let mut stream = log.read(self.position().saturating_add(1)).await?;
        let mut batch = Vec::with_capacity(projector::MAX_BATCH);
        let mut records = 0;
        while let Some(next) = stream.next().await {
            records += 1;
            let last = match next {
                Ok(raw) => {
                    let last = raw.position;
                    batch.push(raw);
                    if batch.len() == projector::MAX_BATCH || last >= head {
                        let reached = self.apply(std::mem::take(&mut batch))?;
                        progress(reached, head.max(reached));
                    }
                    last
                }
                Err(LogError::Undecodable { position, error }) => {
                    self.apply(std::mem::take(&mut batch))?;
                    self.skip_undecodable(position, &error)?;
                    position
                }
                Err(e) => return Err(e.into()),
            };
            if last >= head {
                break;
            }
        }
        let reached = self.apply(batch)?;
        progress(reached, head.max(reached));
        self.mark_caught_up();
        Ok((self.position(), records))
    }

    /// The last log position applied (0 before any).
    pub fn position(&self) -> u64 {
        *self.inner.position.borrow()
    }

    /// Read your writes: waits until `position` is applied, at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, WaitTimeout> {
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

    pub fn team(&self, tenant: TenantId) -> Option<Arc<Team>> {
        self.state(tenant).map(|s| s.team.clone())
    }

    /// A member's resolved effective permissions, from memory.
    pub fn effective(&self, tenant: TenantId, user: UserId) -> Option<Arc<Effective>> {
        self.state(tenant)?.effective.get(&user).cloned()
    }

    /// Every tenant with at least one event, in id order.
    pub fn tenants(&self) -> Vec<TenantId> {
        let tenants = self.read_tenants();
        let mut ids: Vec<_> = tenants.keys().copied().collect();
        ids.sort();
        ids
    }

    /// The team list, ordered by user id, optionally of one status. Deactivated
    /// members stay in it under their name.
    pub fn users(&self, tenant: TenantId, status: Option<MemberStatus>) -> Vec<UserView> {
        let prefix = tenant_key(prefix::MEMBER, tenant);
        match self
            .inner
            .store
            .scan_json::<StoredView>(ViewTree::TeamViews, &prefix)
        {
            Ok(views) => views
                .into_iter()
                .map(|v| v.view.user)
                .filter(|u| status.is_none_or(|s| u.status == s))
                .collect(),
            Err(error) => {
                tracing::error!(%tenant, %error, "team list unreadable");
                Vec::new()
            }
        }
    }

    pub fn user(&self, tenant: TenantId, user: UserId) -> Option<MemberView> {
        let key = member_key(prefix::MEMBER, tenant, user);
        self.inner
            .store
            .get_json::<StoredView>(ViewTree::TeamViews, &key)
            .map(|stored| stored.map(|s| s.view))
            .unwrap_or_else(|error| {
                tracing::error!(%tenant, %user, %error, "member view unreadable");
                None
            })
    }

    pub fn catalog(&self, tenant: TenantId) -> Option<CatalogView> {
        let key = tenant_key(prefix::CATALOG, tenant);
        self.inner
            .store
            .get_json(ViewTree::TeamViews, &key)
            .unwrap_or_else(|error| {
                tracing::error!(%tenant, %error, "catalog view unreadable");
                None
            })
    }

    /// The check, from memory; the same answer as `aggregates::check` on the Team.
    pub fn check(&self, tenant: TenantId, request: &CheckRequest) -> CheckOutcome {
        let Some(state) = self.state(tenant) else {
            return check(&Team::default(), request);
        };
        match (state.effective.get(&request.user_id), state.team.catalog()) {
            (Some(effective), Some(catalog)) => check_effective(effective, catalog, request),
            _ => check(&state.team, request),
        }
    }

    pub fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<AuditPage, ProjectionError> {
        audit::query(&self.inner.store, tenant, query)
    }

    /// Billable platform → active members holding any permission of its areas.
    /// Every platform of the catalog is listed, with 0 when nobody holds it.
    pub fn platforms(&self, tenant: TenantId) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        let Some(state) = self.state(tenant) else {
            return counts;
        };
        let Some(catalog) = state.team.catalog() else {
            return counts;
        };
        let area_platform: HashMap<&str, &str> = catalog
            .doc()
            .areas
            .iter()
            .filter_map(|a| a.platform.as_deref().map(|p| (a.key.as_str(), p)))
            .collect();
        for platform in area_platform.values() {
            counts.insert((*platform).to_owned(), 0);
        }
        for effective in state.effective.values() {
            if effective.status != MemberStatus::Active {
                continue;
            }
            let held: BTreeSet<&str> = effective
                .permissions
                .keys()
                .filter_map(|p| area_platform.get(rollcall_aggregates::Catalog::area_of(p)))
                .copied()
                .collect();
            for platform in held {
                *counts.entry(platform.to_owned()).or_default() += 1;
            }
        }
        counts
    }

    /// Records skipped because they could not be decoded, in log order.
    pub fn quarantined(&self) -> Vec<Quarantined> {
        self.inner
            .store
            .scan_json(ViewTree::Quarantine, &[])
            .unwrap_or_else(|error| {
                tracing::error!(%error, "quarantine unreadable");
                Vec::new()
            })
    }

    /// SHA-256 over every view tree's (key, value) pairs in order; the checkpoint is
    /// left out, so a rebuild and a live instance at the same position agree.
    pub fn state_hash(&self) -> String {
        self.inner.store.state_hash().unwrap_or_else(|error| {
            tracing::error!(%error, "state hash unreadable");
            String::new()
        })
    }

    /// Flushes the trees to disk (a clean stop).
    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.inner.store.flush()
    }

    fn state(&self, tenant: TenantId) -> Option<Arc<TenantState>> {
        self.read_tenants().get(&tenant).cloned()
    }

    fn read_tenants(&self) -> std::sync::RwLockReadGuard<'_, HashMap<TenantId, Arc<TenantState>>> {
        // A panic elsewhere while holding the lock leaves the map itself intact:
        // it is only ever replaced entry by entry.
        self.inner
            .tenants
            .read()
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

    pub(crate) fn claim_projector(&self) -> bool {
        !self.inner.running.swap(true, Ordering::AcqRel)
    }

    pub(crate) fn release_projector(&self) {
        self.inner.running.store(false, Ordering::Release);
    }

    /// Folds a batch: events at or below the checkpoint are skipped, undecodable
    /// ones quarantined; the views and the checkpoint are committed together, then
    /// memory and the position are published. Returns the position reached.
    pub fn apply(&self, batch: Vec<RawEnvelope>) -> Result<u64, ProjectionError> {
        let _folding = self
            .inner
            .folding
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = self.position();
        let mut position = start;
        let mut work: HashMap<TenantId, TenantState> = HashMap::new();
        let mut writes: Vec<Write> = Vec::new();
        for raw in batch {
            if raw.position <= position {
                continue;
            }
            position = raw.position;
            match raw.decode() {
                Ok(envelope) => {
                    let tenant = envelope.tenant_id;
                    let state = match work.remove(&tenant) {
                        Some(state) => state,
                        None => self.state(tenant).map(|s| (*s).clone()).unwrap_or_default(),
                    };
                    let (state, more) = reduce(state, &envelope);
                    writes.extend(more);
                    work.insert(tenant, state);
                }
                Err(error) => {
                    tracing::warn!(position, event_id = %raw.event_id, %error, "event quarantined");
                    writes.push(quarantine(Quarantined {
                        position,
                        tenant_id: Some(raw.tenant_id),
                        event_id: Some(raw.event_id),
                        event_type: Some(raw.event_type.clone()),
                        error: error.to_string(),
                    }));
                }
            }
        }
        if position == start {
            return Ok(position);
        }
        self.inner.store.commit(writes, position)?;
        let mut replaced = Vec::with_capacity(work.len());
        {
            let mut tenants = self
                .inner
                .tenants
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (tenant, state) in work {
                replaced.extend(tenants.insert(tenant, Arc::new(state)));
            }
        }
        // The old states are freed after the lock is released, so readers wait
        // only for the swap.
        drop(replaced);
        self.publish(position);
        Ok(position)
    }

    /// Quarantines a record of the log that is not an event at all (its reader
    /// reported [`LogError::Undecodable`]) and moves the checkpoint past it, in one
    /// commit. Returns the position reached.
    pub fn skip_undecodable(&self, position: u64, error: &str) -> Result<u64, ProjectionError> {
        let _folding = self
            .inner
            .folding
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if position <= self.position() {
            return Ok(self.position());
        }
        tracing::warn!(position, %error, "record quarantined: not an event");
        let write = quarantine(Quarantined {
            position,
            tenant_id: None,
            event_id: None,
            event_type: None,
            error: error.to_owned(),
        });
        self.inner.store.commit(vec![write], position)?;
        self.publish(position);
        Ok(position)
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

/// The quarantine entry of a record, keyed by its position.
fn quarantine(entry: Quarantined) -> Write {
    Write::put_json(
        ViewTree::Quarantine,
        entry.position.to_be_bytes().to_vec(),
        &entry,
    )
}
