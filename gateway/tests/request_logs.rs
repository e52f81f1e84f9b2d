//! What the request logs say: method, path and status, never the query (the
//! invitation link carries its token in `?token=`) nor a header. Alone in its own
//! test binary, because a thread-local log subscriber only sees everything when
//! no other test shares the process.

mod common;
mod log_capture;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::*;
use log_capture::Captured;
use serde_json::json;

#[tokio::test]
async fn a_token_in_the_query_never_reaches_the_request_logs() {
    let (captured, _guard) = Captured::start();

    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let invited = h
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/invitations", t.id),
            Some(OPERATOR),
            Some(json!({"email": "ada@example.com", "display_name": "Ada", "roles": ["user"]})),
        )
        .await
        .expect(StatusCode::CREATED);
    let token = h
        .accept_token(t.id, invited.id("invitation_id").parse().unwrap())
        .await;
    let bearer = h.jwt(t.id, t.owner, None, false);

    // The page the mail links to, the console, and API calls with a query, some
    // answered, some refused: none of them may log the query.
    for (path, expected) in [
        (format!("/accept?token={token}"), StatusCode::OK),
        (format!("/console?token={token}"), StatusCode::OK),
        (
            format!("/v1/tenants/{}/users?status={token}", t.id),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/tenants/{}/audit?cursor={token}", t.id),
            StatusCode::BAD_REQUEST,
        ),
        (format!("/nowhere?token={token}"), StatusCode::NOT_FOUND),
    ] {
        let answer = h
            .raw(
                Request::get(&path)
                    .header("authorization", format!("Bearer {bearer}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, expected, "{path}: {:#?}", answer.body);
    }
    h.send(
        Method::POST,
        "/v1/invitations/accept",
        None,
        Some(json!({"token": token})),
    )
    .await
    .expect(StatusCode::OK);

    let logs = captured.text();
    // The requests were logged, with their paths…
    assert!(logs.contains("path=/accept"), "{logs}");
    assert!(logs.contains("path=/console"), "{logs}");
    assert!(logs.contains("path=/nowhere"), "{logs}");
    assert!(logs.contains("/users"), "{logs}");
    // …and nothing of the query, the token or the bearer.
    assert!(!logs.contains(&token), "{logs}");
    assert!(!logs.contains("token="), "{logs}");
    assert!(!logs.contains(&bearer), "{logs}");
    assert!(!logs.contains(OPERATOR), "{logs}");
}
