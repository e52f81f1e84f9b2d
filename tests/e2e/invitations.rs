//! An invitation travels end to end: the command, the mailer's `.eml` file in the
//! outbox, the accept link, and the member turning active. A resend makes the old
//! link useless; a used link cannot be used twice.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, Harness, token_from_outbox};

async fn invitation_round_trip(backend: Backend) {
    let h = Harness::start(backend);
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&tenant, &owner);
    let (status, invited) = h
        .post(
            &format!("/v1/tenants/{tenant}/invitations"),
            &admin,
            json!({"email": "Vera@Example.com", "display_name": "Vera Assistant", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let invitation = invited["invitation_id"].as_str().expect("invitation_id");
    let user = invited["user_id"].as_str().expect("user_id");
    let first = token_from_outbox(h.server.data_dir(), 1);

    let (status, _) = h
        .post(
            &format!("/v1/tenants/{tenant}/invitations/{invitation}/resend"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = token_from_outbox(h.server.data_dir(), 2);
    assert_ne!(first, second);

    let (status, problem) = h
        .post("/v1/invitations/accept", "", json!({"token": first}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/invitation-superseded")),
        "{problem}"
    );

    let (status, accepted) = h
        .post("/v1/invitations/accept", "", json!({"token": second}))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["user_id"], user);
    assert_eq!(accepted["tenant_id"], tenant.as_str());

    let (status, problem) = h
        .post("/v1/invitations/accept", "", json!({"token": second}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/invitation-used")),
        "{problem}"
    );

    let position = accepted["position"].as_u64().expect("position");
    let (status, member) = h
        .get(
            &format!("/v1/tenants/{tenant}/users/{user}?min_position={position}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["status"], "active");
    assert_eq!(member["email"], "vera@example.com");
}

#[tokio::test]
async fn invitation_round_trip_embedded() {
    invitation_round_trip(Backend::Embedded).await;
}

#[tokio::test]
async fn invitation_round_trip_jetstream() {
    invitation_round_trip(Backend::JetStream).await;
}
