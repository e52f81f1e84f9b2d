//! The event log's contract as test cases, generic over the backend: every
//! `EventLog` implementation runs the same cases (see `tests/log_conformance.rs`).
//! Each case panics with a readable message when the backend breaks the contract.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use pretty_assertions::assert_eq;
use rollcall_events::{
    Actor, Event, EventId, EventMeta, GENESIS_HASH, PlanChanged, RawEnvelope, TenantId,
};
use rollcall_log::{EventLog, EventStream, LogError};
use uuid::Uuid;

pub type Log = Arc<dyn EventLog>;

/// How long a live subscription may take to deliver an event before the case fails.
const LIVE_WAIT: Duration = Duration::from_secs(10);

/// Opens the log under test, again and again over the same storage.
pub trait Backend: Send + Sync {
    fn open(&self) -> BoxFuture<'_, Log>;
}

// ---------------------------------------------------------------------------
// Helpers

pub fn new_tenant() -> TenantId {
    TenantId(Uuid::new_v4())
}

fn occurred_at(seq: u64) -> DateTime<Utc> {
    let base = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single();
    base.unwrap_or_default() + chrono::Duration::seconds(seq as i64)
}

/// A sealed event at `seq` linked to `prev_hash`; `label` makes its content unique.
pub fn sealed(tenant: TenantId, seq: u64, prev_hash: &str, label: &str) -> RawEnvelope {
    sealed_with_id(EventId(Uuid::now_v7()), tenant, seq, prev_hash, label)
}

pub fn sealed_with_id(
    event_id: EventId,
    tenant: TenantId,
    seq: u64,
    prev_hash: &str,
    label: &str,
) -> RawEnvelope {
    let meta = EventMeta {
        event_id,
        tenant_id: tenant,
        tenant_seq: seq,
        occurred_at: occurred_at(seq),
        actor: Actor::Operator,
        reason: Some(format!("conformance {label}")),
        correlation_id: Uuid::from_u128(u128::from(seq)),
        idempotency_key: None,
    };
    let event = Event::PlanChanged(PlanChanged {
        from: format!("plan-{}", seq.saturating_sub(1)),
        to: format!("plan-{seq}-{label}"),
    });
    RawEnvelope::seal(meta, prev_hash, &event)
}

/// Appends `count` chained events after the tenant's current head; returns them as
/// stored (positions filled in).
pub async fn append_chain(log: &Log, tenant: TenantId, count: u64) -> Vec<RawEnvelope> {
    let head = log.tenant_head(tenant).await.expect("tenant head");
    let mut prev = match head {
        0 => GENESIS_HASH.to_owned(),
        _ => last_of(log, tenant, head).await.hash,
    };
    let mut stored = Vec::new();
    for seq in head + 1..=head + count {
        let mut event = sealed(tenant, seq, &prev, "chain");
        let appended = log.append(tenant, seq - 1, &event).await.expect("append");
        assert!(
            !appended.duplicate,
            "a fresh event was reported as a duplicate"
        );
        event.position = appended.position;
        prev = event.hash.clone();
        stored.push(event);
    }
    stored
}

async fn last_of(log: &Log, tenant: TenantId, head: u64) -> RawEnvelope {
    let events = collect(log.read_tenant(tenant, head).await.expect("read_tenant")).await;
    match events.into_iter().find(|e| e.tenant_seq == head) {
        Some(event) => event,
        None => panic!("tenant {tenant} has no event {head}"),
    }
}

/// Collects a finite stream, failing the case on an error item.
pub async fn collect(stream: EventStream) -> Vec<RawEnvelope> {
    let items = tokio::time::timeout(LIVE_WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("a bounded read did not end");
    items
        .into_iter()
        .map(|item| item.expect("read item"))
        .collect()
}

async fn next_live(stream: &mut EventStream) -> RawEnvelope {
    match tokio::time::timeout(LIVE_WAIT, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("subscription yielded an error: {e}"),
        Ok(None) => panic!("subscription ended"),
        Err(_) => panic!("subscription delivered nothing within {LIVE_WAIT:?}"),
    }
}

/// Tenant sequences 1, 2, 3…, each `prev_hash` the previous `hash`, every hash valid.
#[track_caller]
pub fn assert_chain(events: &[RawEnvelope]) {
    let mut prev = GENESIS_HASH.to_owned();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.tenant_seq, i as u64 + 1, "tenant sequence");
        assert_eq!(
            event.prev_hash, prev,
            "chain link at tenant_seq {}",
            event.tenant_seq
        );
        assert!(
            event.hash_is_valid(),
            "hash of tenant_seq {}",
            event.tenant_seq
        );
        prev = event.hash.clone();
    }
}

fn json(events: &[RawEnvelope]) -> Vec<String> {
    events
        .iter()
        .map(|e| String::from_utf8_lossy(&e.to_json_bytes()).into_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// Cases

/// What goes in comes back byte for byte, with positions 1, 2, 3….
pub async fn append_and_read_back(log: Log) {
    assert_eq!(log.head().await.expect("head"), 0);
    let tenant = new_tenant();
    let stored = append_chain(&log, tenant, 3).await;
    let positions: Vec<u64> = stored.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![1, 2, 3]);

    let read = collect(log.read(0).await.expect("read")).await;
    assert_eq!(json(&read), json(&stored));
    assert_eq!(read, stored);
    assert_chain(&read);
    assert_eq!(log.head().await.expect("head"), 3);
    assert_eq!(log.tenant_head(tenant).await.expect("tenant head"), 3);
    assert_eq!(log.tenant_head(new_tenant()).await.expect("tenant head"), 0);
}

/// A stale expectation is a conflict naming expected and actual; an event that does
/// not fit the append is invalid; neither writes anything.
pub async fn conflict_reports_expected_and_actual(log: Log) {
    let tenant = new_tenant();
    let first = append_chain(&log, tenant, 2).await;

    let rival = sealed(tenant, 1, GENESIS_HASH, "rival");
    assert_eq!(
        log.append(tenant, 0, &rival).await,
        Err(LogError::Conflict {
            tenant,
            expected: 0,
            actual: 2
        })
    );
    let ahead = sealed(tenant, 6, &first[1].hash, "ahead");
    assert_eq!(
        log.append(tenant, 5, &ahead).await,
        Err(LogError::Conflict {
            tenant,
            expected: 5,
            actual: 2
        })
    );

    let wrong_tenant = sealed(new_tenant(), 3, &first[1].hash, "elsewhere");
    assert!(matches!(
        log.append(tenant, 2, &wrong_tenant).await,
        Err(LogError::Invalid(_))
    ));
    let wrong_seq = sealed(tenant, 5, &first[1].hash, "gap");
    assert!(matches!(
        log.append(tenant, 2, &wrong_seq).await,
        Err(LogError::Invalid(_))
    ));

    assert_eq!(log.head().await.expect("head"), 2);
    assert_eq!(collect(log.read(0).await.expect("read")).await, first);
}

/// Many writers race on one tenant: each sequence has exactly one winner, nothing
/// is lost or doubled and the chain is intact.
pub async fn racing_appenders_keep_one_chain(log: Log) {
    const WRITERS: usize = 16;
    const EACH: usize = 5;
    let tenant = new_tenant();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            let mut conflicts = 0usize;
            while won.len() < EACH {
                let head = log.tenant_head(tenant).await.expect("tenant head");
                let prev = match head {
                    0 => GENESIS_HASH.to_owned(),
                    _ => last_of(&log, tenant, head).await.hash,
                };
                let event = sealed(tenant, head + 1, &prev, &format!("w{writer}"));
                match log.append(tenant, head, &event).await {
                    Ok(appended) => {
                        assert!(!appended.duplicate);
                        won.push((event.event_id, appended.position));
                    }
                    Err(LogError::Conflict {
                        expected, actual, ..
                    }) => {
                        assert_eq!(expected, head);
                        assert!(actual > head, "a conflict must report a newer head");
                        conflicts += 1;
                    }
                    Err(e) => panic!("writer {writer}: {e}"),
                }
            }
            (won, conflicts)
        }));
    }
    let mut winners = BTreeMap::new();
    for task in tasks {
        let (won, _conflicts) = task.await.expect("writer task");
        for (event_id, position) in won {
            assert!(winners.insert(event_id, position).is_none());
        }
    }

    let events = collect(log.read_tenant(tenant, 0).await.expect("read_tenant")).await;
    assert_eq!(events.len(), WRITERS * EACH);
    assert_chain(&events);
    let read: BTreeMap<EventId, u64> = events.iter().map(|e| (e.event_id, e.position)).collect();
    assert_eq!(read, winners);
    let positions: Vec<u64> = events.iter().map(|e| e.position).collect();
    let expected: Vec<u64> = (1..=(WRITERS * EACH) as u64).collect();
    assert_eq!(positions, expected);
}

/// A retried append returns the first position and writes nothing, also after the
/// tenant has moved on.
pub async fn retry_is_idempotent(log: Log) {
    let tenant = new_tenant();
    let first = sealed(tenant, 1, GENESIS_HASH, "first");
    let appended = log.append(tenant, 0, &first).await.expect("append");
    assert!(!appended.duplicate);
    let again = log.append(tenant, 0, &first).await.expect("retry");
    assert_eq!(again.position, appended.position);
    assert!(again.duplicate);

    let later = append_chain(&log, tenant, 2).await;
    let after_move = log
        .append(tenant, 0, &first)
        .await
        .expect("retry after move");
    assert_eq!(after_move.position, appended.position);
    assert!(after_move.duplicate);
    let mid = log
        .append(
            tenant,
            1,
            &RawEnvelope {
                position: 0,
                ..later[0].clone()
            },
        )
        .await
        .expect("retry of the second");
    assert_eq!(mid.position, later[0].position);
    assert!(mid.duplicate);

    let events = collect(log.read(0).await.expect("read")).await;
    assert_eq!(events.len(), 3);
    assert_chain(&events);
    assert_eq!(log.head().await.expect("head"), 3);
}

/// The same event appended from many tasks at once is stored once; every task
/// gets the same position.
pub async fn concurrent_retries_store_once(log: Log) {
    let tenant = new_tenant();
    let first = append_chain(&log, tenant, 1).await;
    let event = sealed(tenant, 2, &first[0].hash, "retried");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let log = log.clone();
        let event = event.clone();
        tasks.push(tokio::spawn(
            async move { log.append(tenant, 1, &event).await },
        ));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task").expect("append"));
    }
    let positions: BTreeSet<u64> = answers.iter().map(|a| a.position).collect();
    assert_eq!(positions, BTreeSet::from([2]));
    assert_eq!(answers.iter().filter(|a| !a.duplicate).count(), 1);
    let events = collect(log.read(0).await.expect("read")).await;
    assert_eq!(events.len(), 2);
    assert_chain(&events);
}

/// Positions order events across tenants in append order; each tenant's stream
/// holds only its own.
pub async fn positions_order_all_tenants(log: Log) {
    let tenants = [new_tenant(), new_tenant(), new_tenant()];
    let mut order = Vec::new();
    for round in 0..3 {
        for tenant in tenants {
            order.extend(append_chain(&log, tenant, 1 + round % 2).await);
        }
    }
    let all = collect(log.read(0).await.expect("read")).await;
    assert_eq!(all, order);
    let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
    let expected: Vec<u64> = (1..=order.len() as u64).collect();
    assert_eq!(positions, expected);

    let tail = collect(log.read(5).await.expect("read from 5")).await;
    assert_eq!(tail, order[4..].to_vec());
    let beyond = collect(
        log.read(order.len() as u64 + 1)
            .await
            .expect("read past head"),
    )
    .await;
    assert!(beyond.is_empty());

    for tenant in tenants {
        let own = collect(log.read_tenant(tenant, 1).await.expect("read_tenant")).await;
        let expected: Vec<RawEnvelope> = order
            .iter()
            .filter(|e| e.tenant_id == tenant)
            .cloned()
            .collect();
        assert_eq!(own, expected);
        assert_chain(&own);
    }
}

/// `read_tenant` starts at the given tenant sequence and ends at the tenant's head.
pub async fn read_tenant_from_a_sequence(log: Log) {
    let tenant = new_tenant();
    let other = new_tenant();
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.extend(append_chain(&log, tenant, 1).await);
        append_chain(&log, other, 1).await;
    }
    let from_three = collect(log.read_tenant(tenant, 3).await.expect("read_tenant")).await;
    assert_eq!(from_three, mine[2..].to_vec());
    let last = collect(log.read_tenant(tenant, 5).await.expect("read_tenant")).await;
    assert_eq!(last, mine[4..].to_vec());
    let from_zero = collect(log.read_tenant(tenant, 0).await.expect("read_tenant")).await;
    assert_eq!(from_zero, mine);
    assert!(
        collect(log.read_tenant(tenant, 6).await.expect("past head"))
            .await
            .is_empty()
    );
    assert!(
        collect(log.read_tenant(new_tenant(), 0).await.expect("unknown"))
            .await
            .is_empty()
    );
}

/// A subscription catches up, then turns live: later appends arrive in order, with
/// no gap and no repeat at the switch.
pub async fn subscribe_catches_up_then_goes_live(log: Log) {
    let tenant = new_tenant();
    let before = append_chain(&log, tenant, 3).await;
    let mut from_two = log.subscribe(2).await.expect("subscribe");
    let mut from_start = log.subscribe(0).await.expect("subscribe");
    assert_eq!(next_live(&mut from_two).await, before[1]);
    assert_eq!(next_live(&mut from_two).await, before[2]);

    let writer = {
        let log = log.clone();
        tokio::spawn(async move {
            let mut written = Vec::new();
            for _ in 0..4 {
                written.extend(append_chain(&log, tenant, 1).await);
                written.extend(append_chain(&log, new_tenant(), 1).await);
            }
            written
        })
    };
    let mut live = Vec::new();
    for _ in 0..8 {
        live.push(next_live(&mut from_two).await);
    }
    let written = writer.await.expect("writer");
    assert_eq!(live, written);

    let mut everything = Vec::new();
    for _ in 0..11 {
        everything.push(next_live(&mut from_start).await);
    }
    let positions: Vec<u64> = everything.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=11).collect::<Vec<u64>>());

    // Nothing more has been appended, so nothing more may arrive.
    let quiet = tokio::time::timeout(Duration::from_millis(300), from_two.next()).await;
    assert!(
        quiet.is_err(),
        "a subscription yielded an event nobody appended"
    );
}

/// Reads and subscriptions longer than a backend reads at a time (the embedded
/// log reads 256 records per step) keep every record, in order, once; a reader
/// dropped mid-way leaves the log serving the next one.
pub async fn long_reads_and_subscriptions_keep_order(log: Log) {
    let tenants = [new_tenant(), new_tenant()];
    let mut order = Vec::new();
    for round in 0..14 {
        order.extend(append_chain(&log, tenants[round % 2], 50).await);
    }
    let all = collect(log.read(0).await.expect("read")).await;
    assert_eq!(all.len(), 700);
    assert_eq!(all, order);
    let tail = collect(log.read(300).await.expect("read from 300")).await;
    assert_eq!(tail, order[299..].to_vec());

    let mut dropped = log.read(0).await.expect("read");
    for expected in &order[..10] {
        assert_eq!(&next_live(&mut dropped).await, expected);
    }
    drop(dropped);

    let mut subscription = log.subscribe(1).await.expect("subscribe");
    for expected in &order {
        assert_eq!(&next_live(&mut subscription).await, expected);
    }
    let more = append_chain(&log, tenants[0], 3).await;
    for expected in &more {
        assert_eq!(&next_live(&mut subscription).await, expected);
    }
    order.extend(more);
    assert_eq!(collect(log.read(0).await.expect("read")).await, order);
    for tenant in tenants {
        let own = collect(log.read_tenant(tenant, 1).await.expect("read_tenant")).await;
        assert_eq!(own.len(), if tenant == tenants[0] { 353 } else { 350 });
        assert_chain(&own);
    }
}

/// Everything survives closing and reopening, and appends continue where they left.
pub async fn reopen_sees_everything(backend: &dyn Backend) {
    let tenant = new_tenant();
    let before = {
        let log = backend.open().await;
        let stored = append_chain(&log, tenant, 4).await;
        drop(log);
        stored
    };
    let log = backend.open().await;
    assert_eq!(log.head().await.expect("head"), 4);
    assert_eq!(log.tenant_head(tenant).await.expect("tenant head"), 4);
    assert_eq!(collect(log.read(0).await.expect("read")).await, before);
    let retry = log
        .append(tenant, 0, &before[0])
        .await
        .expect("retry after reopen");
    assert!(retry.duplicate);
    assert_eq!(retry.position, 1);

    let after = append_chain(&log, tenant, 2).await;
    assert_eq!(after[0].position, 5);
    assert_eq!(after[0].prev_hash, before[3].hash);
    let all = collect(log.read_tenant(tenant, 0).await.expect("read_tenant")).await;
    assert_eq!(all.len(), 6);
    assert_chain(&all);
}

/// Distinct event ids across every read, for cases that need to spot duplicates.
pub fn distinct_ids(events: &[RawEnvelope]) -> usize {
    events
        .iter()
        .map(|e| e.event_id)
        .collect::<BTreeSet<_>>()
        .len()
}
