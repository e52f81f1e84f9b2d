//! Command handlers: parse, build the command, let the service decide and append,
//! map the outcome. Every one accepts `Idempotency-Key`. This file holds what they
//! share: metadata from headers, running a command, and the answer.

mod invitations;
mod tenants;
mod users;

pub use invitations::*;
pub use tenants::*;
pub use users::*;

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rollcall_aggregates::Command;
use rollcall_events::{Event, TenantId};
use serde_json::Value;

use crate::auth::{Need, Principal};
use crate::fresh;
use crate::http::AppState;
use crate::http::dto::CommandAnswer;
use crate::limits::client_ip;
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

/// Whoever sends a command, as the request shows them: verified credentials,
/// the address the request comes from, and the headers a command reads
/// (`Idempotency-Key`, `X-Correlation-ID`).
pub struct Caller {
    pub principal: Principal,
    pub ip: Option<IpAddr>,
    headers: HeaderMap,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let ip = client_ip(
            parts.extensions.get::<ConnectInfo<SocketAddr>>(),
            &parts.headers,
            &state.config().trusted_proxies,
        );
        Ok(Caller {
            principal,
            ip,
            headers: parts.headers.clone(),
        })
    }
}

impl Caller {
    /// The request's `Idempotency-Key`, if it sent a valid one.
    pub fn idempotency_key(&self) -> Result<Option<String>, ApiError> {
        idempotency_key(&self.headers)
    }

    /// Admits the caller to the tenant for commands, takes one command from its
    /// allowance, then decides, appends and answers. Commands that create answer
    /// 201, the others 200.
    pub async fn send(
        self,
        state: &AppState,
        tenant: TenantId,
        command: Command,
        reason: Option<String>,
    ) -> Result<Response, ApiError> {
        let principal = if let Command::CreateTenant { .. } = command {
            // No tenant to be admitted to yet: only the operator creates one.
            if self.principal != Principal::Operator {
                return Err(ApiError::forbidden("only the operator creates tenants"));
            }
            self.principal.clone()
        } else {
            state
                .admit(self.principal.clone(), tenant, Need::Admin)
                .await?
                .principal
        };
        state.rates().command(principal.actor().user(), self.ip)?;
        execute(state, &principal, tenant, command, reason, &self.headers).await
    }
}

/// Decides and appends one command for `principal`, already admitted, and
/// answers it.
pub(super) async fn execute(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
    command: Command,
    reason: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let created = if matches!(
        command,
        Command::CreateTenant { .. } | Command::CreateRole { .. } | Command::InviteUser { .. }
    ) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let meta = CommandMeta {
        actor: principal.actor(),
        mfa: principal.mfa(),
        reason: reason.filter(|r| !r.trim().is_empty()),
        idempotency_key: idempotency_key(headers)?,
        correlation_id: correlation_id(headers),
        now: Utc::now(),
        event_id: fresh::event_id(),
    };
    let outcome = state.service().execute(tenant, command, meta).await?;
    // Answered once this gateway's own read side holds the event, so the caller's
    // next request here — an admission, a check, a query — sees it.
    let position = match &outcome {
        Outcome::Executed(e) | Outcome::Replayed(e) => e.position,
        Outcome::Unchanged { position } => *position,
    };
    if state
        .read()
        .wait_for(position, state.config().query_wait)
        .await
        .is_err()
    {
        tracing::warn!(position, "the read side lags behind a command it answers");
    }
    let response = match outcome {
        Outcome::Executed(e) => (created, Json(answer(&e))).into_response(),
        Outcome::Replayed(e) => {
            let mut r = if e.is_unchanged() {
                unchanged(e.position)
            } else {
                (created, Json(answer(&e))).into_response()
            };
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Outcome::Unchanged { position } => unchanged(position),
    };
    Ok(response)
}

/// The answer of a command that changed nothing.
fn unchanged(position: u64) -> Response {
    (
        StatusCode::OK,
        Json(CommandAnswer {
            position,
            unchanged: true,
            ..CommandAnswer::default()
        }),
    )
        .into_response()
}

pub(super) fn catalog_from(value: Value) -> Result<rollcall_events::CatalogDoc, ApiError> {
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
