//! Invitations: invite, resend, cancel, and accept with the token from the link.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rollcall_aggregates::Command;
use rollcall_events::{InvitationId, Permission, RoleKey, TenantId};

use super::{Caller, execute};
use crate::auth::{Principal, Scopes};
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
    caller: Caller,
    ApiPath(tenant): ApiPath<TenantId>,
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
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/invitations/{id}/resend", tag = "invitations",
    params(("t" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, invitation_id)): ApiPath<(TenantId, InvitationId)>,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::ResendInvitation {
        invitation_id,
        nonce: fresh::nonce(),
    };
    caller.send(&state, tenant, command, body.reason).await
}

#[utoipa::path(post, path = "/v1/tenants/{t}/invitations/{id}/cancel", tag = "invitations",
    params(("t" = String, Path, format = Uuid), ("id" = String, Path, format = Uuid), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = Option<ReasonRequest>),
    responses((status = 200, body = CommandAnswer), (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((tenant, invitation_id)): ApiPath<(TenantId, InvitationId)>,
    MaybeJsonBody(body): MaybeJsonBody<ReasonRequest>,
) -> Result<Response, ApiError> {
    let command = Command::CancelInvitation { invitation_id };
    caller.send(&state, tenant, command, body.reason).await
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
    let token =
        invite_token::verify(&state.secrets().invite_key, &body.token).map_err(|_| invalid())?;
    // The token is the credential, minted for one invitee of one invitation: the
    // invitee accepts, and the decider checks the invitation is theirs.
    let principal = Principal::Token {
        user: token.invitee,
        tenant: token.tenant,
        mfa: false,
        scopes: Scopes::ALL,
        issued_at: None,
        expires_at: u64::MAX,
    };
    let command = Command::AcceptInvitation {
        invitation_id: token.invitation,
        nonce: token.nonce,
    };
    execute(&state, &principal, token.tenant, command, None, &headers).await
}
