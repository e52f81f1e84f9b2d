//! NATS killed and restarted under load: every command answers 2xx or 503 with
//! `Retry-After` (never 500, never a hang); afterwards each 2xx command's event is
//! in the trail exactly once, and the same server serves again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::json;

use crate::support::{Backend, Harness, call_at};

const CLIENTS: usize = 6;
const PER_CLIENT: usize = 400;
/// Longer than any answer may take: beyond it the request hangs.
const ANSWER_LIMIT: Duration = Duration::from_secs(20);

struct Outcome {
    status: StatusCode,
    retry_after: bool,
    user_id: Option<String>,
    email: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_killed_and_restarted_under_load() {
    let mut h = Harness::start(Backend::JetStream);
    let mut tenants = Vec::new();
    for _ in 0..CLIENTS {
        let (t, owner) = h.create_tenant("jtek", None).await;
        let admin = h.token(&t, &owner);
        tenants.push((t, admin));
    }
    let base = h.server.url();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (i, (t, admin)) in tenants.iter().cloned().enumerate() {
        let (base, stop) = (base.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let http = Client::new();
            let mut outcomes = Vec::new();
            for n in 0..PER_CLIENT {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let email = format!("c{i}-n{n}@example.com");
                let path = format!("/v1/tenants/{t}/invitations");
                let request = call_at(
                    &http,
                    &base,
                    Method::POST,
                    &path,
                    &admin,
                    Some(json!({"email": email, "display_name": "Load", "roles": ["user"]})),
                    &[],
                );
                let (status, headers, answer) = tokio::time::timeout(ANSWER_LIMIT, request)
                    .await
                    .unwrap_or_else(|_| panic!("{email}: no answer within {ANSWER_LIMIT:?}"));
                assert!(
                    status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
                    "{email}: {status} {answer}"
                );
                outcomes.push(Outcome {
                    status,
                    retry_after: headers.contains_key("retry-after"),
                    user_id: answer["user_id"].as_str().map(str::to_owned),
                    email,
                });
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            outcomes
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").kill());
    // Longer than the server waits for the log (5 s): commands sent now must give up.
    tokio::time::sleep(Duration::from_secs(7)).await;
    tokio::task::block_in_place(|| h.nats.as_mut().expect("nats").restart());
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);

    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.push(client.await.expect("client task"));
    }
    let all: Vec<&Outcome> = outcomes.iter().flatten().collect();
    let unavailable = all
        .iter()
        .filter(|o| o.status == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(
        all.iter()
            .filter(|o| o.status == StatusCode::SERVICE_UNAVAILABLE)
            .all(|o| o.retry_after),
        "a 503 without Retry-After"
    );
    assert!(unavailable > 0, "the outage was not noticed by any command");
    assert!(
        all.iter().any(|o| o.status.is_success()),
        "no command succeeded"
    );

    // The server serves again without a restart: a new command on each tenant.
    for (i, (t, admin)) in tenants.iter().enumerate() {
        let mut position = None;
        for _ in 0..150 {
            let (status, answer) = h
                .post(
                    &format!("/v1/tenants/{t}/invitations"),
                    admin,
                    json!({"email": format!("after-{i}@example.com"), "display_name": "After", "roles": ["user"]}),
                )
                .await;
            if status.is_success() {
                position = answer["position"].as_u64();
                break;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let position = position.expect("commands succeed again after NATS restarted");

        // Every 2xx command's event is in the trail exactly once; a 503 one at most once.
        let trail = h
            .audit(t, &format!("&type=user.invited&min_position={position}"))
            .await;
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for entry in &trail {
            *seen
                .entry(entry["target"].as_str().expect("target").to_owned())
                .or_default() += 1;
        }
        assert!(seen.values().all(|&n| n == 1), "an event twice: {seen:?}");
        for o in &outcomes[i] {
            if o.status.is_success() {
                let user = o.user_id.as_ref().expect("user_id in a 2xx answer");
                assert_eq!(seen.get(user), Some(&1), "{}: event missing", o.email);
            }
        }
        let (status, list) = h
            .get(
                &format!("/v1/tenants/{t}/users?min_position={position}"),
                admin,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let emails: Vec<&str> = list["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["email"].as_str().unwrap())
            .collect();
        let mut unique = emails.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), emails.len(), "a member twice: {emails:?}");
        assert_eq!(trail.len() + 1, emails.len(), "trail and team disagree");
    }
    eprintln!(
        "outage: {} commands, {} answered 503",
        all.len(),
        unavailable
    );
}
