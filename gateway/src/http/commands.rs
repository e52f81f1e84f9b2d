//! Command handlers: parse, build the command, let the service decide and append,
//! map the outcome. Every one accepts `Idempotency-Key`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rollcall_aggregates::Command;
use rollcall_events::{Event, InvitationId, OfficeId, Permission, RoleKey, TenantId, UserId};
use serde_json::Value;

use crate::auth::Principal;
use crate::fresh;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, JsonBody, MaybeJsonBody};
use crate::invite_token;
use crate::problem::ApiError;
use crate::service::{CommandMeta, Executed, Outcome};

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const CORRELATION_ID: &str = "x-correlation-id";

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::validation(
                StatusCode::BAD_REQUEST,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

fn correlation_id(headers: &HeaderMap) -> uuid::Uuid {
    headers
        .get(CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(fresh::correlation_id)
}

/// What the answer names, read off the event.
fn answer(executed: &Executed) -> CommandAnswer {
    let mut a = CommandAnswer {
        position: executed.position,
        event_id: Some(executed.event_id),
        user_id: executed.event.target(),
        ..CommandAnswer::default()
    };
    match &executed.event {
        Event::TenantCreated(e) => {
            a.tenant_id = Some(executed.tenant);
            a.owner_id = Some(e.owner_id);
        }
        Event::UserInvited(e) => {
            a.invitation_id = Some(e.invitation_id);
            a.expires_at = Some(e.expires_at);
        }
        Event::InvitationResent(e) => {
            a.invitation_id = Some(e.invitation_id);
            a.expires_at = Some(e.expires_at);
        }
        Event::InvitationCanceled(e) => a.invitation_id = Some(e.invitation_id),
        Event::InvitationAccepted(e) => {
            a.tenant_id = Some(executed.tenant);
            a.invitation_id = Some(e.invitation_id);
        }
        Event::RoleCreated(e) => a.role = Some(e.role.to_string()),
        Event::RoleUpdated(e) => a.role = Some(e.role.to_string()),
        Event::RoleDeleted(e) => a.role = Some(e.role.to_string()),
        _ => {}
    }
    a
}

/// Runs one command for an already admitted actor and answers it.
async fn run(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
    command: Command,
    reason: Option<String>,
    headers: &HeaderMap,
    created: StatusCode,
) -> Result<Response, ApiError> {
    let meta = CommandMeta {
        actor: principal.actor(),
        mfa: principal.mfa(),
        reason: reason.filter(|r| !r.trim().is_empty()),
        idempotency_key: idempotency_key(headers)?,
        correlation_id: correlation_id(headers),
        now: Utc::now(),
        event_id: fresh::event_id(),
    };
    let response = match state.service().execute(tenant, command, meta).await? {
        Outcome::Executed(e) => (created, Json(answer(&e))).into_response(),
        Outcome::Replayed(e) => {
            let mut r = (created, Json(answer(&e))).into_response();
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Outcome::Unchanged { position } => (
            StatusCode::OK,
            Json(CommandAnswer {
                position,
                unchanged: true,
                ..CommandAnswer::default()
            }),
        )
            .into_response(),
    };
    Ok(response)
}

/// Admits the caller to the tenant, then runs the command.
async fn run_admitted(
    state: &AppState,
    principal: Principal,
    tenant: TenantId,
    command: Command,
    reason: Option<String>,
    headers: &HeaderMap,
    created: StatusCode,
) -> Result<Response, ApiError> {
    let access = state.admit(principal, tenant).await?;
    run(
        state,
        &access.principal,
        tenant,
        command,
        reason,
        headers,
        created,
    )
    .await
}

fn catalog_from(value: Value) -> Result<rollcall_events::CatalogDoc, ApiError> {
    match value {
        Value::String(name) => rollcall_catalogs::by_name(&name).ok_or_else(|| {
            ApiError::validation(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "`{name}` is not a seed catalog (seeds: {})",
                    rollcall_catalogs::names().join(", ")
                ),
            )
        }),
        Value::Object(_) => rollcall_catalogs::parse(&value.to_string()).map_err(|e| {
            let path = e.path().unwrap_or(".").to_owned();
            ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).with("path", path)
        }),
        _ => Err(ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`catalog` must be a seed catalog's name or a catalog document",
        )),
    }
}

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

#[utoipa::path(post, path = "/v1/tenants/{t}/invitations", tag = "invitations",
    params(("t" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body = InviteRequest,
    responses((status = 201, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InviteRequest>,
) -> Result<Response, ApiError> {
    let command = Command::InviteUser {
        user_id: fresh::user_id(),
        invitation_id: fresh::invitation_id(),
        email: body.email,
        display_name: body.display_name,
        roles: body.roles.into_iter().map(RoleKey::new).collect(),
        overrides: body
            .permissions
            .into_iter()
            .map(|(p, t)| (Permission::new(p), t))
            .collect(),
        kind: body.kind,
        nonce: fresh::nonce(),
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

#[utoipa::path(post, path = "/v1/tenants/{t}/invitations/{id}/resend", tag = "invitations",
    params(("t" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, invitation_id)): ApiPath<(TenantId, InvitationId)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ResendInvitation {
        invitation_id,
        nonce: fresh::nonce(),
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

#[utoipa::path(post, path = "/v1/tenants/{t}/invitations/{id}/cancel", tag = "invitations",
    params(("t" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel_invitation(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, invitation_id)): ApiPath<(TenantId, InvitationId)>,
    headers: HeaderMap,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::CancelInvitation { invitation_id };
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

#[utoipa::path(post, path = "/v1/invitations/accept", tag = "invitations",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = AcceptRequest,
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AcceptRequest>,
) -> Result<Response, ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-token",
            "the invitation token is not valid",
        )
    };
    let (tenant, invitation_id, nonce) =
        invite_token::verify(&state.0.invite_key, &body.token).map_err(|_| invalid())?;
    // The token is the credential; the actor is the invitee it was sent to.
    let invitee = state
        .service()
        .with_team(tenant, |team| {
            team.members
                .values()
                .find(|m| m.invitation.as_ref().is_some_and(|i| i.id == invitation_id))
                .map(|m| m.user_id)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("the invitation does not exist"))?;
    let principal = Principal::Token {
        user: invitee,
        tenant,
        mfa: false,
        scopes: Vec::new(),
    };
    let command = Command::AcceptInvitation {
        invitation_id,
        nonce,
    };
    run(
        &state,
        &principal,
        tenant,
        command,
        None,
        &headers,
        StatusCode::OK,
    )
    .await
}

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
/// sign-in flow with the member's own token or with the team permission.
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
