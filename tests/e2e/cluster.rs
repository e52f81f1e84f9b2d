//! A three-node NATS cluster with the log at R3, under load through two gateways:
//! the stream's leader is killed (SIGKILL) and brought back, then a follower.
//! Clients follow the retry rule (503, 408 or no answer: the same
//! `Idempotency-Key` again, on the other gateway). Afterwards no acknowledged
//! command is lost, none is applied twice, and both gateways' read sides equal a
//! fresh gateway's rebuild from the log. Prints how long commands were
//! unavailable. Bounded: a fixed fault script, every request and retry limited.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use rollcall_tests::server::OPERATOR_TOKEN;
use rollcall_tests::{NatsCluster, RollcallServer, ServerOptions};
use serde_json::{Value, json};

use crate::support::call_at;

const CLIENTS: usize = 4;
/// Longest one request may take before the client gives up on it (and retries).
const REQUEST_LIMIT: Duration = Duration::from_secs(10);
/// Longest one command may keep being retried.
const COMMAND_LIMIT: Duration = Duration::from_secs(40);

/// One command as its client saw it.
struct Sent {
    email: String,
    tenant: usize,
    /// `(user_id, position)` of the 2xx answer; `None` when it was never acknowledged.
    acked: Option<(String, u64)>,
    /// When the first attempt went out, and when the answer that settled it came.
    started: Instant,
    settled: Instant,
    attempts: usize,
}

/// A NATS request that a dead leader never answers is given up after this long
/// (`--nats-timeout-ms`; 5 s by default): the bulk of the time commands are
/// unavailable after the leader is killed, next to the election.
const NATS_TIMEOUT_MS: &str = "2000";

fn gateway(cluster: &NatsCluster, extra: &[&str]) -> RollcallServer {
    let mut args = vec![
        "--nats-replicas".to_owned(),
        "3".to_owned(),
        "--nats-timeout-ms".to_owned(),
        NATS_TIMEOUT_MS.to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    tokio::task::block_in_place(|| {
        RollcallServer::start(
            env!("CARGO_BIN_EXE_rollcall"),
            ServerOptions {
                nats_url: Some(cluster.urls()),
                args,
                ..ServerOptions::default()
            },
        )
    })
}

/// Sends one keyed invitation until it is answered other than 503 / 408 / no
/// answer, alternating gateways between attempts.
async fn invite(
    http: &Client,
    bases: &[String; 2],
    first: usize,
    tenant: &str,
    email: &str,
) -> (Option<(String, u64)>, usize, Instant) {
    let path = format!("/v1/tenants/{tenant}/invitations");
    let body = json!({"email": email, "display_name": "Load", "roles": ["user"]});
    let key = [("idempotency-key", email)];
    let started = Instant::now();
    let mut attempts = 0;
    while started.elapsed() < COMMAND_LIMIT {
        let base = &bases[(first + attempts) % 2];
        attempts += 1;
        let request = call_at(
            http,
            base,
            Method::POST,
            &path,
            OPERATOR_TOKEN,
            Some(body.clone()),
            &key,
        );
        match tokio::time::timeout(REQUEST_LIMIT, request).await {
            Ok((status, _, answer)) if status.is_success() => {
                let user = answer["user_id"].as_str().expect("user_id").to_owned();
                let position = answer["position"].as_u64().expect("position");
                return (Some((user, position)), attempts, Instant::now());
            }
            Ok((StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT, _, _)) | Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok((status, _, answer)) => panic!("{email}: {status} {answer}"),
        }
    }
    (None, attempts, Instant::now())
}

/// Every `user.invited` entry of `tenant` on the gateway at `base`.
async fn invited(http: &Client, base: &str, tenant: &str, at: u64) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path =
            format!("/v1/tenants/{tenant}/audit?limit=500&type=user.invited&min_position={at}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, _, page) =
            call_at(http, base, Method::GET, &path, OPERATOR_TOKEN, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "audit: {page}");
        entries.extend(page["entries"].as_array().expect("entries").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return entries,
        }
    }
}

/// The team of `tenant` as the gateway at `base` has it at `at`: id → (email, status).
async fn team(
    http: &Client,
    base: &str,
    tenant: &str,
    at: u64,
) -> BTreeMap<String, (String, String)> {
    let path = format!("/v1/tenants/{tenant}/users?min_position={at}");
    let (status, _, list) =
        call_at(http, base, Method::GET, &path, OPERATOR_TOKEN, None, &[]).await;
    assert_eq!(status, StatusCode::OK, "users: {list}");
    list["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            let field = |f: &str| u[f].as_str().unwrap_or_default().to_owned();
            (field("user_id"), (field("email"), field("status")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_node_cluster_loses_its_leader_then_a_follower_and_no_acknowledged_command() {
    let test_started = Instant::now();
    let mut cluster = NatsCluster::start(3).await;
    let a = gateway(&cluster, &[]);
    let b = gateway(&cluster, &["--no-mailer", "--no-checkpoint-signer"]);
    let bases = [a.url(), b.url()];
    let http = Client::new();

    let mut tenants = Vec::new();
    for (i, base) in bases.iter().enumerate() {
        let (status, _, created) = call_at(
            &http,
            base,
            Method::POST,
            "/v1/tenants",
            OPERATOR_TOKEN,
            Some(json!({"name": format!("Cluster {i}"), "catalog": "jtek",
                        "owner": {"email": "o@example.com", "display_name": "O"}})),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        tenants.push(created["tenant_id"].as_str().expect("tenant_id").to_owned());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let load_started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, bases, stop) = (http.clone(), bases.clone(), stop.clone());
        let tenant_index = c % 2;
        let tenant = tenants[tenant_index].clone();
        clients.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let email = format!("c{c}-n{n}@example.com");
                let started = Instant::now();
                let (acked, attempts, settled) =
                    invite(&http, &bases, c + n, &tenant, &email).await;
                sent.push(Sent {
                    email,
                    tenant: tenant_index,
                    acked,
                    started,
                    settled,
                    attempts,
                });
                n += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            sent
        }));
    }

    // The fault script: the stream's leader, then (once the cluster healed) a follower.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let leader = cluster
        .stream_leader("ROLLCALL")
        .await
        .expect("the stream has a leader");
    let node = cluster.index_of(&leader).expect("a node of the cluster");
    eprintln!(
        "cluster: killing the leader {leader} at {:?}",
        load_started.elapsed()
    );
    tokio::task::block_in_place(|| cluster.kill(node));
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::block_in_place(|| cluster.restart(node));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let leader = cluster
        .stream_leader("ROLLCALL")
        .await
        .expect("the stream has a leader");
    let follower = (0..cluster.len())
        .find(|&i| cluster.name(i) != leader)
        .expect("a follower");
    eprintln!(
        "cluster: killing the follower {} at {:?} (leader {leader})",
        cluster.name(follower),
        load_started.elapsed()
    );
    tokio::task::block_in_place(|| cluster.kill(follower));
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::block_in_place(|| cluster.restart(follower));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);

    let mut sent: Vec<Sent> = Vec::new();
    for client in clients {
        sent.extend(client.await.expect("client task"));
    }
    let load_ended = Instant::now();
    let unacked: Vec<&str> = sent
        .iter()
        .filter(|s| s.acked.is_none())
        .map(|s| s.email.as_str())
        .collect();
    assert!(
        unacked.is_empty(),
        "commands never acknowledged within {COMMAND_LIMIT:?}: {unacked:?}"
    );

    // How long commands were unavailable: the longest stretch without any
    // acknowledgement, and the longest one command took to be acknowledged.
    let mut acks: Vec<Instant> = sent.iter().map(|s| s.settled).collect();
    acks.push(load_started);
    acks.push(load_ended);
    acks.sort();
    let longest_gap = acks
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let slowest = sent
        .iter()
        .map(|s| s.settled - s.started)
        .max()
        .unwrap_or_default();
    let retried = sent.iter().filter(|s| s.attempts > 1).count();

    // Each acknowledged command is in the log once, and every read side agrees.
    let head = sent
        .iter()
        .filter_map(|s| s.acked.as_ref().map(|a| a.1))
        .max()
        .unwrap_or(0);
    let fresh = gateway(&cluster, &["--no-mailer", "--no-checkpoint-signer"]);
    let all = [bases[0].clone(), bases[1].clone(), fresh.url()];
    for (t, tenant) in tenants.iter().enumerate() {
        let entries = invited(&http, &all[0], tenant, head).await;
        let mut times: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in &entries {
            *times
                .entry(entry["after"]["email"].as_str().expect("email"))
                .or_default() += 1;
        }
        let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "applied twice: {twice:?}");
        let teams = [
            team(&http, &all[0], tenant, head).await,
            team(&http, &all[1], tenant, head).await,
            team(&http, &all[2], tenant, head).await,
        ];
        assert_eq!(teams[0], teams[1], "the two gateways disagree");
        assert_eq!(
            teams[0], teams[2],
            "a gateway disagrees with a fresh rebuild"
        );
        let emails: BTreeSet<&str> = teams[0].values().map(|(e, _)| e.as_str()).collect();
        assert_eq!(emails.len(), teams[0].len(), "an email twice in the team");
        for s in sent.iter().filter(|s| s.tenant == t) {
            let (user, _) = s.acked.as_ref().expect("acknowledged");
            assert_eq!(
                teams[0].get(user).map(|(e, _)| e.as_str()),
                Some(s.email.as_str()),
                "{}: acknowledged, not in the team",
                s.email
            );
        }
    }
    eprintln!(
        "cluster: {} commands acknowledged ({} after retries), 0 lost, 0 twice; longest \
         stretch without an acknowledgement {longest_gap:?}, slowest command {slowest:?}; \
         test took {:?}",
        sent.len(),
        retried,
        test_started.elapsed()
    );
}
