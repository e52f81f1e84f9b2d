//! Tenant-wide commands: create a tenant, define its catalog, change its plan,
//! manage its roles.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{Permission, RoleKey, TenantId};
use serde_json::Value;

use super::{catalog_from, run, run_admitted};
use crate::auth::Principal;
use crate::fresh;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, JsonBody, MaybeJsonBody};
use crate::problem::ApiError;

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants",
    request_body = CreateTenantRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateTenantRequest>,
) -> Result<Response, ApiError> {
    let catalog = catalog_from(body.catalog)?;
    let tenant_id = fresh::tenant_id();
    let command = Command::CreateTenant {
        tenant_id,
        name: body.name,
        catalog,
        plan: body.plan,
        owner_id: fresh::user_id(),
        owner_email: body.owner.email,
        owner_display_name: body.owner.display_name,
    };
    run(
        &state,
        &principal,
        tenant_id,
        command,
        body.reason,
        &headers,
        StatusCode::CREATED,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/catalog", tag = "tenants",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, description = "A catalog document (as GET answers it, or wrapped as `{\"catalog\": document}`)"),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn define_catalog(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    // Accept the document itself, what GET answers (the document plus a few
    // members of its own, dropped here), or the document wrapped as {"catalog": …}.
    let mut doc = match body {
        Value::Object(mut map) if map.get("catalog").is_some_and(Value::is_object) => {
            map.remove("catalog").unwrap_or(Value::Null)
        }
        other => other,
    };
    if let Value::Object(map) = &mut doc {
        for extra in crate::views::CATALOG_ANSWER_EXTRAS {
            map.remove(extra);
        }
    }
    if !doc.is_object() {
        return Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a catalog document",
        ));
    }
    let catalog = catalog_from(doc)?;
    let command = Command::DefineCatalog { catalog };
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

#[utoipa::path(put, path = "/v1/tenants/{t}/plan", tag = "tenants",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = PlanRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_plan(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PlanRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ChangePlan { plan: body.plan };
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

#[utoipa::path(post, path = "/v1/tenants/{t}/roles", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateRoleRequest,
    responses((status = 201, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateRoleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::CreateRole {
        role: RoleKey::new(body.key),
        label: body.label,
        grants: body.grants.into_iter().map(Permission::new).collect(),
    };
    run_admitted(
        &state,
        principal,
        tenant,
        command,
        body.reason,
        &headers,
        StatusCode::CREATED,
    )
    .await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/roles/{role}", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("role" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = UpdateRoleRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, role)): ApiPath<(TenantId, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdateRoleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::UpdateRole {
        role: RoleKey::new(role),
        label: body.label,
        grants: body.grants.into_iter().map(Permission::new).collect(),
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

#[utoipa::path(delete, path = "/v1/tenants/{t}/roles/{role}", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("role" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete_role(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, role)): ApiPath<(TenantId, String)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::DeleteRole {
        role: RoleKey::new(role),
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
