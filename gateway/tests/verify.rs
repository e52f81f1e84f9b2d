//! `GET /v1/tenants/{t}/verify`: the tenant's chain walked now, for the console's
//! Integrity page and anyone with the team permission.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn the_chain_is_walked_for_the_team_and_refused_to_others() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ada = h.member(t.id, "ada@example.com", &["user"]).await;
    let toggled = h
        .send(
            Method::PUT,
            &format!(
                "/v1/tenants/{}/users/{ada}/permissions/contacts.delete",
                t.id
            ),
            Some(OPERATOR),
            Some(json!({"state": "deny", "reason": "audit"})),
        )
        .await
        .expect(StatusCode::OK);

    let owner = h.jwt(t.id, t.owner, None, false);
    let v = h
        .get(&format!("/v1/tenants/{}/verify", t.id), &owner)
        .await
        .expect(StatusCode::OK);
    assert_eq!(v.body["intact"], json!(true));
    assert_eq!(v.body["tenant_id"], json!(t.id.to_string()));
    // Created, invited, accepted, toggled.
    assert_eq!(v.body["events"], json!(4));
    assert_eq!(v.body["head"]["tenant_seq"], json!(4));
    assert_eq!(v.body["head"]["position"], json!(toggled.position()));
    assert_eq!(v.body["verified_through"], v.body["head"]);
    assert_eq!(v.body["problem"], json!(null));
    // This harness runs no checkpoint publisher.
    assert_eq!(v.body["checkpoint"], json!(null));
    let audit = h
        .get(&format!("/v1/tenants/{}/audit", t.id), &owner)
        .await
        .expect(StatusCode::OK);
    let last = audit.body["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(v.body["head"]["hash"], last["hash"]);

    // A member without the team permission, another tenant's admin and nobody.
    let ada_token = h.jwt(t.id, ada, None, false);
    h.get(&format!("/v1/tenants/{}/verify", t.id), &ada_token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let other = h.tenant(json!("jethub")).await;
    let other_owner = h.jwt(other.id, other.owner, None, false);
    let refused = h
        .get(&format!("/v1/tenants/{}/verify", t.id), &other_owner)
        .await;
    assert!(refused.status.is_client_error(), "{:#?}", refused.body);
    h.get(&format!("/v1/tenants/{}/verify", t.id), "")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.get("/v1/tenants/not-a-tenant/verify", OPERATOR)
        .await
        .expect(StatusCode::BAD_REQUEST);
    h.get(
        "/v1/tenants/00000000-0000-0000-0000-000000000000/verify",
        OPERATOR,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not-found");
}
