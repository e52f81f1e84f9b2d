//! As-of on a tenant with 100,000 events, in an embedded log: a full replay
//! against starting from the newest snapshot (one every 1,000 events, in sled).
//!
//! Also times verify of the same trail, and exports it (CSV and JSONL) in a
//! process of their own that reports its peak resident size.
//!
//! `cargo bench -p rollcall-replay --bench as_of` (set `ROLLCALL_BENCH_EVENTS` for
//! another size). The history is made by the real decider; it is written straight
//! into the embedded log's trees in one batch, because 100,000 separate durable
//! appends would measure the disk, not the replay.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{Scenario, TENANT, at};
use futures::StreamExt;
use rollcall_aggregates::testing::OWNER;
use rollcall_events::{
    Actor, Event, Permission, PermissionToggled, RoleKey, RolesChanged, Toggle, UserId,
    UserLoggedIn,
};
use rollcall_log::{EmbeddedLog, EventLog};
use rollcall_replay::open::{LogLocation, REPLAY_CACHE_BYTES, open_log};
use rollcall_replay::{
    ExportFilter, ExportFormat, SnapshotStore, TeamHistory, export_log, verify_log,
};

/// As `rollcall` itself (src/main.rs), so the figures are the CLI's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const MEMBERS: u128 = 200;
const ROLES: [&str; 3] = ["user", "viewer", "manager"];
const PERMS: [&str; 3] = ["contacts.delete", "billing.view", "projects.share"];

fn history(events: u64) -> Scenario {
    let mut s = Scenario::new(TENANT);
    let mut now = at(0, 0);
    let tick = chrono::Duration::seconds(1);
    s.create(now);
    for i in 0..MEMBERS {
        now += tick;
        s.invite(
            now,
            UserId::from_u128(100 + i),
            &format!("Member{i}"),
            &["user"],
        );
        now += tick;
        s.accept(now, UserId::from_u128(100 + i));
    }
    // The bulk is made of events valid by construction, sealed without `decide`
    // (deciding re-resolves every member's access and would dominate the set-up).
    let mut i: u64 = 0;
    while (s.raw.len() as u64) < events {
        now += tick;
        i += 1;
        let user = UserId::from_u128(100 + u128::from(i) % MEMBERS);
        let member = s.team.member(user).expect("member").clone();
        let (actor, event) = match i % 4 {
            0 => (
                Actor::User(OWNER),
                Event::RolesChanged(RolesChanged {
                    user_id: user,
                    from: member.roles.clone(),
                    to: vec![RoleKey::from(ROLES[(i / 4 % 3) as usize])],
                }),
            ),
            1 => {
                let permission = Permission::from(PERMS[(i / 4 % 3) as usize]);
                let from = member
                    .overrides
                    .get(&permission)
                    .map_or(Toggle::Inherit, |o| o.state);
                let to = [Toggle::Allow, Toggle::Deny, Toggle::Inherit][(i / 12 % 3) as usize];
                (
                    Actor::User(OWNER),
                    Event::PermissionToggled(PermissionToggled {
                        user_id: user,
                        permission,
                        from,
                        to,
                    }),
                )
            }
            _ => (
                Actor::User(user),
                Event::UserLoggedIn(UserLoggedIn {
                    user_id: user,
                    source_ip: None,
                }),
            ),
        };
        s.record(actor, now, None, &event);
    }
    s
}

/// Writes the events into the embedded log's own trees in one batch each.
fn write_log(db: &sled::Db, s: &Scenario) {
    let events = db.open_tree("log.events").expect("tree");
    let tenants = db.open_tree("log.tenants").expect("tree");
    let ids = db.open_tree("log.event_ids").expect("tree");
    let (mut be, mut bt, mut bi) = (
        sled::Batch::default(),
        sled::Batch::default(),
        sled::Batch::default(),
    );
    for e in &s.raw {
        let position = e.position.to_be_bytes();
        be.insert(&position[..], e.to_json_bytes());
        let mut key = TENANT.as_uuid().as_bytes().to_vec();
        key.extend_from_slice(&e.tenant_seq.to_be_bytes());
        bt.insert(key, &position[..]);
        bi.insert(&e.event_id.as_uuid().as_bytes()[..], &position[..]);
    }
    events.apply_batch(be).expect("batch");
    tenants.apply_batch(bt).expect("batch");
    ids.apply_batch(bi).expect("batch");
    db.flush().expect("flush");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn measure(history: &TeamHistory, at: DateTime<Utc>, runs: usize) -> (Duration, u64) {
    let mut samples = Vec::new();
    let mut seq = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let team = history.team_at(TENANT, at).await.expect("as-of");
        samples.push(start.elapsed());
        seq = team.tenant_seq;
    }
    (median(samples), seq)
}

fn main() {
    if let Some(dir) = std::env::var_os(EXPORT_FROM) {
        let format = std::env::var(EXPORT_FORMAT).unwrap_or_default();
        export_only(std::path::Path::new(&dir), &format);
        return;
    }
    let events: u64 = std::env::var("ROLLCALL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let s = history(events);
    println!(
        "history: {} events, {} members, made in {:?}",
        s.raw.len(),
        s.team.members.len(),
        started.elapsed()
    );
    // Laid out as `rollcall serve` keeps it, so the export below opens it as the
    // `rollcall replay` CLI does.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(LogLocation::embedded_dir(dir.path())).expect("sled");
    write_log(&db, &s);
    let log = Arc::new(EmbeddedLog::from_db(db.clone()).expect("log"));
    let last = s.raw.last().expect("events").occurred_at;
    let first = s.raw[0].occurred_at;
    let total = s.raw.len();
    // The generated history is only needed to fill the log: free it, so the
    // export's memory below is measured against what the process really holds.
    drop(s);
    let instants = [
        ("near the head", last - chrono::Duration::seconds(7)),
        ("in the middle", first + (last - first) / 2),
    ];

    runtime.block_on(async {
        let plain = TeamHistory::new(log.clone(), None);
        let store = SnapshotStore::open(&db, 1_000).expect("snapshots");
        let snapped = TeamHistory::new(log.clone(), Some(store));
        let started = Instant::now();
        let head = snapped.catch_up(TENANT).await.expect("catch up");
        println!("snapshots: built up to {head} in {:?} (one-off)", started.elapsed());
        for (label, instant) in instants {
            let (full, seq) = measure(&plain, instant, 5).await;
            let (fast, seq2) = measure(&snapped, instant, 21).await;
            assert_eq!(seq, seq2, "both answers stop at the same event");
            println!(
                "as-of {label} (event {seq}): full replay {full:?}, from snapshot {fast:?} ({:.0}x)",
                full.as_secs_f64() / fast.as_secs_f64().max(1e-9)
            );
        }

        // The other whole-trail operations on the same log, for scale, against
        // reading the trail and doing nothing with it.
        let started = Instant::now();
        let mut read = 0usize;
        let mut events = log.read_tenant(TENANT, 1).await.expect("read");
        while let Some(event) = events.next().await {
            event.expect("event");
            read += 1;
        }
        let raw_read = started.elapsed();
        assert_eq!(read, total);
        println!("read the tenant's {total} events (the floor): {raw_read:?}");
        let started = Instant::now();
        let report = verify_log(log.as_ref(), Some(TENANT), None)
            .await
            .expect("verify");
        assert!(report.is_intact());
        let verified = started.elapsed();
        println!(
            "verify {total} events: {verified:?} ({:.2}x the read)",
            verified.as_secs_f64() / raw_read.as_secs_f64().max(1e-9)
        );
    });

    // The export's memory is measured in a process of its own that does nothing
    // else, as `rollcall replay export` would: this one still holds the pages of
    // the generated history, which would hide what the export needs.
    drop(log);
    drop(db);
    for format in ["csv", "jsonl"] {
        let output = std::process::Command::new(std::env::current_exe().expect("own path"))
            .env(EXPORT_FROM, dir.path())
            .env(EXPORT_FORMAT, format)
            .output()
            .expect("export process");
        assert!(
            output.status.success(),
            "export process failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
}

const EXPORT_FROM: &str = "ROLLCALL_BENCH_EXPORT_FROM";
const EXPORT_FORMAT: &str = "ROLLCALL_BENCH_EXPORT_FORMAT";

/// The export process: opens the log the parent wrote as `rollcall replay` does,
/// exports all of it, and prints the time and its own peak resident size
/// (`VmHWM`, from its start).
fn export_only(dir: &std::path::Path, format: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The parent's sled may still hold its lock for a moment after closing.
    let location = LogLocation {
        data_dir: dir.to_owned(),
        nats_url: None,
        nats_replicas: None,
        cache_bytes: Some(REPLAY_CACHE_BYTES),
        nats_timeout: None,
    };
    let started = Instant::now();
    let log = loop {
        match runtime.block_on(open_log(&location)) {
            Ok(opened) => break opened.log,
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open the log: {e}"),
        }
    };
    let opened = status_kib("VmRSS").unwrap_or(0);
    let (label, format) = match format {
        "csv" => ("CSV", ExportFormat::Csv),
        _ => ("JSONL", ExportFormat::Jsonl),
    };
    let started = Instant::now();
    let summary = runtime
        .block_on(export_log(
            log.as_ref(),
            &ExportFilter::default(),
            format,
            std::io::sink(),
        ))
        .expect("export");
    println!(
        "export {} events as {label}: {:?}; peak RSS of the exporting process {} MiB \
         ({} MiB once the log was open)",
        summary.written,
        started.elapsed(),
        status_kib("VmHWM").unwrap_or(0) / 1024,
        opened / 1024,
    );
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
