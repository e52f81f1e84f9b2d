//! A log whose next `subscribe` or `read` calls fail, to test how consumers ride
//! out an unavailable log; with no failures, a log that counts how often it is
//! read and subscribed to.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rollcall_events::{RawEnvelope, TenantId};
use rollcall_log::{Appended, EventLog, EventStream, LogError};

pub struct FlakySubscribe {
    pub inner: Arc<dyn EventLog>,
    /// How many of the next `subscribe` calls fail.
    pub failures: AtomicUsize,
    /// How many `subscribe` calls there were.
    pub calls: AtomicUsize,
    /// How many of the next `read` and `read_tenant` calls fail.
    pub read_failures: AtomicUsize,
    /// How many `read` and `read_tenant` calls there were.
    pub reads: AtomicUsize,
}

/// Takes one failure from `counter` when there is one left.
fn fails(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl FlakySubscribe {
    pub fn new(inner: Arc<dyn EventLog>, failures: usize) -> FlakySubscribe {
        FlakySubscribe {
            inner,
            failures: AtomicUsize::new(failures),
            calls: AtomicUsize::new(0),
            read_failures: AtomicUsize::new(0),
            reads: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl EventLog for FlakySubscribe {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        self.inner.append(tenant, expected, event).await
    }

    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if fails(&self.read_failures) {
            return Err(LogError::Unavailable("test: the log is down".into()));
        }
        self.inner.read(from).await
    }

    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if fails(&self.read_failures) {
            return Err(LogError::Unavailable("test: the log is down".into()));
        }
        self.inner.read_tenant(tenant, from_seq).await
    }

    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if fails(&self.failures) {
            return Err(LogError::Unavailable("test: the log is down".into()));
        }
        self.inner.subscribe(from).await
    }

    async fn head(&self) -> Result<u64, LogError> {
        self.inner.head().await
    }

    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        self.inner.tenant_head(tenant).await
    }
}
