//! The compliance endpoints, answered by the `replay` library over the log itself
//! (not the read side): effective permissions as of an instant, the access review,
//! the access diff between two instants, and the signed checkpoints.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rollcall_events::{TenantId, UserId};
use rollcall_replay::{EffectiveAsOf, ReplayError, SignedCheckpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Need, Principal};
use crate::http::AppState;
use crate::http::dto::*;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::problem::ApiError;

/// The newest signed head of the tenant (none yet right after it was created).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointList {
    /// `{"tenant_id", "tenant_seq", "hash", "signed_at", "public_key",
    /// "signature"}`: Ed25519 over `rollcall-checkpoint-v1\ntenant_id=…\n
    /// tenant_seq=…\nhash=…\nsigned_at=…\npublic_key=…\n` (docs/compliance.md).
    #[schema(value_type = Vec<Object>)]
    pub checkpoints: Vec<SignedCheckpoint>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// RFC 3339 instant.
    pub from: DateTime<Utc>,
    /// RFC 3339 instant; now when absent.
    pub to: Option<DateTime<Utc>>,
}

fn replay_error(e: ReplayError) -> ApiError {
    match e {
        ReplayError::Log(rollcall_log::LogError::Unavailable(m)) => ApiError::unavailable(m),
        other => ApiError::internal(other.to_string()),
    }
}

#[utoipa::path(get, path = "/v1/tenants/{t}/users/{u}/effective-permissions", tag = "compliance",
    params(("t" = String, Path, format = Uuid), ("u" = String, Path, format = Uuid), AtQuery),
    responses((status = 200, body = EffectiveAsOf),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn effective_permissions_as_of(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, user)): ApiPath<(TenantId, UserId)>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<EffectiveAsOf>, ApiError> {
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_self_or_team(user)?;
    state.wait_for(q.min_position).await?;
    let at = q.at.unwrap_or_else(Utc::now);
    let team = state
        .compliance()
        .history
        .team_at(tenant, at)
        .await
        .map_err(replay_error)?;
    let answer = EffectiveAsOf::of(&team, tenant, user, at)
        .ok_or_else(|| ApiError::not_found("not a member of the tenant at that instant"))?;
    Ok(Json(answer))
}

/// JSON unless the client asks for `text/csv`.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().unwrap_or("").trim() == "text/csv")
}

#[utoipa::path(get, path = "/v1/tenants/{t}/access-review", tag = "compliance",
    params(("t" = String, Path, format = Uuid), AtQuery),
    responses(
        (status = 200, description = "every member × effective permission with sources and scope; deactivated, invited and canceled members listed with their status",
            content((Object = "application/json"), (String = "text/csv"))),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn access_review(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<AtQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    state.wait_for(q.min_position).await?;
    let at = q.at.unwrap_or_else(Utc::now);
    let review = state
        .compliance()
        .history
        .access_review(tenant, at)
        .await
        .map_err(replay_error)?;
    if wants_csv(&headers) {
        let mut body = Vec::new();
        rollcall_replay::review_csv(&review, &mut body).map_err(replay_error)?;
        Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            )],
            body,
        )
            .into_response())
    } else {
        Ok(Json(review).into_response())
    }
}

#[utoipa::path(get, path = "/v1/tenants/{t}/access-diff", tag = "compliance",
    params(("t" = String, Path, format = Uuid), DiffQuery),
    responses(
        (status = 200, description = "per member, permissions granted and revoked between the instants, each with the event that caused it", body = Object),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn access_diff(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Response, ApiError> {
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let to = q.to.unwrap_or_else(Utc::now);
    if q.from > to {
        return Err(ApiError::validation(
            StatusCode::BAD_REQUEST,
            "`from` is after `to`",
        ));
    }
    let diff = rollcall_replay::diff(&state.compliance().history, tenant, q.from, to)
        .await
        .map_err(replay_error)?;
    Ok(Json(diff).into_response())
}

#[utoipa::path(get, path = "/v1/tenants/{t}/checkpoints", tag = "compliance",
    params(("t" = String, Path, format = Uuid)),
    responses((status = 200, body = CheckpointList),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn checkpoints(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<CheckpointList>, ApiError> {
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let store = state
        .compliance()
        .checkpoints
        .ok_or_else(|| ApiError::unavailable("no checkpoint store is configured"))?;
    let checkpoints = rollcall_replay::latest_checkpoints(&store, Some(tenant))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(CheckpointList { checkpoints }))
}

/// One place in a tenant's chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainPoint {
    /// 0 before the tenant's first event.
    pub tenant_seq: u64,
    /// The log position of that event (0 when none).
    pub position: u64,
    pub hash: String,
}

/// The newest signed checkpoint of the tenant, and what the walk made of it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckpointCheck {
    pub tenant_seq: u64,
    pub hash: String,
    pub signed_at: DateTime<Utc>,
    /// Hex of the Ed25519 public key that signed it.
    pub public_key: String,
    /// The signature verifies against `public_key`.
    pub signature_valid: bool,
    /// The chain still holds the signed event at `tenant_seq` with `hash`.
    pub confirmed: bool,
    /// Whether `public_key` is the key this gateway signs with; null when this
    /// gateway does not sign (compare with `rollcall replay pubkey`).
    pub installation_key: Option<bool>,
}

/// A tenant's hash chain as this gateway walked it just now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainVerification {
    #[schema(value_type = String, format = Uuid)]
    pub tenant_id: TenantId,
    /// No problem found in the chain, and it still reaches the signed checkpoint.
    pub intact: bool,
    /// Events walked.
    pub events: u64,
    /// The last event up to which every hash, link and sequence verified.
    pub verified_through: ChainPoint,
    /// The newest event of the chain as read.
    pub head: ChainPoint,
    /// The first problem, in words (none when intact).
    pub problem: Option<String>,
    pub checkpoint: Option<CheckpointCheck>,
    pub verified_at: DateTime<Utc>,
}

/// Walks the tenant's chain once, holding it to the newest signed checkpoint when
/// that checkpoint's signature verifies.
async fn walk_chain(
    log: &dyn rollcall_log::EventLog,
    tenant: TenantId,
    checkpoint: Option<&SignedCheckpoint>,
) -> Result<(rollcall_replay::VerifyReport, ChainPoint), ReplayError> {
    use futures::StreamExt;
    let start = |_: ()| ChainPoint {
        tenant_seq: 0,
        position: 0,
        hash: rollcall_events::GENESIS_HASH.to_owned(),
    };
    // Like `verify_log`: a tenant read that fails on a damaged index falls back to
    // the whole log, so the damage is reported as a problem, not an error.
    for whole_log in [false, true] {
        let stream = if whole_log {
            log.read(0).await?
        } else {
            log.read_tenant(tenant, 1).await?
        };
        let mut verifier = rollcall_replay::ChainVerifier::new(Some(tenant));
        if let Some(checkpoint) = checkpoint {
            verifier.expect_checkpoint(checkpoint.clone());
        }
        let mut verified = start(());
        let mut stream = std::pin::pin!(stream);
        let mut failed = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => {
                    verifier.push(&event);
                    if let Some((chain, true)) = verifier.heads().next() {
                        verified = ChainPoint {
                            tenant_seq: chain.head_seq,
                            position: chain.head_position,
                            hash: chain.head_hash.clone(),
                        };
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            Some(rollcall_log::LogError::Store(_)) if !whole_log => continue,
            Some(e) => return Err(e.into()),
            None => return Ok((verifier.finish(), verified)),
        }
    }
    Err(ReplayError::Log(rollcall_log::LogError::Unavailable(
        "the log could not be read".to_owned(),
    )))
}

#[utoipa::path(get, path = "/v1/tenants/{t}/verify", tag = "compliance",
    params(("t" = String, Path, format = Uuid)),
    responses((status = 200, description = "the tenant's hash chain walked now: verified up to which event, the first problem if any, and the newest signed checkpoint", body = ChainVerification),
        (status = "4XX", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<ChainVerification>, ApiError> {
    let access = state.admit(principal, tenant, Need::Read).await?;
    access.require_team_view()?;
    let compliance = state.compliance();
    let signed = match &compliance.checkpoints {
        Some(store) => store
            .latest(tenant)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?,
        None => None,
    };
    let signature_valid = signed.as_ref().is_some_and(|c| c.verify().is_ok());
    // A checkpoint whose signature fails is reported, never held against the chain.
    let held = signed.as_ref().filter(|_| signature_valid);
    let (report, verified_through) = walk_chain(compliance.history.log().as_ref(), tenant, held)
        .await
        .map_err(replay_error)?;
    let chain = report.tenant(tenant);
    let head = chain.map_or_else(
        || ChainPoint {
            tenant_seq: 0,
            position: 0,
            hash: rollcall_events::GENESIS_HASH.to_owned(),
        },
        |c| ChainPoint {
            tenant_seq: c.head_seq,
            position: c.head_position,
            hash: c.head_hash.clone(),
        },
    );
    if head.tenant_seq == 0 {
        return Err(ApiError::not_found("tenant not found"));
    }
    let checkpoint = signed.map(|c| CheckpointCheck {
        confirmed: report
            .checkpoints_confirmed
            .iter()
            .any(|k| k.tenant_seq == c.tenant_seq),
        installation_key: state
            .installation_key()
            .map(|k| k.eq_ignore_ascii_case(&c.public_key)),
        tenant_seq: c.tenant_seq,
        hash: c.hash,
        signed_at: c.signed_at,
        public_key: c.public_key,
        signature_valid,
    });
    Ok(Json(ChainVerification {
        tenant_id: tenant,
        intact: report.is_intact(),
        events: chain.map_or(0, |c| c.events),
        verified_through,
        head,
        problem: report.tampering.first().map(|t| t.to_string()),
        checkpoint,
        verified_at: Utc::now(),
    }))
}
