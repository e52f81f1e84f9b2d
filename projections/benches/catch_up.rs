//! Projection catch-up speed over an embedded log, next to the raw read speed of
//! the same log and raw sled batch inserts of the same bytes, measured in the same
//! run; then in-process checks per second and latency next to a bare HashMap
//! lookup.
//!
//! 300,000 events across 300 tenants by default (under a minute); the full
//! size: `ROLLCALL_BENCH_EVENTS=1000000 ROLLCALL_BENCH_TENANTS=1000 cargo bench
//! -p rollcall-projections`.
//! `ROLLCALL_BENCH_CHECKS` sets the number of checks (default 1,000,000);
//! `ROLLCALL_BENCH_ROUNDS` how many times the raw insert and the catch-up
//! alternate (default 3; the medians are compared).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::join_all;
use rollcall_aggregates::{CheckRequest, Resource};
use rollcall_events::Permission;
use rollcall_log::{EmbeddedLog, EventLog};
use rollcall_projections::Projections;
use rollcall_projections::testing::{BusyRounds, busy_tenant, busy_user};

/// As `rollcall` itself (src/main.rs), so the figures are the server's. The
/// baselines in the same process use it too.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A number from the environment (`_` separators allowed); a value that is not
/// one stops the bench rather than measuring something else than asked.
fn env(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

/// Bytes of every file under `path`.
fn dir_size(path: &std::path::Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = env("ROLLCALL_BENCH_EVENTS", 300_000);
    let tenants = env("ROLLCALL_BENCH_TENANTS", 300).max(1);
    let checks = env("ROLLCALL_BENCH_CHECKS", 1_000_000);
    let rounds = env("ROLLCALL_BENCH_ROUNDS", 3).max(1) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    println!("catch_up: {events} events across {tenants} tenants (embedded log)");

    let log = Arc::new(EmbeddedLog::open(&dir.path().join("log"))?);
    let head = runtime.block_on(fill(log.clone(), events, tenants))?;

    // Raw read: every envelope decoded from the log's JSON, nothing else.
    let started = Instant::now();
    let read = runtime.block_on(async {
        let mut stream = log.read(1).await?;
        let mut n = 0u64;
        while let Some(raw) = stream.next().await {
            black_box(raw?);
            n += 1;
        }
        Ok::<u64, rollcall_log::LogError>(n)
    })?;
    let read_time = started.elapsed();
    assert_eq!(read, head);

    // Raw sled: the same bytes inserted in batches of 512 into a fresh db.
    let bytes: Vec<(u64, Vec<u8>)> = runtime.block_on(async {
        let mut stream = log.read(1).await?;
        let mut out = Vec::with_capacity(head as usize);
        while let Some(raw) = stream.next().await {
            let raw = raw?;
            out.push((raw.position, raw.to_json_bytes()));
        }
        Ok::<_, rollcall_log::LogError>(out)
    })?;
    let log_bytes: u64 = bytes.iter().map(|(_, value)| 8 + value.len() as u64).sum();

    // The raw insert and the catch-up alternate, each round into fresh
    // directories, and the medians are compared: one run of either moves with
    // whatever else the machine is doing at that moment.
    let mut sled_times = Vec::new();
    let mut catch_up_times = Vec::new();
    let mut projections = None;
    for round in 0..rounds {
        let raw_dir = dir.path().join(format!("raw-{round}"));
        let raw_db = sled::open(&raw_dir)?;
        let tree = raw_db.open_tree("raw")?;
        let started = Instant::now();
        for chunk in bytes.chunks(512) {
            let mut batch = sled::Batch::default();
            for (position, value) in chunk {
                batch.insert(&position.to_be_bytes(), value.as_slice());
            }
            tree.apply_batch(batch)?;
        }
        raw_db.flush()?;
        sled_times.push(started.elapsed());
        drop((tree, raw_db));
        std::fs::remove_dir_all(&raw_dir)?;

        // Projection catch-up from 0 into a fresh db; the last round's is kept.
        drop(projections.take());
        let projections_dir = dir.path().join("projections");
        if projections_dir.exists() {
            std::fs::remove_dir_all(&projections_dir)?;
        }
        let fresh = Projections::open(sled::open(&projections_dir)?)?;
        let started = Instant::now();
        let reached = runtime.block_on(fresh.catch_up(log.as_ref()))?;
        fresh.flush()?;
        catch_up_times.push(started.elapsed());
        assert_eq!(reached, head);
        projections = Some(fresh);
        println!(
            "round {}: sled insert {:.2} s, catch-up {:.2} s ({:.2}x)",
            round + 1,
            sled_times[round].as_secs_f64(),
            catch_up_times[round].as_secs_f64(),
            sled_times[round].as_secs_f64() / catch_up_times[round].as_secs_f64()
        );
    }
    drop(bytes);
    let projections = projections.expect("at least one round");
    let (sled_time, catch_up_time) = (median(&mut sled_times), median(&mut catch_up_times));

    let read_rate = rate(head, read_time);
    let sled_rate = rate(head, sled_time);
    let catch_up_rate = rate(head, catch_up_time);
    println!();
    println!(
        "{:<34} {:>10} {:>14} {:>10}",
        "", "seconds", "events/s", "ratio"
    );
    println!(
        "{:<34} {:>10.2} {:>14.0} {:>10}",
        "log read (decode envelopes)",
        read_time.as_secs_f64(),
        read_rate,
        "1.00"
    );
    println!(
        "{:<34} {:>10.2} {:>14.0} {:>10.2}",
        format!("sled batch insert, median of {rounds}"),
        sled_time.as_secs_f64(),
        sled_rate,
        sled_rate / read_rate
    );
    println!(
        "{:<34} {:>10.2} {:>14.0} {:>10.2}",
        format!("projection catch-up, median of {rounds}"),
        catch_up_time.as_secs_f64(),
        catch_up_rate,
        catch_up_rate / read_rate
    );
    println!(
        "catch-up / sled insert: {:.2}; catch-up / log read: {:.2}",
        catch_up_rate / sled_rate,
        catch_up_rate / read_rate
    );

    // What the projections store against the log they fold: keys and values
    // (the log's envelopes under their positions), and the directories on disk
    // (the log's includes its two indexes).
    let stored = projections.stored_bytes();
    let (log_disk, projections_disk) = (
        dir_size(&dir.path().join("log"))?,
        dir_size(&dir.path().join("projections"))?,
    );
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "projections vs the log: stored {:.1} vs {:.1} MiB = {:.2}x; on disk {:.1} vs {:.1} MiB = {:.2}x",
        mib(stored),
        mib(log_bytes),
        stored as f64 / log_bytes as f64,
        mib(projections_disk),
        mib(log_disk),
        projections_disk as f64 / log_disk as f64
    );

    check_bench(&projections, tenants, checks);
    Ok(())
}

/// Appends `events` events round by round; a round's appends (one per tenant) run
/// concurrently and share the log's group commit.
async fn fill(
    log: Arc<EmbeddedLog>,
    events: u64,
    tenants: u64,
) -> Result<u64, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut rounds = BusyRounds::new(tenants);
    let mut written = 0u64;
    let mut head = 0u64;
    while written < events {
        let mut round = rounds.next_round();
        round.truncate((events - written) as usize);
        written += round.len() as u64;
        let appends = round.into_iter().map(|raw| {
            let log = log.clone();
            tokio::spawn(async move { log.append(raw.tenant_id, raw.tenant_seq - 1, &raw).await })
        });
        for appended in join_all(appends).await {
            head = head.max(appended??.position);
        }
    }
    println!(
        "filled the log in {:.1}s ({:.0} appends/s)",
        started.elapsed().as_secs_f64(),
        rate(written, started.elapsed())
    );
    Ok(head)
}

/// Checks from memory against a bare HashMap lookup of the same keys.
fn check_bench(projections: &Projections, tenants: u64, checks: u64) {
    const PERMISSIONS: [&str; 6] = [
        "contacts.view",
        "contacts.delete",
        "projects.edit",
        "billing.manage",
        "team.manage",
        "offices.all",
    ];
    // A fixed pseudo-random spread of requests (no clock, no rand crate needed).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let requests: Vec<_> = (0..65_536)
        .map(|_| {
            let t = next() % tenants;
            let request = CheckRequest {
                user_id: busy_user(t, 1 + next() % 3),
                permission: Permission::from(PERMISSIONS[(next() % 6) as usize]),
                resource: Resource {
                    owner_id: Some(busy_user(t, 1 + next() % 3)),
                    office_id: None,
                },
                source_ip: None,
            };
            (busy_tenant(t), request)
        })
        .collect();
    let map: HashMap<_, u64> = requests
        .iter()
        .map(|(t, r)| ((*t, r.user_id, r.permission.clone()), 1))
        .collect();

    let measure = |name: &str, f: &dyn Fn(usize) -> bool| {
        // Throughput over the whole loop, then per-call latency in a second pass.
        let started = Instant::now();
        let mut allowed = 0u64;
        for i in 0..checks as usize {
            allowed += u64::from(f(i % requests.len()));
        }
        let total = started.elapsed();
        let mut latencies: Vec<u32> = Vec::with_capacity(checks as usize);
        for i in 0..checks as usize {
            let started = Instant::now();
            black_box(f(i % requests.len()));
            latencies.push(started.elapsed().as_nanos() as u32);
        }
        latencies.sort_unstable();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
        println!(
            "{:<34} {:>12.0} {:>9} {:>9} {:>11}",
            name,
            rate(checks, total),
            pct(0.5),
            pct(0.99),
            allowed
        );
        rate(checks, total)
    };
    println!();
    println!(
        "{:<34} {:>12} {:>9} {:>9} {:>11}",
        "in-process", "per second", "p50 ns", "p99 ns", "allowed"
    );
    let check_rate = measure("Projections::check", &|i| {
        let (tenant, request) = &requests[i];
        black_box(projections.check(*tenant, request)).is_some_and(|outcome| outcome.allowed)
    });
    let judge_rate = measure("Projections::judge (verdict only)", &|i| {
        let (tenant, request) = &requests[i];
        black_box(projections.judge(*tenant, request)).is_some_and(|verdict| verdict.allowed)
    });
    let map_rate = measure("HashMap lookup (baseline)", &|i| {
        let (tenant, request) = &requests[i];
        black_box(map.get(&(*tenant, request.user_id, request.permission.clone()))).is_some()
    });
    println!(
        "check / HashMap: {:.3}; verdict / HashMap: {:.3}",
        check_rate / map_rate,
        judge_rate / map_rate
    );
}
