//! Event log throughput, both backends, next to raw async-nats JetStream publishes
//! of the same payloads measured in the same run on the same private nats-server.
//!
//!     cargo bench -p rollcall-tests --bench log
//!
//! Sizes (environment): ROLLCALL_BENCH_SEQUENTIAL appends to one tenant, awaiting
//! each (default 2000); ROLLCALL_BENCH_TENANTS tenants (default 1000) with
//! ROLLCALL_BENCH_PER_TENANT appends each (default 10), all tenants in flight at
//! once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use rollcall_events::{GENESIS_HASH, RawEnvelope, TenantId};
use rollcall_log::{EmbeddedLog, EventLog, JetStreamConfig, JetStreamLog};
use rollcall_tests::NatsServer;
use rollcall_tests::log_conformance::{new_tenant, sealed};

type Log = Arc<dyn EventLog>;

/// As `rollcall` itself (src/main.rs), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A size from the environment; a value that is not a positive whole number
/// stops the bench rather than measuring something else than asked.
fn env_size(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n: &usize| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v:?} is not a positive whole number")),
        Err(_) => default,
    }
}

fn chain(tenant: TenantId, len: usize) -> Vec<RawEnvelope> {
    let mut prev = GENESIS_HASH.to_owned();
    (1..=len as u64)
        .map(|seq| {
            let event = sealed(tenant, seq, &prev, "bench");
            prev = event.hash.clone();
            event
        })
        .collect()
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

async fn log_sequential(log: &Log, events: &[RawEnvelope]) -> f64 {
    let started = Instant::now();
    for (expected, event) in events.iter().enumerate() {
        if let Err(e) = log.append(event.tenant_id, expected as u64, event).await {
            panic!("append failed: {e}");
        }
    }
    rate(events.len(), started.elapsed())
}

/// Every tenant appends its own chain in order; all tenants run at once.
async fn log_pipelined(log: &Log, chains: &[Vec<RawEnvelope>]) -> f64 {
    let total: usize = chains.iter().map(Vec::len).sum();
    let started = Instant::now();
    let mut tasks = FuturesUnordered::new();
    for chain in chains {
        let log = log.clone();
        let chain = chain.clone();
        tasks.push(tokio::spawn(async move {
            for (expected, event) in chain.iter().enumerate() {
                if let Err(e) = log.append(event.tenant_id, expected as u64, event).await {
                    panic!("append failed: {e}");
                }
            }
        }));
    }
    while let Some(done) = tasks.next().await {
        if let Err(e) = done {
            panic!("appender task: {e}");
        }
    }
    rate(total, started.elapsed())
}

async fn raw_sequential(js: &jetstream::Context, events: &[RawEnvelope]) -> f64 {
    let payloads: Vec<(String, Bytes)> = events
        .iter()
        .map(|e| (format!("raw.seq.{}", e.tenant_id), e.to_json_bytes().into()))
        .collect();
    let started = Instant::now();
    for (subject, payload) in payloads {
        let ack = match js.publish(subject, payload).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        if let Err(e) = ack {
            panic!("raw publish failed: {e}");
        }
    }
    rate(events.len(), started.elapsed())
}

/// Acks awaited at once by the raw pipelined publisher.
const RAW_WINDOW: usize = 1024;

/// Publishes without waiting for each ack, up to [`RAW_WINDOW`] in flight.
async fn raw_pipelined(js: &jetstream::Context, chains: &[Vec<RawEnvelope>]) -> f64 {
    let payloads: Vec<(String, Bytes)> = chains
        .iter()
        .flatten()
        .map(|e| {
            (
                format!("raw.pipe.{}", e.tenant_id),
                e.to_json_bytes().into(),
            )
        })
        .collect();
    let total = payloads.len();
    let started = Instant::now();
    let mut acks = FuturesUnordered::new();
    for (subject, payload) in payloads {
        // The context allows a bounded number of unacknowledged publishes; collect
        // acks as we go so the window keeps moving.
        while acks.len() >= RAW_WINDOW {
            if let Some(Err(e)) = acks.next().await {
                panic!("raw ack failed: {e}");
            }
        }
        match js.publish(subject, payload).await {
            Ok(ack) => acks.push(ack.into_future()),
            Err(e) => panic!("raw publish failed: {e}"),
        }
    }
    while let Some(ack) = acks.next().await {
        if let Err(e) = ack {
            panic!("raw ack failed: {e}");
        }
    }
    rate(total, started.elapsed())
}

fn row(name: &str, sequential: f64, pipelined: f64) {
    println!("{name:<34} {sequential:>14.0} {pipelined:>14.0}");
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    runtime.block_on(run());
}

async fn run() {
    let sequential = env_size("ROLLCALL_BENCH_SEQUENTIAL", 2000);
    let tenants = env_size("ROLLCALL_BENCH_TENANTS", 1000);
    let per_tenant = env_size("ROLLCALL_BENCH_PER_TENANT", 10);
    println!(
        "event log benchmark: {sequential} sequential appends to one tenant; \
         {tenants} tenants x {per_tenant} appends in flight at once"
    );

    let server = NatsServer::start();
    let dir = match tempfile::TempDir::new() {
        Ok(dir) => dir,
        Err(e) => panic!("temp dir: {e}"),
    };
    let embedded: Log = match EmbeddedLog::open(dir.path()) {
        Ok(log) => Arc::new(log),
        Err(e) => panic!("embedded log: {e}"),
    };
    let jetstream_log: Log = match JetStreamLog::connect(JetStreamConfig {
        url: server.url(),
        ..JetStreamConfig::default()
    })
    .await
    {
        Ok(log) => Arc::new(log),
        Err(e) => panic!("JetStream log: {e}"),
    };
    let client = match async_nats::connect(server.url()).await {
        Ok(client) => client,
        Err(e) => panic!("connect: {e}"),
    };
    let raw = jetstream::new(client);
    if let Err(e) = raw
        .create_stream(jetstream::stream::Config {
            name: "RAW".into(),
            subjects: vec!["raw.>".into()],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
    {
        panic!("raw stream: {e}");
    }

    // Each backend gets its own events (the log deduplicates on event ids).
    let make_pipelined = || -> Vec<Vec<RawEnvelope>> {
        (0..tenants)
            .map(|_| chain(new_tenant(), per_tenant))
            .collect()
    };
    let one = |_: ()| chain(new_tenant(), sequential);

    let embedded_seq = log_sequential(&embedded, &one(())).await;
    eprintln!("embedded sequential done");
    let embedded_pipe = log_pipelined(&embedded, &make_pipelined()).await;
    eprintln!("embedded pipelined done");
    let js_seq = log_sequential(&jetstream_log, &one(())).await;
    eprintln!("JetStream sequential done");
    let js_pipe = log_pipelined(&jetstream_log, &make_pipelined()).await;
    eprintln!("JetStream pipelined done");
    let raw_seq = raw_sequential(&raw, &one(())).await;
    eprintln!("raw sequential done");
    let raw_pipe = raw_pipelined(&raw, &make_pipelined()).await;

    println!();
    println!(
        "{:<34} {:>14} {:>14}",
        "appends/s", "sequential", "pipelined"
    );
    row(
        "embedded log (sled, group commit)",
        embedded_seq,
        embedded_pipe,
    );
    row("JetStream log", js_seq, js_pipe);
    row("raw async-nats JetStream publish", raw_seq, raw_pipe);
    println!(
        "{:<34} {:>13.0}% {:>13.0}%",
        "JetStream log / raw publish",
        100.0 * js_seq / raw_seq,
        100.0 * js_pipe / raw_pipe
    );
    println!(
        "{:<34} {:>13.0}% {:>13.0}%",
        "embedded log / raw publish",
        100.0 * embedded_seq / raw_seq,
        100.0 * embedded_pipe / raw_pipe
    );
}
