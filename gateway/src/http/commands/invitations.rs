//! Invitations: invite, resend, cancel, and accept with the token from the link.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{InvitationId, Permission, RoleKey, TenantId};

use super::{run, run_admitted};
use crate::auth::Principal;
use crate::fresh;
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, JsonBody, MaybeJsonBody};
use crate::invite_token;
use crate::problem::ApiError;

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
