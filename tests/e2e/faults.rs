//! Faults of the log as a user meets them, on a real nats-server: a frozen server
//! (an append of unknown outcome, retried with its key: written once), and a
//! killed one (commands refused at once, reads and checks answered from the read
//! side). Each test is bounded: every request has a limit, every wait a count.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rollcall_tests::server::OPERATOR_TOKEN;
use serde_json::{Value, json};

use crate::support::{Backend, Harness, call_at, position, slug};

/// Longer than any answer may take: beyond it the request hangs.
const ANSWER_LIMIT: Duration = Duration::from_secs(20);

impl Harness {
    /// One request, bounded by [`ANSWER_LIMIT`]; also returns how long it took.
    async fn timed(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, Value, Duration) {
        let started = Instant::now();
        let base = self.server.url();
        let request = call_at(&self.http, &base, method, path, token, body, headers);
        let (status, headers, answer) = tokio::time::timeout(ANSWER_LIMIT, request)
            .await
            .unwrap_or_else(|_| panic!("{path}: no answer within {ANSWER_LIMIT:?}"));
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, retry_after, answer, started.elapsed())
    }

    /// Sends a command as the retry rule says: 503 is retried after a pause, up to
    /// 100 times.
    async fn retrying(
        &self,
        method: Method,
        path: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        for _ in 0..100 {
            let (status, retry_after, answer, _) = self
                .timed(
                    method.clone(),
                    path,
                    OPERATOR_TOKEN,
                    Some(body.clone()),
                    headers,
                )
                .await;
            if status != StatusCode::SERVICE_UNAVAILABLE {
                return (status, answer);
            }
            assert!(retry_after.is_some(), "a 503 without Retry-After: {answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{path} still answers 503 after 100 retries");
    }
}

/// The invitations of `tenant` in the trail for `email`.
async fn invitations_of(h: &Harness, tenant: &str, email: &str, at: u64) -> usize {
    h.audit(tenant, &format!("&type=user.invited&min_position={at}"))
        .await
        .iter()
        .filter(|e| e["after"]["email"] == json!(email))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_log_answers_outcome_unknown_and_the_keyed_retry_writes_once() {
    let mut h = Harness::start(Backend::JetStream);
    let (t, _) = h.create_tenant("jtek", None).await;
    let path = format!("/v1/tenants/{t}/invitations");
    let email = "frozen@example.com";
    let body = json!({"email": email, "display_name": "Frozen", "roles": ["user"]});
    let key = [("idempotency-key", "invite-frozen")];

    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").pause());
    let (status, retry_after, problem, took) = h
        .timed(
            Method::POST,
            &path,
            OPERATOR_TOKEN,
            Some(body.clone()),
            &key,
        )
        .await;
    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").resume());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(slug(&problem), "outcome-unknown", "{problem}");
    assert!(retry_after.is_some());
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains("nothing was written"), "{detail}");

    // The thawed server stores what it had received; the retry finds it.
    let (status, first) = h.retrying(Method::POST, &path, body, &key).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(invitations_of(&h, &t, email, position(&first)).await, 1);
    eprintln!("frozen log: outcome-unknown after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_log_refuses_commands_at_once_and_reads_go_on() {
    let mut h = Harness::start(Backend::JetStream);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let (u, _) = h.create_tenant("jtek", None).await;
    let check_token = h.server.token(&t, &owner, Some("check"), false);
    let member_token = h.token(&t, &owner);
    let plan = |tenant: &str| format!("/v1/tenants/{tenant}/plan");
    let starter = json!({"plan": "starter"});

    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").kill());
    let (status, retry_after, problem, first) = h
        .timed(
            Method::PUT,
            &plan(&t),
            OPERATOR_TOKEN,
            Some(starter.clone()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(retry_after.is_some());

    // Sixteen commands at once, on two tenants: each refused with Retry-After.
    let paths: Vec<String> = (0..16)
        .map(|i| plan(if i % 2 == 0 { &t } else { &u }))
        .collect();
    let mut sent = Vec::new();
    for path in &paths {
        sent.push(h.timed(
            Method::PUT,
            path,
            OPERATOR_TOKEN,
            Some(starter.clone()),
            &[],
        ));
    }
    let answers = futures::future::join_all(sent).await;
    let slowest = answers.iter().map(|a| a.3).max().unwrap_or_default();
    for (status, retry_after, problem, _) in &answers {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
        assert_eq!(slug(problem), "unavailable", "{problem}");
        assert!(retry_after.is_some());
    }

    // Reads and checks answer from the read side.
    let check = json!({"user_id": owner, "permission": "contacts.view"});
    let (status, _, allowed, check_took) = h
        .timed(
            Method::POST,
            &format!("/v1/tenants/{t}/check"),
            &check_token,
            Some(check),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{allowed}");
    assert_eq!(allowed["allowed"], json!(true));
    let (status, _, team, _) = h
        .timed(
            Method::GET,
            &format!("/v1/tenants/{t}/users"),
            &member_token,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{team}");

    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").restart());
    let (status, answer) = h.retrying(Method::PUT, &plan(&t), starter, &[]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    eprintln!(
        "killed log: first command 503 after {first:?}; 16 concurrent commands, slowest \
         503 after {slowest:?}; check answered in {check_took:?}"
    );
}

/// One keyed invitation, sent until it is answered other than 503 / 408 / no
/// answer (the gateway may be down): `(user_id, position)` of its 2xx answer.
async fn invite_until_answered(
    http: &reqwest::Client,
    base: &str,
    tenant: &str,
    email: &str,
) -> Option<(String, u64)> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) {
        let request = http
            .post(format!("{base}/v1/tenants/{tenant}/invitations"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("idempotency-key", email)
            .json(&json!({"email": email, "display_name": "Load", "roles": ["user"]}))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let Ok(response) = request else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let status = response.status();
        let Ok(answer) = response.json::<Value>().await else {
            continue;
        };
        if status.is_success() {
            let user = answer["user_id"].as_str().expect("user_id").to_owned();
            return Some((user, answer["position"].as_u64().expect("position")));
        }
        assert!(
            status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::REQUEST_TIMEOUT,
            "{email}: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// kill -9 of the gateway twice under keyed load: clients retry through the
/// restarts with their keys; every acknowledged command is in the trail once.
async fn gateway_killed_under_load(backend: Backend) {
    const CLIENTS: usize = 3;
    let mut h = Harness::start(backend);
    let (t, _) = h.create_tenant("jtek", None).await;
    let base = h.server.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, base, t, stop) = (
            reqwest::Client::new(),
            base.clone(),
            t.clone(),
            stop.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let email = format!("c{c}-n{n}@example.com");
                let answer = invite_until_answered(&http, &base, &t, &email).await;
                let answer = answer.unwrap_or_else(|| panic!("{email}: never acknowledged"));
                acked.push((email, answer));
                n += 1;
            }
            acked
        }));
    }
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tokio::task::block_in_place(|| h.server.restart());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    for client in clients {
        acked.extend(client.await.expect("client task"));
    }
    let head = acked.iter().map(|(_, (_, p))| *p).max().unwrap_or(0);
    let trail = invitations(&h, &t, head).await;
    for (email, (user, _)) in &acked {
        assert_eq!(
            trail.get(email.as_str()).map(|(u, n)| (u.as_str(), *n)),
            Some((user.as_str(), 1)),
            "{email}: acknowledged, but not in the trail exactly once"
        );
    }
    assert!(trail.values().all(|(_, n)| *n == 1), "an invitation twice");
    eprintln!(
        "{backend:?}: gateway killed twice under load; {} commands acknowledged, all in the trail once",
        acked.len()
    );
}

/// email → (user id, times) of every invitation in the trail.
async fn invitations(
    h: &Harness,
    tenant: &str,
    at: u64,
) -> std::collections::BTreeMap<String, (String, usize)> {
    let mut seen = std::collections::BTreeMap::new();
    for entry in h
        .audit(tenant, &format!("&type=user.invited&min_position={at}"))
        .await
    {
        let email = entry["after"]["email"].as_str().expect("email").to_owned();
        let user = entry["target"].as_str().expect("target").to_owned();
        seen.entry(email).or_insert((user, 0)).1 += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_killed_under_load_embedded() {
    gateway_killed_under_load(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_killed_under_load_jetstream() {
    gateway_killed_under_load(Backend::JetStream).await;
}
