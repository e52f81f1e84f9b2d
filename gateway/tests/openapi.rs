//! The OpenAPI document covers every route and is pinned by a snapshot.

mod common;

use axum::http::StatusCode;
use common::*;

const PATHS: [&str; 31] = [
    "/v1/tenants",
    "/v1/tenants/{t}/catalog",
    "/v1/tenants/{t}/plan",
    "/v1/tenants/{t}/roles",
    "/v1/tenants/{t}/roles/{role}",
    "/v1/tenants/{t}/invitations",
    "/v1/tenants/{t}/invitations/{id}/resend",
    "/v1/tenants/{t}/invitations/{id}/cancel",
    "/v1/invitations/accept",
    "/v1/tenants/{t}/users",
    "/v1/tenants/{t}/users/{u}",
    "/v1/tenants/{t}/users/{u}/roles",
    "/v1/tenants/{t}/users/{u}/permissions/{perm}",
    "/v1/tenants/{t}/users/{u}/scopes/{area}",
    "/v1/tenants/{t}/users/{u}/offices",
    "/v1/tenants/{t}/users/{u}/networks",
    "/v1/tenants/{t}/users/{u}/deactivate",
    "/v1/tenants/{t}/users/{u}/reactivate",
    "/v1/tenants/{t}/users/{u}/logins",
    "/v1/tenants/{t}/users/{u}/profile",
    "/v1/tenants/{t}/check",
    "/v1/tenants/{t}/platforms",
    "/v1/tenants/{t}/users/{u}/effective-permissions",
    "/v1/tenants/{t}/audit",
    "/v1/tenants/{t}/access-review",
    "/v1/tenants/{t}/access-diff",
    "/v1/tenants/{t}/events",
    "/v1/tenants/{t}/checkpoints",
    "/v1/tenants/{t}/verify",
    "/healthz",
    "/readyz",
];

#[tokio::test]
async fn the_document_names_every_path_and_is_stable() {
    let h = Harness::embedded();
    let doc = h
        .get("/openapi.json", OPERATOR)
        .await
        .expect(StatusCode::OK);
    for path in PATHS.iter().chain(["/metrics", "/openapi.json"].iter()) {
        assert!(doc.body["paths"][path].is_object(), "openapi lacks {path}");
    }
    insta::assert_json_snapshot!("openapi", doc.body);
}
