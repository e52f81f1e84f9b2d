//! `GET /v1/tenants/{t}/events`: Server-Sent Events catching up, then live, and
//! resuming after `Last-Event-ID`; only the tenant's own events.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Harness};

/// One Server-Sent Event.
#[derive(Debug)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

/// Reads events from `response` until one has id `until`; bounded by a timeout.
async fn read_until(response: &mut Response, buffer: &mut String, until: u64) -> Vec<Sse> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().parse::<u64>().expect("numeric id"));
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                let data = serde_json::from_str(&data).expect("data is JSON");
                events.push(Sse { id, event, data });
                if id >= until {
                    return events;
                }
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event {until} in time; got {events:?}"))
            .expect("stream reads")
            .expect("stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

async fn open(h: &Harness, t: &str, token: &str, last_event_id: Option<u64>) -> Response {
    let mut request = h
        .http
        .get(format!("{}/v1/tenants/{t}/events", h.server.url()))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.expect("events answer");
    assert_eq!(response.status(), StatusCode::OK);
    response
}

async fn invite(h: &Harness, t: &str, admin: &str, email: &str) -> u64 {
    let (status, answer) = h
        .post(
            &format!("/v1/tenants/{t}/invitations"),
            admin,
            json!({"email": email, "display_name": "S", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["position"].as_u64().expect("position")
}

async fn catch_up_live_resume(backend: Backend) {
    let h = Harness::start(backend);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let (other, other_owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&t, &owner);
    let other_admin = h.token(&other, &other_owner);
    let mut positions = vec![];
    for n in 0..3 {
        positions.push(invite(&h, &t, &admin, &format!("s{n}@example.com")).await);
        invite(&h, &other, &other_admin, &format!("o{n}@example.com")).await;
    }
    let streamer = h.server.token(&t, &owner, Some("events"), false);

    // Catch-up: the tenant's history, in order, its own events only.
    let mut response = open(&h, &t, &streamer, None).await;
    let mut buffer = String::new();
    let history = read_until(&mut response, &mut buffer, positions[2]).await;
    let names: Vec<&str> = history.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "tenant.created",
            "user.invited",
            "user.invited",
            "user.invited"
        ]
    );
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    for e in &history {
        assert_eq!(e.data["tenant_id"], t.as_str(), "{:?}", e);
        assert_eq!(e.data["position"], e.id, "{:?}", e);
        assert_eq!(e.data["type"], e.event.as_str(), "{:?}", e);
        assert!(!e.data.to_string().contains("token"), "{:?}", e);
    }
    assert_eq!(history[1].data["tenant_seq"], 2);

    // Live: a command after the catch-up arrives on the open stream; the other
    // tenant's meanwhile does not.
    invite(&h, &other, &other_admin, "o-live@example.com").await;
    let live = invite(&h, &t, &admin, "live@example.com").await;
    let next = read_until(&mut response, &mut buffer, live).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!((next[0].id, next[0].event.as_str()), (live, "user.invited"));
    drop(response);

    // Resume after the second invitation: the third and the live one, nothing before.
    let mut response = open(&h, &t, &streamer, Some(positions[1])).await;
    let mut buffer = String::new();
    let resumed = read_until(&mut response, &mut buffer, live).await;
    let ids: Vec<u64> = resumed.iter().map(|e| e.id).collect();
    assert_eq!(ids, [positions[2], live]);

    // `from_position` starts at that position.
    let response = h
        .http
        .get(format!(
            "{}/v1/tenants/{t}/events?from_position={}",
            h.server.url(),
            positions[2]
        ))
        .bearer_auth(&streamer)
        .send()
        .await
        .expect("events answer");
    let mut response = response;
    let mut buffer = String::new();
    let from = read_until(&mut response, &mut buffer, live).await;
    assert_eq!(from.first().map(|e| e.id), Some(positions[2]), "{from:?}");
}

#[tokio::test]
async fn events_catch_up_live_resume_embedded() {
    catch_up_live_resume(Backend::Embedded).await;
}

#[tokio::test]
async fn events_catch_up_live_resume_jetstream() {
    catch_up_live_resume(Backend::JetStream).await;
}
