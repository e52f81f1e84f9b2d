//! The embedded event log in sled, so `rollcall serve` runs with nothing else
//! installed.
//!
//! Three trees of its own (the same data dir can hold projections in others):
//! `log.events` (position → envelope JSON), `log.tenants` (tenant ‖ tenant_seq →
//! position) and `log.event_ids` (event id → position). One writer thread owns all
//! appends: it takes every append waiting in its queue, decides each in order,
//! writes the batch in one sled transaction over the three trees and flushes once
//! before answering any of them (group commit: concurrent appenders share one
//! fsync). Readers only see positions up to the last flushed head, published on a
//! watch channel that also wakes live subscribers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use futures::StreamExt;
use sled::Transactional;
use sled::transaction::TransactionError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Appended, EventLog, EventStream, LogError, check_fits};
use rollcall_events::RawEnvelope;
use rollcall_events::{EventId, TenantId};

const EVENTS_TREE: &str = "log.events";
const TENANTS_TREE: &str = "log.tenants";
const EVENT_IDS_TREE: &str = "log.event_ids";

/// Upper bound of appends decided and flushed together.
const MAX_BATCH: usize = 1024;
/// Events read from sled per step of a read stream.
const READ_CHUNK: usize = 256;

/// The sled-backed [`EventLog`]. Cheap to clone; the writer thread stops when the
/// last clone is dropped. Open one per database and share clones: two logs over
/// the same trees would each believe they are the only writer.
#[derive(Clone)]
pub struct EmbeddedLog {
    inner: Arc<Inner>,
}

struct Inner {
    trees: Trees,
    queue: Option<mpsc::Sender<AppendRequest>>,
    head: watch::Receiver<u64>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Clone)]
struct Trees {
    db: sled::Db,
    events: sled::Tree,
    tenants: sled::Tree,
    event_ids: sled::Tree,
}

struct AppendRequest {
    tenant: TenantId,
    expected: u64,
    event: RawEnvelope,
    reply: oneshot::Sender<Result<Appended, LogError>>,
}

impl EmbeddedLog {
    /// Opens (or creates) a sled database in `dir` and the log's trees in it.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        let db = sled::open(dir)
            .map_err(|e| LogError::Store(format!("cannot open {}: {e}", dir.display())))?;
        Self::from_db(db)
    }

    /// Uses the log's own trees in an already open database, so one data dir can
    /// hold the log and projections side by side.
    pub fn from_db(db: sled::Db) -> Result<Self, LogError> {
        let trees = Trees {
            events: db.open_tree(EVENTS_TREE).map_err(store)?,
            tenants: db.open_tree(TENANTS_TREE).map_err(store)?,
            event_ids: db.open_tree(EVENT_IDS_TREE).map_err(store)?,
            db,
        };
        let head = trees.last_position()?;
        let (head_tx, head_rx) = watch::channel(head);
        let (queue_tx, queue_rx) = mpsc::channel(4 * MAX_BATCH);
        let writer_trees = trees.clone();
        let writer = std::thread::Builder::new()
            .name("rollcall-log-writer".into())
            .spawn(move || run_writer(writer_trees, queue_rx, head_tx))
            .map_err(|e| LogError::Store(format!("cannot start the log writer: {e}")))?;
        Ok(EmbeddedLog {
            inner: Arc::new(Inner {
                trees,
                queue: Some(queue_tx),
                head: head_rx,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The last durable position (what readers may see).
    fn committed_head(&self) -> u64 {
        *self.inner.head.borrow()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the writer after its current batch; joining it lets
        // the caller reopen the same directory as soon as the log is dropped.
        self.queue = None;
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected_tenant_seq: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        check_fits(tenant, expected_tenant_seq, event)?;
        let queue = self
            .inner
            .queue
            .as_ref()
            .ok_or_else(|| LogError::Unavailable("the log is closing".into()))?;
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            tenant,
            expected: expected_tenant_seq,
            event: event.clone(),
            reply,
        };
        queue
            .send(request)
            .await
            .map_err(|_| LogError::Unavailable("the log writer has stopped".into()))?;
        // The writer took the request and stopped before answering: the batch it
        // was in may have been written.
        answer.await.map_err(|_| {
            LogError::OutcomeUnknown("the log writer stopped before answering".into())
        })?
    }

    async fn read(&self, from_position: u64) -> Result<EventStream, LogError> {
        let trees = self.inner.trees.clone();
        let head = self.committed_head();
        let start = from_position.max(1);
        let stream = futures::stream::unfold(start, move |next| {
            let trees = trees.clone();
            async move {
                if next > head {
                    return None;
                }
                match trees.events_chunk(next, head) {
                    Ok(chunk) => {
                        let after = chunk.last().map_or(head + 1, |(p, _)| p + 1);
                        Some((chunk.into_iter().map(|(_, e)| e).collect::<Vec<_>>(), after))
                    }
                    Err(e) => Some((vec![Err(e)], head + 1)),
                }
            }
        })
        .flat_map(futures::stream::iter);
        Ok(stream.boxed())
    }

    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError> {
        let trees = self.inner.trees.clone();
        let head = self.committed_head();
        let start = from_seq.max(1);
        let stream = futures::stream::unfold(Some(start), move |next| {
            let trees = trees.clone();
            async move {
                let next = next?;
                match trees.tenant_chunk(tenant, next, head) {
                    Ok(chunk) if chunk.is_empty() => None,
                    Ok(chunk) => {
                        let after = chunk.last().map(|(seq, _)| seq + 1);
                        let more = chunk.len() == READ_CHUNK;
                        let items = chunk.into_iter().map(|(_, e)| e).collect::<Vec<_>>();
                        Some((items, after.filter(|_| more)))
                    }
                    Err(e) => Some((vec![Err(e)], None)),
                }
            }
        })
        .flat_map(futures::stream::iter);
        Ok(stream.boxed())
    }

    async fn subscribe(&self, from_position: u64) -> Result<EventStream, LogError> {
        let trees = self.inner.trees.clone();
        let head = self.inner.head.clone();
        let start = from_position.max(1);
        let stream = futures::stream::unfold((start, head), move |(next, mut head)| {
            let trees = trees.clone();
            async move {
                loop {
                    let current = *head.borrow_and_update();
                    if next <= current {
                        return match trees.events_chunk(next, current) {
                            Ok(chunk) => {
                                let after = chunk.last().map_or(current + 1, |(p, _)| p + 1);
                                let items = chunk.into_iter().map(|(_, e)| e).collect::<Vec<_>>();
                                Some((items, (after, head)))
                            }
                            // Skip past the unreadable range rather than loop on it.
                            Err(e) => Some((vec![Err(e)], (current + 1, head))),
                        };
                    }
                    // The sender lives as long as the writer; once it is gone nothing
                    // more can be appended, so the subscription ends.
                    head.changed().await.ok()?;
                }
            }
        })
        .flat_map(futures::stream::iter);
        Ok(stream.boxed())
    }

    async fn head(&self) -> Result<u64, LogError> {
        Ok(self.committed_head())
    }

    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        let head = self.committed_head();
        let prefix = tenant.as_uuid().into_bytes();
        // Entries above the committed head belong to a batch still being flushed.
        for entry in self.inner.trees.tenants.scan_prefix(prefix).rev() {
            let (key, value) = entry.map_err(store)?;
            if decode_u64(&value)? <= head {
                return decode_u64(&key[16..]);
            }
        }
        Ok(0)
    }
}

impl Trees {
    fn last_position(&self) -> Result<u64, LogError> {
        match self.events.last().map_err(store)? {
            Some((key, _)) => decode_u64(&key),
            None => Ok(0),
        }
    }

    /// The tenant's newest sequence including unflushed writes (writer only).
    fn tenant_seq(&self, tenant: TenantId) -> Result<u64, LogError> {
        let prefix = tenant.as_uuid().into_bytes();
        match self.tenants.scan_prefix(prefix).next_back() {
            Some(entry) => {
                let (key, _) = entry.map_err(store)?;
                decode_u64(&key[16..])
            }
            None => Ok(0),
        }
    }

    fn position_of(&self, event_id: EventId) -> Result<Option<u64>, LogError> {
        match self
            .event_ids
            .get(event_id.as_uuid().as_bytes())
            .map_err(store)?
        {
            Some(value) => decode_u64(&value).map(Some),
            None => Ok(None),
        }
    }

    /// Up to [`READ_CHUNK`] records with `from <= position <= head`, each with its
    /// position and decoded on its own: an undecodable record is an
    /// [`LogError::Undecodable`] in its place, not the end of the chunk.
    fn events_chunk(&self, from: u64, head: u64) -> Result<Vec<(u64, Decoded)>, LogError> {
        let mut chunk = Vec::new();
        for entry in self
            .events
            .range(from.to_be_bytes()..=head.to_be_bytes())
            .take(READ_CHUNK)
        {
            let (key, value) = entry.map_err(store)?;
            let position = decode_u64(&key)?;
            chunk.push((position, decode_event(position, &value)));
        }
        Ok(chunk)
    }

    /// Up to [`READ_CHUNK`] of the tenant's events from `from_seq`, each with its
    /// tenant sequence, stopping at the first one above `head`.
    fn tenant_chunk(
        &self,
        tenant: TenantId,
        from_seq: u64,
        head: u64,
    ) -> Result<Vec<(u64, Decoded)>, LogError> {
        let mut chunk = Vec::new();
        let start = tenant_key(tenant, from_seq);
        let end = tenant_key(tenant, u64::MAX);
        for entry in self.tenants.range(start..=end).take(READ_CHUNK) {
            let (key, value) = entry.map_err(store)?;
            let seq = decode_u64(&key[16..])?;
            let position = decode_u64(&value)?;
            if position > head {
                break;
            }
            let bytes = self.events.get(position.to_be_bytes()).map_err(store)?;
            let bytes = bytes.ok_or_else(|| {
                LogError::Store(format!("position {position} is indexed but missing"))
            })?;
            chunk.push((seq, decode_event(position, &bytes)));
        }
        Ok(chunk)
    }
}

/// One decided append waiting for the batch's transaction.
struct Write {
    position: u64,
    key: [u8; 24],
    event_id: EventId,
    bytes: Vec<u8>,
}

fn run_writer(trees: Trees, mut queue: mpsc::Receiver<AppendRequest>, head: watch::Sender<u64>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let (answers, new_head) = write_batch(&trees, &batch);
        if let Some(position) = new_head {
            head.send_replace(position);
        }
        for (request, answer) in batch.into_iter().zip(answers) {
            // The appender may have given up waiting; its answer is then unneeded.
            let _ = request.reply.send(answer);
        }
    }
}

/// Decides every request against the stored state plus the batch so far, writes the
/// accepted ones atomically and flushes. Returns one answer per request and the new
/// durable head, if it moved.
fn write_batch(
    trees: &Trees,
    batch: &[AppendRequest],
) -> (Vec<Result<Appended, LogError>>, Option<u64>) {
    let fail_all = |e: LogError| (batch.iter().map(|_| Err(e.clone())).collect(), None);
    let stored_head = match trees.last_position() {
        Ok(head) => head,
        Err(e) => return fail_all(e),
    };
    let mut next_position = stored_head + 1;
    let mut pending_ids: HashMap<EventId, u64> = HashMap::new();
    let mut pending_heads: HashMap<TenantId, u64> = HashMap::new();
    let mut writes = Vec::new();
    let mut answers = Vec::with_capacity(batch.len());

    for request in batch {
        let event_id = request.event.event_id;
        // The event id is checked before the sequence: a retry must find its first
        // answer even when the tenant has moved on since.
        let known = match pending_ids.get(&event_id) {
            Some(position) => Ok(Some(*position)),
            None => trees.position_of(event_id),
        };
        match known {
            Ok(Some(position)) => {
                answers.push(Ok(Appended {
                    position,
                    duplicate: true,
                }));
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                answers.push(Err(e));
                continue;
            }
        }
        let actual = match pending_heads.get(&request.tenant) {
            Some(seq) => *seq,
            None => match trees.tenant_seq(request.tenant) {
                Ok(seq) => seq,
                Err(e) => {
                    answers.push(Err(e));
                    continue;
                }
            },
        };
        if actual != request.expected {
            answers.push(Err(LogError::Conflict {
                tenant: request.tenant,
                expected: request.expected,
                actual,
            }));
            continue;
        }
        let position = next_position;
        next_position += 1;
        let mut stored = request.event.clone();
        stored.position = position;
        pending_ids.insert(event_id, position);
        pending_heads.insert(request.tenant, request.event.tenant_seq);
        writes.push(Write {
            position,
            key: tenant_key(request.tenant, request.event.tenant_seq),
            event_id,
            bytes: stored.to_json_bytes(),
        });
        answers.push(Ok(Appended {
            position,
            duplicate: false,
        }));
    }

    if writes.is_empty() {
        return (answers, None);
    }
    if let Err(e) = commit(trees, &writes) {
        // Answers decided against this batch's own writes are void too.
        return fail_all(e);
    }
    (answers, Some(next_position - 1))
}

fn commit(trees: &Trees, writes: &[Write]) -> Result<(), LogError> {
    let result: Result<(), TransactionError<()>> =
        (&trees.events, &trees.tenants, &trees.event_ids).transaction(
            |(events, tenants, event_ids)| {
                for w in writes {
                    let position = w.position.to_be_bytes();
                    events.insert(&position[..], w.bytes.as_slice())?;
                    tenants.insert(&w.key[..], &position[..])?;
                    event_ids.insert(&w.event_id.as_uuid().as_bytes()[..], &position[..])?;
                }
                Ok(())
            },
        );
    result.map_err(|e| LogError::Store(format!("append transaction failed: {e:?}")))?;
    // Durable before anyone is told: an acknowledged append survives a crash.
    trees.db.flush().map_err(store)?;
    Ok(())
}

fn tenant_key(tenant: TenantId, seq: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(tenant.as_uuid().as_bytes());
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// One record of a read: the event, or why it is not one.
type Decoded = Result<RawEnvelope, LogError>;

fn decode_u64(bytes: &[u8]) -> Result<u64, LogError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| LogError::Store(format!("corrupt key or value of {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(array))
}

fn decode_event(position: u64, bytes: &[u8]) -> Result<RawEnvelope, LogError> {
    let mut event = RawEnvelope::from_json_bytes(bytes).map_err(|e| LogError::Undecodable {
        position,
        error: e.to_string(),
    })?;
    event.position = position;
    Ok(event)
}

fn store(e: sled::Error) -> LogError {
    LogError::Store(e.to_string())
}
