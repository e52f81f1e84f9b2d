//! Query handlers: settle how fresh the read must be (`min_position`,
//! `consistency=full`), admit, and answer from the read side's index — nothing
//! here calls the command side.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rollcall_aggregates::{CheckRequest, MemberStatus, Resource};
use rollcall_events::{Actor, OfficeId, Permission, TenantId, UserId};
use rollcall_projections::{
    AuditPage, AuditQuery, CatalogAnswer, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, MembershipList,
    PlatformsAnswer, UserDetail, UserList,
};

use crate::auth::{Need, Principal};
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, ApiQuery, JsonBody};
use crate::problem::ApiError;

fn tenant_not_found() -> ApiError {
    ApiError::not_found("tenant not found")
}

#[utoipa::path(get, path = "/v1/tenants/{t}/catalog", tag = "tenants",
    params(("t" = String, Path, format = Uuid), MinPosition),
    responses((status = 200, body = CatalogAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn catalog(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<MinPosition>,
) -> Result<Response, ApiError> {
    state.settle(q.min_position, q.consistency).await?;
    state.admit(principal, tenant, Need::Read).await?;
    let view = state.read().catalog(tenant).ok_or_else(tenant_not_found)?;
    Ok(Json(view).into_response())
}

#[utoipa::path(get, path = "/v1/tenants/{t}/users", tag = "users",
    params(("t" = String, Path, format = Uuid), UsersQuery),
    responses((status = 200, body = UserList), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn users(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<UsersQuery>,
) -> Result<Json<UserList>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some("invited") => Some(MemberStatus::Invited),
        Some("active") => Some(MemberStatus::Active),
        Some("deactivated") => Some(MemberStatus::Deactivated),
        Some("canceled") => Some(MemberStatus::Canceled),
        Some(other) => {
            return Err(ApiError::validation(
                StatusCode::BAD_REQUEST,
                format!("`{other}` is not a status (invited, active, deactivated, canceled)"),
            ));
        }
    };
    state.settle(q.min_position, q.consistency).await?;
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let list = state
        .read()
        .users(tenant, status)
        .ok_or_else(tenant_not_found)?;
    Ok(Json(list))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/users/{u}", tag = "users",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), MinPosition),
    responses((status = 200, body = UserDetail), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user)): ApiPath<(TenantId, UserId)>,
    ApiQuery(q): ApiQuery<MinPosition>,
) -> Result<Json<UserDetail>, ApiError> {
    state.settle(q.min_position, q.consistency).await?;
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_self_or_team(user)?;
    let detail = state
        .read()
        .user(tenant, user)
        .ok_or_else(|| ApiError::not_found("member not found"))?;
    Ok(Json(detail))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/platforms", tag = "tenants",
    params(("t" = String, Path, format = Uuid), MinPosition),
    responses((status = 200, body = PlatformsAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn platforms(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<MinPosition>,
) -> Result<Json<PlatformsAnswer>, ApiError> {
    state.settle(q.min_position, q.consistency).await?;
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let answer = state
        .read()
        .platforms(tenant)
        .ok_or_else(tenant_not_found)?;
    Ok(Json(answer))
}

/// May `user_id` do `permission` on `resource`, from `source_ip`? Answered from
/// the read side's index: a bit-set lookup that allocates nothing; the sentence
/// and the sources are written only for the answer.
#[utoipa::path(post, path = "/v1/tenants/{t}/check", tag = "check",
    params(("t" = String, Path, format = Uuid), MinPosition),
    request_body = CheckBody,
    responses((status = 200, body = CheckAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<MinPosition>,
    JsonBody(body): JsonBody<CheckBody>,
) -> Result<Json<CheckAnswer>, ApiError> {
    state.settle(q.min_position, q.consistency).await?;
    let access = state.admit(principal, tenant, Need::Check).await?;
    access.require_check(body.user_id)?;
    let request = CheckRequest {
        user_id: body.user_id,
        permission: Permission::new(body.permission),
        resource: Resource {
            owner_id: body.resource.owner_id,
            office_id: body.resource.office_id.map(OfficeId::new),
        },
        source_ip: body.source_ip,
    };
    let view = state.read().view();
    let outcome = view.check(tenant, &request).ok_or_else(tenant_not_found)?;
    let handles = state.metrics_handles();
    if outcome.allowed {
        handles.checks_allowed.increment(1);
    } else {
        handles.checks_denied.increment(1);
    }
    Ok(Json(CheckAnswer {
        allowed: outcome.allowed,
        reason: outcome.reason,
        sources: outcome.sources,
        position: view.position,
        denial: outcome.denial.map(|d| d.as_str().to_owned()),
        scope: outcome.scope.map(|s| s.as_str().to_owned()),
    }))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/audit", tag = "audit",
    params(("t" = String, Path, format = Uuid), AuditParams),
    responses((status = 200, body = AuditPage), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let bad = |what: &str| ApiError::validation(StatusCode::BAD_REQUEST, what.to_owned());
    let actor = match q.actor.as_deref() {
        None | Some("") => None,
        Some(a) => Some(
            a.parse::<Actor>()
                .map_err(|_| bad("`actor` must be a user id or `operator`"))?,
        ),
    };
    let query = AuditQuery {
        user: q.user,
        actor,
        event_type: q.event_type.filter(|t| !t.is_empty()),
        from: q.from,
        to: q.to,
        cursor: q.cursor.filter(|c| !c.is_empty()),
        limit: Some(
            q.limit
                .unwrap_or(DEFAULT_AUDIT_LIMIT)
                .clamp(1, MAX_AUDIT_LIMIT),
        ),
    };
    state.settle(q.min_position, q.consistency).await?;
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let page = state
        .read()
        .audit(tenant, &query)
        .map_err(|e| match e {
            rollcall_projections::ProjectionError::InvalidCursor { .. }
            | rollcall_projections::ProjectionError::InvalidLimit { .. } => {
                ApiError::validation(StatusCode::BAD_REQUEST, e.to_string())
            }
            other => ApiError::internal(other.to_string()),
        })?
        .ok_or_else(tenant_not_found)?;
    Ok(Json(page))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembershipsQuery {
    /// The person's email (compared normalised: trimmed, lower-case).
    pub email: String,
    pub min_position: Option<u64>,
    /// `full`: wait until the read side reached the log's head.
    pub consistency: Option<Consistency>,
}

/// The accounts one person belongs to, for the operator's sign-in flow (Jet Hub:
/// "if this user already exists on another account, they log in with their
/// existing details"). Each tenant's answers name only that tenant's members;
/// only the operator sees across tenants.
#[utoipa::path(get, path = "/v1/memberships", tag = "tenants",
    params(MembershipsQuery),
    responses((status = 200, body = MembershipList), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn memberships(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MembershipsQuery>,
) -> Result<Json<MembershipList>, ApiError> {
    if principal != Principal::Operator {
        return Err(ApiError::forbidden(
            "only the operator looks across tenants",
        ));
    }
    state.settle(q.min_position, q.consistency).await?;
    let email = q.email.trim().to_lowercase();
    let memberships = state.read().memberships(&email);
    Ok(Json(MembershipList { email, memberships }))
}
