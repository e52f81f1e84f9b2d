//! Tenant-wide commands: create a tenant, define its catalog, change its plan,
//! manage its roles.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{Permission, RoleKey, TenantId};
use serde_json::Value;

use super::{Caller, catalog_from};
use crate::fresh;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, JsonBody, MaybeJsonBody};
use crate::problem::ApiError;
use crate::service::tenant_id_for_key;

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants",
    request_body = CreateTenantRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateTenantRequest>,
) -> Result<Response, ApiError> {
    let catalog = catalog_from(body.catalog)?;
    // A keyed creation names its tenant after the key: every retry, on any
    // gateway, targets the same tenant, and the log creates it once.
    let tenant_id = caller
        .idempotency_key()?
        .map_or_else(fresh::tenant_id, |key| tenant_id_for_key(&key));
    let command = Command::CreateTenant {
        tenant_id,
        name: body.name,
        catalog,
        plan: body.plan,
        owner_id: fresh::user_id(),
        owner_email: body.owner.email,
        owner_display_name: body.owner.display_name,
    };
    caller.send(&state, tenant_id, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/catalog", tag = "tenants",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Object, description = "A catalog document (as GET answers it, or wrapped as `{\"catalog\": document}`)"),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn define_catalog(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(tenant): ApiPath<TenantId>,
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
        for extra in rollcall_projections::CATALOG_ANSWER_EXTRAS {
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
    caller.send(&state, tenant, command, None).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/plan", tag = "tenants",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = PlanRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_plan(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(tenant): ApiPath<TenantId>,
    JsonBody(body): JsonBody<PlanRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ChangePlan { plan: body.plan };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/roles", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateRoleRequest,
    responses((status = 201, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(tenant): ApiPath<TenantId>,
    JsonBody(body): JsonBody<CreateRoleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::CreateRole {
        role: RoleKey::new(body.key),
        label: body.label,
        grants: body.grants.into_iter().map(Permission::new).collect(),
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(put, path = "/v1/tenants/{t}/roles/{role}", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("role" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = UpdateRoleRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, role)): ApiPath<(TenantId, String)>,
    JsonBody(body): JsonBody<UpdateRoleRequest>,
) -> Result<Response, ApiError> {
    let command = Command::UpdateRole {
        role: RoleKey::new(role),
        label: body.label,
        grants: body.grants.into_iter().map(Permission::new).collect(),
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(delete, path = "/v1/tenants/{t}/roles/{role}", tag = "roles",
    params(("t" = String, Path, format = Uuid), ("role" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, role)): ApiPath<(TenantId, String)>,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::DeleteRole {
        role: RoleKey::new(role),
    };
    caller.send(&state, tenant, command, body.reason).await
}
