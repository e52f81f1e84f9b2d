//! `rollcall-load`: the HTTP load generator of the benchmarks, run as its own
//! process so that neither the server nor its baseline shares an address space
//! (or an allocator, or a runtime) with the client that measures it.
//!
//! It reads a plan (JSON, from the file named by its one argument), opens
//! `connections` keep-alive HTTP/1.1 connections over `threads` runtime threads,
//! sends requests made from the plan's templates — request `i` uses template
//! `i % templates.len()` with `{i}` in its path and body replaced by `i` — first
//! for `warmup_ms` unmeasured, then for `duration_ms` or until `requests`
//! responses, and prints one JSON object of figures on stdout. Only answers with
//! an expected status count as throughput; other statuses and transport errors
//! are counted apart, and their latencies are not mixed into the percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
struct Plan {
    /// `host:port`.
    addr: String,
    connections: usize,
    #[serde(default = "two")]
    threads: usize,
    #[serde(default)]
    warmup_ms: u64,
    /// Measure for this long…
    #[serde(default)]
    duration_ms: Option<u64>,
    /// …or until this many answers (whichever the plan names).
    #[serde(default)]
    requests: Option<u64>,
    /// Statuses that count as success.
    expect: Vec<u16>,
    /// The server's process: its CPU time over the measured window is reported.
    #[serde(default)]
    server_pid: Option<u32>,
    templates: Vec<Template>,
}

fn two() -> usize {
    2
}

#[derive(Debug, Clone, Deserialize)]
struct Template {
    method: String,
    path: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
}

/// What one run measured.
#[derive(Debug, Default, Serialize)]
struct Figures {
    ok: u64,
    non_2xx: u64,
    unexpected: u64,
    errors: u64,
    elapsed_s: f64,
    /// Successful answers per second.
    rps: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    connections: usize,
    /// A few of the statuses that were not expected, for the report.
    statuses: Vec<u16>,
    /// The server's CPU time (user and system, all threads) over the measured
    /// window, per successful answer: what an answer costs the server whatever
    /// else the machine is doing. Absent without `server_pid`.
    server_cpu_us_per_ok: Option<f64>,
}

/// CPU time `pid` has used, user and system, all threads, in microseconds.
/// `/proc` counts it in USER_HZ ticks, 100 per second on Linux's mainstream
/// architectures.
fn cpu_micros(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state is field 3, utime 14 and stime 15.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000)
}

/// Counters shared by the connections.
struct Shared {
    next: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    measured: AtomicU64,
    limit: Option<u64>,
    /// When measurement ended; answers that arrive later are not counted.
    stopped: std::sync::OnceLock<Instant>,
}

impl Shared {
    fn end(&self) {
        self.stopped.get_or_init(Instant::now);
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One connection's tallies during measurement.
struct Tally {
    ok: Histogram<u64>,
    non_2xx: u64,
    unexpected: u64,
    errors: u64,
    statuses: Vec<u16>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // 1 µs to 60 s, 3 significant digits.
            ok: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            non_2xx: 0,
            unexpected: 0,
            errors: 0,
            statuses: Vec::new(),
        }
    }
}

fn render(t: &Template, i: u64) -> (String, Option<Bytes>) {
    let n = i.to_string();
    let path = t.path.replace("{i}", &n);
    let body = t.body.as_ref().map(|b| Bytes::from(b.replace("{i}", &n)));
    (path, body)
}

async fn connection(plan: Arc<Plan>, shared: Arc<Shared>) -> Tally {
    let mut tally = Tally::new();
    let mut sender = None;
    while !shared.stop.load(Ordering::Relaxed) {
        if sender.is_none() {
            match open(&plan.addr).await {
                Ok(s) => sender = Some(s),
                Err(_) => {
                    if shared.measuring.load(Ordering::Relaxed) {
                        tally.errors += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(s) = sender.as_mut() else { continue };
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let template = &plan.templates[(i as usize) % plan.templates.len()];
        let (path, body) = render(template, i);
        let mut request = Request::builder()
            .method(template.method.as_str())
            .uri(path)
            .header("host", plan.addr.as_str());
        for (k, v) in &template.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .expect("a request from the plan");
        let measuring = shared.measuring.load(Ordering::Relaxed);
        let sent = Instant::now();
        let answer = match s.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.into_body().collect().await {
                    Ok(_) => Ok(status),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        let took = sent.elapsed();
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        if !measuring {
            if answer.is_err() {
                sender = None;
            }
            continue;
        }
        match answer {
            Ok(status) if plan.expect.contains(&status) => {
                let micros = (took.as_micros() as u64).clamp(1, 60_000_000);
                tally.ok.record(micros).expect("latency within bounds");
            }
            Ok(status) => {
                if (200..300).contains(&status) {
                    tally.unexpected += 1;
                } else {
                    tally.non_2xx += 1;
                }
                if tally.statuses.len() < 8 && !tally.statuses.contains(&status) {
                    tally.statuses.push(status);
                }
            }
            Err(_) => {
                tally.errors += 1;
                sender = None;
            }
        }
        let done = shared.measured.fetch_add(1, Ordering::Relaxed) + 1;
        if shared.limit.is_some_and(|limit| done >= limit) {
            shared.end();
        }
    }
    tally
}

async fn open(
    addr: &str,
) -> Result<http1::SendRequest<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: rollcall-load PLAN.json");
    let plan: Plan = serde_json::from_slice(&std::fs::read(&path).expect("read the plan"))
        .expect("a plan of the expected shape");
    assert!(!plan.templates.is_empty(), "the plan has no templates");
    assert!(
        plan.duration_ms.is_some() != plan.requests.is_some(),
        "the plan names either duration_ms or requests"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.threads.max(1))
        .enable_all()
        .build()
        .expect("runtime");
    let figures = runtime.block_on(run(Arc::new(plan)));
    println!("{}", serde_json::to_string(&figures).expect("figures"));
}

async fn run(plan: Arc<Plan>) -> Figures {
    let shared = Arc::new(Shared {
        next: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        measured: AtomicU64::new(0),
        limit: plan.requests,
        stopped: std::sync::OnceLock::new(),
    });
    let tasks: Vec<_> = (0..plan.connections)
        .map(|_| tokio::spawn(connection(plan.clone(), shared.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(plan.warmup_ms)).await;
    let cpu_before = plan.server_pid.and_then(cpu_micros);
    shared.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    if let Some(ms) = plan.duration_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        shared.end();
    }
    let mut ok = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut figures = Figures {
        connections: plan.connections,
        ..Figures::default()
    };
    // Read before the connections wind down: their last answers are not counted.
    let cpu_after = if plan.duration_ms.is_some() {
        plan.server_pid.and_then(cpu_micros)
    } else {
        None
    };
    for task in tasks {
        let tally = task.await.expect("connection task");
        ok.add(&tally.ok).expect("histograms of one shape");
        figures.non_2xx += tally.non_2xx;
        figures.unexpected += tally.unexpected;
        figures.errors += tally.errors;
        for s in tally.statuses {
            if figures.statuses.len() < 8 && !figures.statuses.contains(&s) {
                figures.statuses.push(s);
            }
        }
    }
    let stopped = *shared.stopped.get_or_init(Instant::now);
    let elapsed = stopped.duration_since(started).as_secs_f64();
    let ms = |micros: u64| micros as f64 / 1e3;
    figures.ok = ok.len();
    figures.elapsed_s = elapsed;
    figures.rps = ok.len() as f64 / elapsed;
    figures.p50_ms = ms(ok.value_at_quantile(0.50));
    figures.p90_ms = ms(ok.value_at_quantile(0.90));
    figures.p99_ms = ms(ok.value_at_quantile(0.99));
    figures.max_ms = ms(ok.max());
    let cpu_after = cpu_after.or_else(|| plan.server_pid.and_then(cpu_micros));
    if let (Some(before), Some(after)) = (cpu_before, cpu_after)
        && !ok.is_empty()
    {
        figures.server_cpu_us_per_ok = Some(after.saturating_sub(before) as f64 / ok.len() as f64);
    }
    figures
}
