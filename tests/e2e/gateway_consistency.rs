//! Idempotent retries, read-your-writes with `min_position`, and two gateways on
//! one JetStream log.

use reqwest::{Client, Method, StatusCode};
use rollcall_tests::{NatsServer, RollcallServer, ServerOptions};
use serde_json::json;

use crate::support::{Backend, Harness, OPERATOR, call_at, slug};

async fn idempotent_retry(backend: Backend) {
    let h = Harness::start(backend);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&t, &owner);
    let path = format!("/v1/tenants/{t}/invitations");
    let body = json!({"email": "ida@example.com", "display_name": "Ida", "roles": ["user"]});
    let key = [("Idempotency-Key", "invite-ida-1")];
    let (s1, _, first) = h
        .call_with(Method::POST, &path, &admin, Some(body.clone()), &key)
        .await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    let (s2, headers, second) = h
        .call_with(Method::POST, &path, &admin, Some(body.clone()), &key)
        .await;
    assert_eq!(s2, s1, "{second}");
    assert_eq!(second, first, "the retry answers the first answer");
    assert_eq!(headers["idempotent-replayed"], "true");
    // Another body under the same key.
    let other = json!({"email": "other@example.com", "display_name": "O", "roles": ["user"]});
    let (s3, _, third) = h
        .call_with(Method::POST, &path, &admin, Some(other), &key)
        .await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{third}");
    assert_eq!(slug(&third), "idempotency-key-reused", "{third}");
    // Exactly one invitation in the trail.
    let trail = h
        .audit(
            &t,
            &format!("&type=user.invited&min_position={}", first["position"]),
        )
        .await;
    assert_eq!(trail.len(), 1, "{trail:?}");
    // After a restart the key is still remembered.
    let mut h = h;
    h.server.restart();
    h.http = Client::new(); // the old pooled connections died with the process
    let (s4, _, fourth) = h
        .call_with(Method::POST, &path, &admin, Some(body), &key)
        .await;
    assert_eq!(s4, s1, "{fourth}");
    assert_eq!(fourth, first);
    assert_eq!(h.audit(&t, "&type=user.invited").await.len(), 1);
}

#[tokio::test]
async fn idempotent_retry_embedded() {
    idempotent_retry(Backend::Embedded).await;
}

#[tokio::test]
async fn idempotent_retry_jetstream() {
    idempotent_retry(Backend::JetStream).await;
}

async fn read_your_writes(backend: Backend) {
    let h = Harness::start(backend);
    let (t, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&t, &owner);
    let member = h
        .add_member(&t, &admin, "rae@example.com", &["user"], 1)
        .await;
    let user = format!("/v1/tenants/{t}/users/{member}");
    // Each write is visible to the query that names its position, at once.
    for (i, state) in ["deny", "allow", "inherit", "deny"].iter().enumerate() {
        let (status, answer) = h
            .put(
                &format!("{user}/permissions/contacts.edit"),
                &admin,
                json!({"state": state}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let position = answer["position"].as_u64().expect("position");
        let (status, headers, view) = h
            .call_with(
                Method::GET,
                &format!("{user}?min_position={position}"),
                &admin,
                None,
                &[],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{view}");
        let seen: u64 = headers["x-rollcall-position"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(seen >= position, "round {i}: {seen} < {position}");
        let expected = if *state == "inherit" {
            json!(null)
        } else {
            json!(state)
        };
        assert_eq!(
            view["overrides"]["contacts.edit"], expected,
            "round {i}: {view}"
        );
        let (_, check) = h
            .post(
                &format!("/v1/tenants/{t}/check?min_position={position}"),
                &admin,
                json!({"user_id": member, "permission": "contacts.edit", "resource": {}}),
            )
            .await;
        assert_eq!(
            check["allowed"],
            json!(*state != "deny"),
            "round {i}: {check}"
        );
    }
    // A position the log has not reached names no event yet: refused at once.
    let (status, _, answer) = h
        .call_with(
            Method::GET,
            &format!("/v1/tenants/{t}/users?min_position=999999"),
            &admin,
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(slug(&answer), "position-ahead");
}

#[tokio::test]
async fn read_your_writes_embedded() {
    read_your_writes(Backend::Embedded).await;
}

#[tokio::test]
async fn read_your_writes_jetstream() {
    read_your_writes(Backend::JetStream).await;
}

#[tokio::test]
async fn two_gateways_on_one_jetstream() {
    let nats = NatsServer::start();
    let start = || {
        RollcallServer::start(
            env!("CARGO_BIN_EXE_rollcall"),
            ServerOptions {
                nats_url: Some(nats.url()),
                ..Default::default()
            },
        )
    };
    let (one, two) = (start(), start());
    let http = Client::new();
    let (status, _, created) = call_at(
        &http,
        &one.url(),
        Method::POST,
        "/v1/tenants",
        OPERATOR,
        Some(json!({"name": "Two", "catalog": "jtek",
                    "owner": {"email": "o@example.com", "display_name": "O"}})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let t = created["tenant_id"].as_str().unwrap();
    let owner = created["owner_id"].as_str().unwrap();
    let admin = one.token(t, owner, None, false);
    for round in 0..5 {
        // A command through one gateway, alternating...
        let (writer, reader) = if round % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        let email = format!("p{round}@example.com");
        let (status, _, invited) = call_at(
            &http,
            &writer.url(),
            Method::POST,
            &format!("/v1/tenants/{t}/invitations"),
            &admin,
            Some(json!({"email": email, "display_name": "P", "roles": ["user"]})),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{invited}");
        // ...is seen through the other with its position.
        let (status, _, list) = call_at(
            &http,
            &reader.url(),
            Method::GET,
            &format!("/v1/tenants/{t}/users?min_position={}", invited["position"]),
            &admin,
            None,
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let users = list["users"].as_array().unwrap();
        assert_eq!(users.len(), round + 2, "{list}");
        assert!(users.iter().any(|u| u["email"] == email.as_str()), "{list}");
    }
    // The same idempotency key through both gateways: one event.
    let key = [("Idempotency-Key", "both-gateways")];
    let path = format!("/v1/tenants/{t}/plan");
    let mut answers = Vec::new();
    for gateway in [&one, &two] {
        let (status, _, answer) = call_at(
            &http,
            &gateway.url(),
            Method::PUT,
            &path,
            &admin,
            Some(json!({"plan": "starter"})),
            &key,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answers.push(answer);
    }
    assert_eq!(answers[0], answers[1]);
    let (_, _, audit) = call_at(
        &http,
        &two.url(),
        Method::GET,
        &format!(
            "/v1/tenants/{t}/audit?type=tenant.plan_changed&min_position={}",
            answers[0]["position"]
        ),
        &admin,
        None,
        &[],
    )
    .await;
    assert_eq!(audit["entries"].as_array().unwrap().len(), 1, "{audit}");
}
