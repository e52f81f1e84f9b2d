//! An in-memory event log for the gateway's tests (until the embedded log lands).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::StreamExt;
use rollcall_events::{Appended, EventLog, EventStream, LogError, RawEnvelope, TenantId};
use tokio::sync::watch;

pub struct MemLog {
    events: Arc<Mutex<Vec<RawEnvelope>>>,
    head: watch::Sender<u64>,
}

impl MemLog {
    pub fn new() -> MemLog {
        MemLog {
            events: Arc::new(Mutex::new(Vec::new())),
            head: watch::channel(0).0,
        }
    }

    fn snapshot(&self, from: u64) -> Vec<RawEnvelope> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|e| e.position >= from)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl EventLog for MemLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        let mut events = self.events.lock().unwrap();
        if let Some(e) = events.iter().find(|e| e.event_id == event.event_id) {
            return Ok(Appended {
                position: e.position,
                duplicate: true,
            });
        }
        let actual = events.iter().filter(|e| e.tenant_id == tenant).count() as u64;
        if actual != expected {
            return Err(LogError::Conflict {
                tenant,
                expected,
                actual,
            });
        }
        let mut stored = event.clone();
        stored.position = events.len() as u64 + 1;
        events.push(stored.clone());
        self.head.send_replace(stored.position);
        Ok(Appended {
            position: stored.position,
            duplicate: false,
        })
    }

    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        Ok(futures::stream::iter(self.snapshot(from).into_iter().map(Ok)).boxed())
    }

    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError> {
        let events: Vec<_> = self
            .snapshot(1)
            .into_iter()
            .filter(|e| e.tenant_id == tenant && e.tenant_seq >= from_seq)
            .map(Ok)
            .collect();
        Ok(futures::stream::iter(events).boxed())
    }

    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        let mut head = self.head.subscribe();
        let store = self.events.clone();
        let mut next = from;
        Ok(async_stream::stream! {
            loop {
                let batch: Vec<RawEnvelope> = store
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|e| e.position >= next)
                    .cloned()
                    .collect();
                for e in batch {
                    next = e.position + 1;
                    yield Ok(e);
                }
                if head.changed().await.is_err() {
                    return;
                }
            }
        }
        .boxed())
    }

    async fn head(&self) -> Result<u64, LogError> {
        Ok(*self.head.borrow())
    }

    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        Ok(self
            .snapshot(1)
            .iter()
            .filter(|e| e.tenant_id == tenant)
            .count() as u64)
    }
}
