//! HTTP benchmark: the release `rollcall` binary on the embedded log, driven over
//! loopback by many concurrent clients, next to a bare axum `GET /ping` measured
//! in the same run with the same client. Run with `cargo bench --bench http`.
//!
//! Counts are bounded: BENCH_TENANTS tenants (1,000), BENCH_COMMANDS invitations
//! spread over them (20,000), BENCH_CHECKS checks (50,000), BENCH_CLIENTS
//! concurrent clients (64).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use reqwest::{Client, Method, StatusCode};
use rollcall_tests::server::OPERATOR_TOKEN;
use rollcall_tests::{RollcallServer, ServerOptions};
use serde_json::{Value, json};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one run of `count` requests measured.
struct Figures {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    failures: usize,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    fn print(&self, label: &str) {
        println!(
            "{label:<22} {:>7} requests  {:>9.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  failures {}",
            self.count,
            self.per_second(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.failures,
        );
    }
}

/// A request to send: method, URL, bearer token, body.
type Request = (Method, String, String, Option<Value>);

/// Sends `count` requests built by `make(i)` from `clients` concurrent tasks.
async fn drive<F>(http: &Client, clients: usize, count: usize, ok: StatusCode, make: F) -> Figures
where
    F: Fn(usize) -> Request + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, make, next) = (http.clone(), make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return (latencies, failures);
                }
                let (method, url, token, body) = make(i);
                let mut request = http.request(method, url);
                if !token.is_empty() {
                    request = request.bearer_auth(token);
                }
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let sent = Instant::now();
                let outcome = request.send().await;
                let status = match outcome {
                    Ok(response) => {
                        let status = response.status();
                        let _ = response.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                };
                latencies.push(sent.elapsed());
                if status != Some(ok) {
                    failures += 1;
                }
            }
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    let mut failures = 0;
    for task in tasks {
        let (l, f) = task.await.expect("client task");
        latencies.extend(l);
        failures += f;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Figures {
        count,
        elapsed,
        latencies,
        failures,
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let tenants = setting("BENCH_TENANTS", 1_000);
    let commands = setting("BENCH_COMMANDS", 20_000);
    let checks = setting("BENCH_CHECKS", 50_000);
    let clients = setting("BENCH_CLIENTS", 64);

    // The bare endpoint, in process.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ping_url = format!("http://{}/ping", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let app = Router::new().route("/ping", get(|| async { "pong" }));
        axum::serve(listener, app).await.expect("ping server");
    });

    let server = tokio::task::spawn_blocking(|| {
        RollcallServer::start(env!("CARGO_BIN_EXE_rollcall"), ServerOptions::default())
    })
    .await
    .expect("start rollcall");
    let base = server.url();
    let http = Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    println!(
        "rollcall {} (embedded log), {clients} concurrent clients over loopback, {} cores",
        base,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // Tenants, created concurrently by the operator.
    let (b, n) = (base.clone(), tenants);
    let created = Arc::new(std::sync::Mutex::new(vec![Value::Null; tenants]));
    let slots = created.clone();
    let setup_next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.min(32) {
        let (http, b, slots, next) = (http.clone(), b.clone(), slots.clone(), setup_next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let answer: Value = http
                    .post(format!("{b}/v1/tenants"))
                    .bearer_auth(OPERATOR_TOKEN)
                    .json(&json!({"name": format!("Bench {i}"), "catalog": "jtek",
                                  "owner": {"email": "owner@example.com", "display_name": "Owner"}}))
                    .send()
                    .await
                    .expect("create tenant")
                    .json()
                    .await
                    .expect("tenant answer");
                slots.lock().unwrap()[i] = answer;
            }
        }));
    }
    for task in tasks {
        task.await.expect("setup task");
    }
    let setup = start.elapsed();
    println!(
        "setup: {tenants} tenants created in {:.2} s ({:.0}/s)",
        setup.as_secs_f64(),
        tenants as f64 / setup.as_secs_f64()
    );
    let created = created.lock().unwrap().clone();
    // Owner tokens (minted by `rollcall token`, outside the measurement).
    let owners: Vec<(String, String, String)> = {
        let server = &server;
        created
            .iter()
            .map(|a| {
                let t = a["tenant_id"].as_str().expect("tenant_id").to_owned();
                let o = a["owner_id"].as_str().expect("owner_id").to_owned();
                let token = server.token(&t, &o, None, false);
                (t, o, token)
            })
            .collect()
    };
    let owners = Arc::new(owners);

    // Commands: invitations, round-robin over the tenants.
    let (b, o) = (base.clone(), owners.clone());
    let command_figures = drive(&http, clients, commands, StatusCode::CREATED, move |i| {
        let (t, _, token) = &o[i % o.len()];
        (
            Method::POST,
            format!("{b}/v1/tenants/{t}/invitations"),
            token.clone(),
            Some(json!({"email": format!("u{i}@example.com"), "display_name": "Bench", "roles": ["user"]})),
        )
    })
    .await;

    // Checks: the owner's own permission, spread over the tenants.
    let (b, o) = (base.clone(), owners.clone());
    let check_figures = drive(&http, clients, checks, StatusCode::OK, move |i| {
        let (t, owner, token) = &o[i % o.len()];
        (
            Method::POST,
            format!("{b}/v1/tenants/{t}/check"),
            token.clone(),
            Some(json!({"user_id": owner, "permission": "contacts.view", "resource": {}})),
        )
    })
    .await;

    // The bare endpoint with the same client and concurrency.
    let url = ping_url.clone();
    let ping_figures = drive(&http, clients, checks, StatusCode::OK, move |_| {
        (Method::GET, url.clone(), String::new(), None)
    })
    .await;

    println!();
    command_figures.print("commands (invite)");
    check_figures.print("checks");
    ping_figures.print("bare axum GET /ping");
    println!();
    println!(
        "ratios to bare axum: commands {:.3}x  checks {:.3}x   (p50 commands {:.1}x, checks {:.1}x)",
        command_figures.per_second() / ping_figures.per_second(),
        check_figures.per_second() / ping_figures.per_second(),
        command_figures.percentile(0.5).as_secs_f64() / ping_figures.percentile(0.5).as_secs_f64(),
        check_figures.percentile(0.5).as_secs_f64() / ping_figures.percentile(0.5).as_secs_f64(),
    );
    drop(server);
}
