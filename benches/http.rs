//! The HTTP benchmark: the release `rollcall` binary, its baseline and the load
//! generator each in a process of their own, every figure next to a baseline
//! measured in the same run.
//!
//!     cargo bench --features bench --bench http
//!
//! Phases (each starts on a quiet server: the read side has reached the log's
//! head and nothing else is in flight):
//! 1. checks: `rollcall-bare` (axum, a JSON body, a `HashMap` lookup) and rollcall's
//!    `POST /v1/tenants/{t}/check`, alternated for BENCH_ROUNDS rounds of
//!    BENCH_SECONDS each after a warm-up, at BENCH_CONNECTIONS connections; then
//!    both at one connection (latency);
//! 2. commands on the embedded log: one client inviting into an idle tenant, then
//!    BENCH_CONNECTIONS clients inviting over BENCH_TENANTS tenants;
//! 3. invitations into one tenant as it grows (sizes BENCH_GROWTH);
//! 4. memory: one tenant of BENCH_MEMBERS members, the server's resident set;
//! 5. JetStream (skipped when `nats-server` is missing): the same command phases
//!    on a private nats-server, next to raw pipelined JetStream appends with an
//!    expected sequence, in the same run.
//!
//! Only answers with the expected status count as throughput; other statuses and
//! transport errors are printed apart. BENCH_ROLLCALL_BIN measures another build
//! of `rollcall` (an older commit) with the same phases.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::stream::{FuturesUnordered, StreamExt};
use reqwest::Client;
use rollcall_tests::server::OPERATOR_TOKEN;
use rollcall_tests::server::free_port;
use rollcall_tests::{NatsServer, RollcallServer, ServerOptions};
use serde::Deserialize;
use serde_json::{Value, json};

/// A number from the environment; a value that is not one stops the bench
/// rather than measuring something else than asked.
fn setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

fn sizes(name: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v:?} is not a list of whole numbers"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// What `rollcall-load` printed for one phase.
#[derive(Debug, Clone, Deserialize)]
struct Figures {
    ok: u64,
    non_2xx: u64,
    unexpected: u64,
    errors: u64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    statuses: Vec<u16>,
    /// The server's CPU time per successful answer (µs), when its pid was known.
    server_cpu_us_per_ok: Option<f64>,
}

impl Figures {
    fn row(&self, label: &str) {
        let failed = self.non_2xx + self.unexpected + self.errors;
        let detail = if failed == 0 {
            String::new()
        } else {
            format!(
                "  NOT COUNTED: {} non-2xx, {} unexpected 2xx, {} errors {:?}",
                self.non_2xx, self.unexpected, self.errors, self.statuses
            )
        };
        let cpu = self
            .server_cpu_us_per_ok
            .map_or_else(String::new, |us| format!("  server CPU {us:>6.1} µs/ok"));
        println!(
            "  {label:<46} {:>9.0} ok/s  p50 {:>7.3} ms  p99 {:>7.3} ms{cpu}  ({} ok){detail}",
            self.rps, self.p50_ms, self.p99_ms, self.ok
        );
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median, when every value is known.
fn median_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.collect::<Option<Vec<f64>>>().map(median)
}

/// A request template of the load generator: `{i}` in path and body becomes the
/// request's number.
fn template(method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let headers: Vec<(String, String)> = token
        .map(|t| vec![("authorization".to_owned(), format!("Bearer {t}"))])
        .unwrap_or_default();
    json!({
        "method": method,
        "path": path,
        "headers": headers,
        "body": body.map(|b| b.to_string()),
    })
}

/// How long a phase runs: a warm-up then a measured window, or a count.
enum Span {
    Timed { warmup: Duration, measure: Duration },
    Count(u64),
}

/// Runs `rollcall-load` against `addr` and reads its figures.
fn load(
    target: &Target,
    connections: usize,
    span: Span,
    expect: &[u16],
    templates: &[Value],
) -> Figures {
    let mut plan = json!({
        "addr": target.addr,
        "server_pid": target.pid,
        "connections": connections,
        "threads": 2,
        "expect": expect,
        "templates": templates,
    });
    match span {
        Span::Timed { warmup, measure } => {
            plan["warmup_ms"] = json!(warmup.as_millis() as u64);
            plan["duration_ms"] = json!(measure.as_millis() as u64);
        }
        Span::Count(n) => plan["requests"] = json!(n),
    }
    let file = tempfile::NamedTempFile::new().expect("plan file");
    std::fs::write(file.path(), plan.to_string()).expect("write the plan");
    let output = Command::new(env!("CARGO_BIN_EXE_rollcall-load"))
        .arg(file.path())
        .stderr(Stdio::inherit())
        .output()
        .expect("run rollcall-load");
    assert!(output.status.success(), "rollcall-load failed");
    serde_json::from_slice(&output.stdout).expect("figures from rollcall-load")
}

/// The baseline server, in its own process.
struct Bare {
    child: Child,
    addr: String,
}

impl Bare {
    fn start() -> Bare {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_rollcall-bare"))
            .arg(&addr)
            .stdout(Stdio::null())
            .spawn()
            .expect("start rollcall-bare");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "rollcall-bare did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Bare { child, addr }
    }

    fn target(&self) -> Target {
        Target {
            addr: self.addr.clone(),
            pid: Some(self.child.id()),
        }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server under load: where it listens, and its process (for its CPU time).
struct Target {
    addr: String,
    pid: Option<u32>,
}

fn target_of(server: &RollcallServer) -> Target {
    Target {
        addr: server.url().trim_start_matches("http://").to_owned(),
        pid: server.pid(),
    }
}

/// A tenant made for the benchmark: its id, owner and owner's token.
#[derive(Clone)]
struct Tenant {
    id: String,
    owner: String,
    token: String,
}

async fn create_tenants(http: &Client, server: &RollcallServer, count: usize) -> Vec<Tenant> {
    let base = server.url();
    let mut created = Vec::with_capacity(count);
    let mut pending = FuturesUnordered::new();
    for i in 0..count {
        let (http, base) = (http.clone(), base.clone());
        pending.push(async move {
            let answer: Value = http
                .post(format!("{base}/v1/tenants"))
                .bearer_auth(OPERATOR_TOKEN)
                .json(&json!({"name": format!("Bench {i}"), "catalog": "jtek",
                              "owner": {"email": "owner@example.com", "display_name": "Owner"}}))
                .send()
                .await
                .expect("create a tenant")
                .error_for_status()
                .expect("tenant created")
                .json()
                .await
                .expect("tenant answer");
            answer
        });
        if pending.len() == 16 {
            created.push(pending.next().await.expect("a tenant"));
        }
    }
    while let Some(answer) = pending.next().await {
        created.push(answer);
    }
    created
        .into_iter()
        .map(|a| {
            let id = a["tenant_id"].as_str().expect("tenant_id").to_owned();
            let owner = a["owner_id"].as_str().expect("owner_id").to_owned();
            let token = server.token(&id, &owner, None, false);
            Tenant { id, owner, token }
        })
        .collect()
}

/// Invites `count` members into `tenant` (as fast as the server takes them; not a
/// measurement) and returns their ids.
async fn invite_members(
    http: &Client,
    server: &RollcallServer,
    tenant: &Tenant,
    count: usize,
    tag: &str,
) -> Vec<String> {
    let base = server.url();
    let mut ids = Vec::with_capacity(count);
    let mut pending = FuturesUnordered::new();
    for i in 0..count {
        let (http, base, tenant) = (http.clone(), base.clone(), tenant.clone());
        let email = format!("{tag}-{i}@example.com");
        pending.push(async move {
            let answer: Value = http
                .post(format!("{base}/v1/tenants/{}/invitations", tenant.id))
                .bearer_auth(&tenant.token)
                .json(&json!({"email": email, "display_name": "Member", "roles": ["user"]}))
                .send()
                .await
                .expect("invite")
                .error_for_status()
                .expect("invitation accepted")
                .json()
                .await
                .expect("invitation answer");
            answer["user_id"].as_str().expect("user_id").to_owned()
        });
        if pending.len() == 32 {
            ids.push(pending.next().await.expect("an invitation"));
        }
    }
    while let Some(id) = pending.next().await {
        ids.push(id);
    }
    ids
}

/// Waits until the server's read side has reached the log's head, then lets the
/// machine settle: no phase inherits another's backlog.
async fn quiesce(http: &Client, server: &RollcallServer) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let answer = http.get(format!("{}/readyz", server.url())).send().await;
        if let Ok(answer) = answer
            && answer.status().is_success()
            && let Ok(body) = answer.json::<Value>().await
            && body["head"].as_u64() == body["position"].as_u64()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the read side did not catch up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a resident size")
}

fn invitation_template(tenant: &Tenant, tag: &str) -> Value {
    template(
        "POST",
        &format!("/v1/tenants/{}/invitations", tenant.id),
        Some(&tenant.token),
        Some(
            json!({"email": format!("{tag}-{{i}}@example.com"), "display_name": "Bench", "roles": ["user"]}),
        ),
    )
}

struct Settings {
    connections: usize,
    tenants: usize,
    members_per_tenant: usize,
    rounds: usize,
    seconds: Duration,
    warmup: Duration,
}

impl Settings {
    fn timed(&self) -> Span {
        Span::Timed {
            warmup: self.warmup,
            measure: self.seconds,
        }
    }
}

/// Command phases on one server: one client on an idle tenant, then many clients
/// over many tenants. Returns (one client, many clients).
async fn command_phases(
    http: &Client,
    server: &RollcallServer,
    s: &Settings,
    label: &str,
) -> (Figures, Figures) {
    let addr = target_of(server);
    let idle = create_tenants(http, server, 1).await.remove(0);
    let tenants = create_tenants(http, server, s.tenants).await;
    quiesce(http, server).await;
    let one = load(
        &addr,
        1,
        s.timed(),
        &[201],
        &[invitation_template(&idle, "one")],
    );
    one.row(&format!("{label}: invite, 1 client, idle tenant"));
    quiesce(http, server).await;
    let templates: Vec<Value> = tenants
        .iter()
        .map(|t| invitation_template(t, "many"))
        .collect();
    let many = load(&addr, s.connections, s.timed(), &[201], &templates);
    many.row(&format!(
        "{label}: invite, {} clients over {} tenants",
        s.connections, s.tenants
    ));
    quiesce(http, server).await;
    (one, many)
}

/// Raw JetStream appends of envelope-sized payloads with an expected last
/// sequence per subject, `in_flight` at once over `tenants` subjects, for `span`.
async fn raw_jetstream(url: &str, tenants: usize, in_flight: usize, span: Duration) -> f64 {
    let client = async_nats::connect(url).await.expect("connect to nats");
    let js = jetstream::new(client);
    js.create_stream(jetstream::stream::Config {
        name: "RAW".into(),
        subjects: vec!["raw.>".into()],
        ..Default::default()
    })
    .await
    .expect("raw stream");
    let payload = bytes::Bytes::from(vec![b'x'; 700]);
    // Each subject has at most one append in flight, as a tenant has in rollcall:
    // the next one expects the sequence its ack returns.
    let mut last = vec![0u64; tenants];
    let mut free: std::collections::VecDeque<usize> = (0..tenants).collect();
    let mut acks = FuturesUnordered::new();
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < span {
        while acks.len() < in_flight
            && let Some(t) = free.pop_front()
        {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Expected-Last-Subject-Sequence",
                last[t].to_string().as_str(),
            );
            let ack = js
                .publish_with_headers(format!("raw.{t}"), headers, payload.clone())
                .await
                .expect("publish");
            acks.push(async move { (t, ack.await) });
        }
        let (t, ack) = acks.next().await.expect("an ack");
        last[t] = ack.expect("raw append acked").sequence;
        free.push_back(t);
        done += 1;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// The checks phase's figures.
struct Checks {
    bare_rps: f64,
    rollcall_rps: f64,
    bare_p99: f64,
    rollcall_p99: f64,
    /// Server CPU per answer (µs), median of the rounds.
    bare_cpu: Option<f64>,
    rollcall_cpu: Option<f64>,
    bare_one: Figures,
    rollcall_one: Figures,
}

async fn checks_phase(http: &Client, bin: &PathBuf, s: &Settings) -> Checks {
    let bare = Bare::start();
    let server = RollcallServer::start(bin, ServerOptions::default());
    let tenants = create_tenants(http, &server, s.tenants).await;
    let mut checks = Vec::new();
    for t in &tenants {
        let members = invite_members(http, &server, t, s.members_per_tenant, "member").await;
        for (k, m) in members.iter().chain([&t.owner]).enumerate() {
            let permission = ["contacts.view", "contacts.delete", "projects.edit"][k % 3];
            checks.push(template(
                "POST",
                &format!("/v1/tenants/{}/check", t.id),
                Some(&t.token),
                Some(json!({"user_id": m, "permission": permission, "resource": {}})),
            ));
        }
    }
    let bare_checks: Vec<Value> = (0..checks.len())
        .map(|k| {
            template(
                "POST",
                "/check",
                None,
                Some(json!({"user_id": format!("user-{k}"), "permission": "contacts.view", "resource": {}})),
            )
        })
        .collect();
    quiesce(http, &server).await;
    println!(
        "\nchecks ({} connections, {} rounds of {:?}, alternated):",
        s.connections, s.rounds, s.seconds
    );
    let addr = target_of(&server);
    let (mut bare_rounds, mut rollcall_rounds) = (Vec::new(), Vec::new());
    for round in 1..=s.rounds {
        let b = load(
            &bare.target(),
            s.connections,
            s.timed(),
            &[200],
            &bare_checks,
        );
        b.row(&format!("bare axum lookup, round {round}"));
        let r = load(&addr, s.connections, s.timed(), &[200], &checks);
        r.row(&format!("rollcall check, round {round}"));
        bare_rounds.push(b);
        rollcall_rounds.push(r);
    }
    let bare_one = load(&bare.target(), 1, s.timed(), &[200], &bare_checks);
    bare_one.row("bare axum lookup, 1 connection");
    let rollcall_one = load(&addr, 1, s.timed(), &[200], &checks);
    rollcall_one.row("rollcall check, 1 connection");
    Checks {
        bare_rps: median(bare_rounds.iter().map(|f| f.rps).collect()),
        rollcall_rps: median(rollcall_rounds.iter().map(|f| f.rps).collect()),
        bare_p99: median(bare_rounds.iter().map(|f| f.p99_ms).collect()),
        rollcall_p99: median(rollcall_rounds.iter().map(|f| f.p99_ms).collect()),
        bare_cpu: median_of(bare_rounds.iter().map(|f| f.server_cpu_us_per_ok)),
        rollcall_cpu: median_of(rollcall_rounds.iter().map(|f| f.server_cpu_us_per_ok)),
        bare_one,
        rollcall_one,
    }
}

async fn growth_phase(
    http: &Client,
    bin: &PathBuf,
    s: &Settings,
    growth: &[usize],
) -> Vec<(usize, f64)> {
    println!(
        "\ninvitations into one tenant as it grows (8 clients, {:?} each):",
        s.seconds
    );
    let server = RollcallServer::start(bin, ServerOptions::default());
    let grown = create_tenants(http, &server, 1).await.remove(0);
    let addr = target_of(&server);
    let mut size = 1;
    let mut rates = Vec::new();
    for target in growth {
        if *target > size {
            let seed = load(
                &addr,
                s.connections,
                Span::Count((*target - size) as u64),
                &[201],
                &[invitation_template(&grown, &format!("grow{target}"))],
            );
            assert_eq!(seed.non_2xx + seed.errors, 0, "seeding the tenant failed");
            size = *target;
        }
        quiesce(http, &server).await;
        let f = load(
            &addr,
            8,
            s.timed(),
            &[201],
            &[invitation_template(&grown, &format!("at{target}"))],
        );
        f.row(&format!("at {target} members"));
        size += f.ok as usize;
        rates.push((*target, f.rps));
    }
    rates
}

async fn memory_phase(http: &Client, bin: &PathBuf, s: &Settings, members: usize) {
    println!("\nmemory, one tenant of {members} members:");
    let server = RollcallServer::start(bin, ServerOptions::default());
    let pid = server.pid().expect("the server's pid");
    let big = create_tenants(http, &server, 1).await.remove(0);
    quiesce(http, &server).await;
    let idle_rss = rss_kib(pid, "VmRSS:");
    let started = Instant::now();
    let seed = load(
        &target_of(&server),
        s.connections,
        Span::Count(members.saturating_sub(1) as u64),
        &[201],
        &[invitation_template(&big, "big")],
    );
    quiesce(http, &server).await;
    let seeded_in = started.elapsed();
    let (rss, hwm) = (rss_kib(pid, "VmRSS:"), rss_kib(pid, "VmHWM:"));
    println!(
        "  {} invitations in {:.1} s ({:.0}/s, {} not counted); resident {:.0} MiB (idle server {:.0} MiB, peak {:.0} MiB)",
        seed.ok,
        seeded_in.as_secs_f64(),
        seed.ok as f64 / seeded_in.as_secs_f64(),
        seed.non_2xx + seed.errors + seed.unexpected,
        rss as f64 / 1024.0,
        idle_rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
}

async fn jetstream_phase(
    http: &Client,
    bin: &PathBuf,
    s: &Settings,
) -> Option<(f64, Figures, Figures)> {
    if !which("nats-server") {
        println!("\nJetStream phases skipped: nats-server is not installed");
        return None;
    }
    println!("\ncommands, JetStream (a private nats-server):");
    let nats = NatsServer::start();
    let raw = raw_jetstream(&nats.url(), s.tenants, s.connections, s.seconds).await;
    println!(
        "  {:<46} {raw:>9.0} ok/s",
        format!("raw pipelined append, {} in flight", s.connections)
    );
    let server = RollcallServer::start(
        bin,
        ServerOptions {
            nats_url: Some(nats.url()),
            ..ServerOptions::default()
        },
    );
    let (one, many) = command_phases(http, &server, s, "jetstream").await;
    gateway_lag(http, &nats, &server, bin).await;
    Some((raw, one, many))
}

/// How long after a gateway answers a command another gateway on the same
/// stream serves it: one invitation at a time through the first, then a read of
/// the new member on the second with `min_position` of the answer (which waits
/// for that gateway's read side to get there). The read's time is the lag plus
/// one loopback round trip.
async fn gateway_lag(http: &Client, nats: &NatsServer, first: &RollcallServer, bin: &PathBuf) {
    const SAMPLES: usize = 300;
    let second = RollcallServer::start(
        bin,
        ServerOptions {
            nats_url: Some(nats.url()),
            args: vec!["--no-mailer".into(), "--no-checkpoint-signer".into()],
            ..ServerOptions::default()
        },
    );
    let tenant = create_tenants(http, first, 1).await.remove(0);
    quiesce(http, first).await;
    quiesce(http, &second).await;
    let mut waits = Vec::with_capacity(SAMPLES);
    let mut refused = 0;
    for i in 0..SAMPLES {
        let answer: Value = http
            .post(format!("{}/v1/tenants/{}/invitations", first.url(), tenant.id))
            .bearer_auth(&tenant.token)
            .json(&json!({"email": format!("lag-{i}@example.com"), "display_name": "Lag", "roles": ["user"]}))
            .send()
            .await
            .expect("invite")
            .error_for_status()
            .expect("invited")
            .json()
            .await
            .expect("an answer");
        let (position, user) = (
            answer["position"].as_u64().expect("a position"),
            answer["user_id"].as_str().expect("a user id").to_owned(),
        );
        let started = Instant::now();
        let read = http
            .get(format!(
                "{}/v1/tenants/{}/users/{user}?min_position={position}",
                second.url(),
                tenant.id
            ))
            .bearer_auth(&tenant.token)
            .send()
            .await
            .expect("read on the second gateway");
        if read.status().is_success() {
            waits.push(started.elapsed().as_secs_f64() * 1000.0);
        } else {
            refused += 1;
        }
    }
    waits.sort_by(f64::total_cmp);
    let at = |q: f64| waits[((waits.len() as f64 - 1.0) * q) as usize];
    println!(
        "  {:<46} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms  ({} reads, {refused} not served)",
        "lag to a second gateway (read with min_position)",
        at(0.5),
        at(0.99),
        at(1.0),
        waits.len(),
    );
}

#[tokio::main]
async fn main() {
    let s = Settings {
        connections: setting("BENCH_CONNECTIONS", 64),
        tenants: setting("BENCH_TENANTS", 100),
        members_per_tenant: setting("BENCH_MEMBERS_PER_TENANT", 20),
        rounds: setting("BENCH_ROUNDS", 3).max(1),
        seconds: Duration::from_secs(setting("BENCH_SECONDS", 5) as u64),
        warmup: Duration::from_secs(1),
    };
    let growth = sizes("BENCH_GROWTH", &[1_000, 10_000, 40_000]);
    let members = setting("BENCH_MEMBERS", 100_000);
    // BENCH_PHASES picks phases: checks, commands, growth, memory, jetstream.
    let phases = std::env::var("BENCH_PHASES")
        .unwrap_or_else(|_| "checks,commands,growth,memory,jetstream".to_owned());
    let run = |phase: &str| phases.split(',').any(|p| p.trim() == phase);
    // Another build of rollcall (an older commit, say) can be measured in its
    // place with BENCH_ROLLCALL_BIN.
    let bin = std::env::var_os("BENCH_ROLLCALL_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_rollcall")),
        PathBuf::from,
    );
    let http = Client::builder().build().expect("client");
    println!(
        "rollcall-load, rollcall and rollcall-bare in separate processes over loopback; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let checks = if run("checks") {
        Some(checks_phase(&http, &bin, &s).await)
    } else {
        None
    };
    let embedded = if run("commands") {
        println!("\ncommands, embedded log:");
        let server = RollcallServer::start(&bin, ServerOptions::default());
        Some(command_phases(&http, &server, &s, "embedded").await)
    } else {
        None
    };
    let growth_rates = if run("growth") {
        growth_phase(&http, &bin, &s, &growth).await
    } else {
        Vec::new()
    };
    if run("memory") {
        memory_phase(&http, &bin, &s, members).await;
    }
    let jetstream_figures = if run("jetstream") {
        jetstream_phase(&http, &bin, &s).await
    } else {
        None
    };

    println!("\nratios, same run:");
    if let Some(c) = &checks {
        println!(
            "  check vs bare lookup, {} connections: {:.2}x rps ({:.0} vs {:.0}); p99 {:.3} vs {:.3} ms = {:.2}x",
            s.connections,
            c.rollcall_rps / c.bare_rps,
            c.rollcall_rps,
            c.bare_rps,
            c.rollcall_p99,
            c.bare_p99,
            c.rollcall_p99 / c.bare_p99
        );
        println!(
            "  check vs bare lookup, 1 connection: p50 {:.3} vs {:.3} ms = {:.2}x",
            c.rollcall_one.p50_ms,
            c.bare_one.p50_ms,
            c.rollcall_one.p50_ms / c.bare_one.p50_ms
        );
        if let (Some(rollcall), Some(bare)) = (c.rollcall_cpu, c.bare_cpu) {
            // What an answer costs each server, whatever else the machine is
            // doing: the load generator shares its cores.
            println!(
                "  check vs bare lookup, server CPU per answer: {rollcall:.1} vs {bare:.1} µs; the bare lookup's cost is {:.2}x the check's",
                bare / rollcall
            );
        }
    }
    if let Some((one, many)) = &embedded {
        let versus = checks
            .as_ref()
            .map(|c| format!(" = {:.2}x the bare lookup's rate", many.rps / c.bare_rps))
            .unwrap_or_default();
        println!(
            "  embedded commands: 1 client p50 {:.3} ms; {} clients {:.0}/s (p50 {:.2} ms, p99 {:.2} ms){versus}",
            one.p50_ms, s.connections, many.rps, many.p50_ms, many.p99_ms,
        );
    }
    if let (Some((first_size, first)), Some((last_size, last))) =
        (growth_rates.first(), growth_rates.last())
    {
        println!(
            "  invitations at {last_size} members vs at {first_size} members: {:.2}x",
            last / first
        );
    }
    if let Some((raw, one, many)) = jetstream_figures {
        println!(
            "  jetstream commands: 1 client p50 {:.3} ms; {} clients {:.0}/s (p99 {:.2} ms) = {:.2}x the raw pipelined append ({raw:.0}/s)",
            one.p50_ms,
            s.connections,
            many.rps,
            many.p99_ms,
            many.rps / raw
        );
    }
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}
