//! Commands about one member: roles, permission toggles, scopes, offices,
//! networks, profile, deactivation and reactivation, logins.

use axum::extract::State;
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{OfficeId, Permission, RoleKey, TenantId, UserId};

use super::Caller;
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
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    JsonBody(body): JsonBody<RolesRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ChangeRoles {
        user_id,
        roles: body.roles.into_iter().map(RoleKey::new).collect(),
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/permissions/{perm}", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("perm" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ToggleRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn toggle_permission(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id, permission)): ApiPath<(TenantId, UserId, String)>,
    JsonBody(body): JsonBody<ToggleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::TogglePermission {
        user_id,
        permission: Permission::new(permission),
        state: body.state,
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/scopes/{area}", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("area" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ScopeRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_scope(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id, area)): ApiPath<(TenantId, UserId, String)>,
    JsonBody(body): JsonBody<ScopeRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetScope {
        user_id,
        area,
        scope: body.scope,
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/offices", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = OfficesRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_offices(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    JsonBody(body): JsonBody<OfficesRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetOffices {
        user_id,
        offices: body.offices.into_iter().map(OfficeId::new).collect(),
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/networks", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = NetworksRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_networks(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    JsonBody(body): JsonBody<NetworksRequest>,
) -> Result<Response, ApiError> {
    let command = Command::SetAllowedNetworks {
        user_id,
        cidrs: body.cidrs,
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/users/{u}/profile", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ProfileRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    JsonBody(body): JsonBody<ProfileRequest>,
) -> Result<Response, ApiError> {
    let command = Command::UpdateProfile {
        user_id,
        display_name: body.display_name,
        must_change_password: body.must_change_password,
        links: body.links,
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/deactivate", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<DeactivateRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    MaybeJsonBody(body): MaybeJsonBody<DeactivateRequest>,
) -> Result<Response, ApiError> {
    let command = Command::DeactivateUser {
        user_id,
        reassign_to: body.reassign_to,
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/reactivate", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ReactivateUser { user_id };
    caller.send(&state, tenant, command, body.reason).await
}

/// Records a login (the team page's "last login"); called by the product's
/// sign-in flow with the member's own token or with the operator token. The
/// login's address is the request's (the connection's peer, or the client a
/// trusted proxy names); only the operator may state it in the body. A member
/// whose logins are limited to listed networks is refused from anywhere else,
/// and from an address nobody knows.
#[utoipa::path(post, path = "/v1/tenants/{t}/users/{u}/logins", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<LoginRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn record_login(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, user_id)): ApiPath<(TenantId, UserId)>,
    MaybeJsonBody(body): MaybeJsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let source_ip = match (&caller.principal, body.source_ip) {
        (Principal::Operator, Some(ip)) => Some(ip),
        (Principal::Operator, None) => None,
        (_, Some(_)) => {
            return Err(ApiError::forbidden(
                "a login's address comes from the connection; only the operator may state it",
            ));
        }
        (_, None) => caller.ip,
    };
    let command = Command::RecordLogin { user_id, source_ip };
    caller.send(&state, tenant, command, None).await
}
