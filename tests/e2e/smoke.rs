//! The binary starts on both backends, creates a tenant and lists its team.

use reqwest::StatusCode;

use crate::support::{Backend, Harness};

async fn owner_sees_themselves(backend: Backend) {
    let h = Harness::start(backend);
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    let token = h.token(&tenant, &owner);
    let (status, answer) = h.get(&format!("/v1/tenants/{tenant}/users"), &token).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let users = answer["users"].as_array().expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["user_id"], owner.as_str());
    assert_eq!(users[0]["status"], "active");
    assert_eq!(users[0]["roles"], serde_json::json!(["admin"]));
}

#[tokio::test]
async fn owner_sees_themselves_embedded() {
    owner_sees_themselves(Backend::Embedded).await;
}

#[tokio::test]
async fn owner_sees_themselves_jetstream() {
    owner_sees_themselves(Backend::JetStream).await;
}
