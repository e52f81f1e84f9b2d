//! Commands about one member: roles, permission toggles, scopes, offices,
//! networks, profile, deactivation and reactivation, logins.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{OfficeId, Permission, RoleKey, TenantId, UserId};

use super::run_admitted;
use crate::auth::Principal;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, JsonBody, MaybeJsonBody};
use crate::problem::ApiError;

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/roles", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RolesRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_roles(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RolesRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ChangeRoles {
        user_id,
        roles: body.roles.into_iter().map(RoleKey::new).collect(),
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/permissions/{perm}", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("perm" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ToggleRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn toggle_permission(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id, permission)): ApiPath<(TenantId, UserId, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ToggleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::TogglePermission {
        user_id,
        permission: Permission::new(permission),
        state: body.state,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/scopes/{area}", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("area" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ScopeRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_scope(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id, area)): ApiPath<(TenantId, UserId, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ScopeRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetScope {
        user_id,
        area,
        scope: body.scope,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/offices", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = OfficesRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_offices(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OfficesRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetOffices {
        user_id,
        offices: body.offices.into_iter().map(OfficeId::new).collect(),
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/networks", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = NetworksRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_networks(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NetworksRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetAllowedNetworks {
        user_id,
        cidrs: body.cidrs,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/profile", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ProfileRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_profile(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ProfileRequest>,
) -> Result<Response, ApiError> {
    let command = Command::UpdateProfile {
        user_id,
        display_name: body.display_name,
        must_change_password: body.must_change_password,
        links: body.links,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/deactivate", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<DeactivateRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<DeactivateRequest>,
) -> Result<Response, ApiError> {
    let command = Command::DeactivateUser {
        user_id,
        reassign_to: body.reassign_to,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/reactivate", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reactivate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ReactivateUser { user_id };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::OK,
    )
    .await
}

/// Records a login (the team page's "last login"); called by the product's
/// sign-in flow with the member's own token or with the operator token.
#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/logins", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<LoginRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn record_login(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let command = Command::RecordLogin {
        user_id,
        source_ip: body.source_ip,
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        None,
        &headers,
        StatusCode::OK,
    )
    .await
}
