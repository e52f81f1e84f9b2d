//! Endpoints whose answers come from libraries not wired in yet (the `replay`
//! library: as-of permissions, access reviews, checkpoints; the event stream).
//! Routes, auth and parameters are final; each body answers 501 until its
//! implementation replaces the function of the same name.

use axum::extract::State;
use rollcall_events::{TenantId, UserId};

use crate::auth::Principal;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::problem::ApiError;

#[utoipa::path(get, path = "/v1/tenants/{t}/users/{u}/effective-permissions", tag = "compliance",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), AtQuery),
    responses((status = 501, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn effective_permissions_as_of(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user)): ApiPath<(TenantId, UserId)>,
    ApiQuery(_q): ApiQuery<AtQuery>,
) -> Result<(), ApiError> {
    let access = state.admit(principal, tenant).await?;
    access.require_self_or_team(user)?;
    Err(ApiError::not_implemented(
        "effective permissions as of an instant",
    ))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/access-review", tag = "compliance",
    params(("t" = String, Path, format = Uuid), AtQuery),
    responses((status = 501, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn access_review(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(_q): ApiQuery<AtQuery>,
) -> Result<(), ApiError> {
    let access = state.admit(principal, tenant).await?;
    access.require_team_view()?;
    Err(ApiError::not_implemented("the access review"))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/events", tag = "events",
    params(("t" = String, Path, format = Uuid), EventsQuery),
    responses((status = 501, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn event_stream(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(_q): ApiQuery<EventsQuery>,
) -> Result<(), ApiError> {
    let access = state.admit(principal, tenant).await?;
    access.require_events()?;
    Err(ApiError::not_implemented("the event stream"))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/checkpoints", tag = "compliance",
    params(("t" = String, Path, format = Uuid)),
    responses((status = 501, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn checkpoints(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<(), ApiError> {
    let access = state.admit(principal, tenant).await?;
    access.require_team_view()?;
    Err(ApiError::not_implemented("signed checkpoints"))
}
