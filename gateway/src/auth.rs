//! Who is calling: the operator token or an HS256 JWT, and what each may do.
//!
//! JWT claims: `sub` (member id), `tid` (tenant), `exp`, optional `amr` (contains
//! `mfa` after a step-up) and `scope` (space-separated: `check`, `events`) for
//! service tokens. A token of tenant A used on tenant B's paths is answered 403
//! `forbidden` everywhere (never 404), so the answer does not depend on whether
//! tenant B exists. A member who is not active — including one deactivated by the
//! event just written — is answered 401: their token no longer identifies anyone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rollcall_aggregates::{MemberStatus, Team};
use rollcall_events::{Actor, TenantId, UserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::http::AppState;
use crate::problem::ApiError;

/// The secrets a gateway runs with. Never logged, never in an answer.
#[derive(Clone)]
pub struct Secrets {
    pub operator_token: String,
    pub jwt_secret: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    /// The key invitation tokens are signed with, derived from the JWT secret so one
    /// configured secret serves both without one kind of token passing for the other.
    pub fn invite_key(&self) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(b"rollcall invitation tokens\0");
        h.update(self.jwt_secret.as_bytes());
        h.finalize().to_vec()
    }
}

/// The claims of a Rollcall JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tid: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Error)]
pub enum TokenMintError {
    #[error("cannot sign the token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Mints a JWT for `user` of `tenant` (the `rollcall token` subcommand and tests).
pub fn mint_jwt(
    jwt_secret: &str,
    tenant: TenantId,
    user: UserId,
    scope: Option<&str>,
    mfa: bool,
    ttl: Duration,
) -> Result<String, TokenMintError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let claims = Claims {
        sub: user.to_string(),
        tid: tenant.to_string(),
        exp: (now + ttl).as_secs(),
        amr: if mfa {
            vec!["pwd".to_owned(), "mfa".to_owned()]
        } else {
            vec!["pwd".to_owned()]
        },
        scope: scope.map(str::to_owned),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(jwt_secret.as_bytes()),
    )?)
}

/// A caller whose credentials were verified (but not yet matched to a tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator,
    Token {
        user: UserId,
        tenant: TenantId,
        mfa: bool,
        scopes: Vec<String>,
    },
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Operator => Actor::Operator,
            Principal::Token { user, .. } => Actor::User(*user),
        }
    }

    /// MFA for the decider's step-up rules. The operator token is itself the
    /// strongest credential of the installation, so it counts as stepped up.
    pub fn mfa(&self) -> bool {
        match self {
            Principal::Operator => true,
            Principal::Token { mfa, .. } => *mfa,
        }
    }

    fn verify(secrets: &Secrets, bearer: &str) -> Result<Principal, ApiError> {
        if !secrets.operator_token.is_empty()
            && bool::from(bearer.as_bytes().ct_eq(secrets.operator_token.as_bytes()))
        {
            return Ok(Principal::Operator);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(
            bearer,
            &DecodingKey::from_secret(secrets.jwt_secret.as_bytes()),
            &validation,
        )
        .map_err(|e| ApiError::unauthorized(format!("the bearer token is not valid: {e}")))?;
        let claims = data.claims;
        let user = claims
            .sub
            .parse()
            .map_err(|_| ApiError::unauthorized("the token's `sub` is not a user id"))?;
        let tenant = claims
            .tid
            .parse()
            .map_err(|_| ApiError::unauthorized("the token's `tid` is not a tenant id"))?;
        Ok(Principal::Token {
            user,
            tenant,
            mfa: claims.amr.iter().any(|a| a == "mfa"),
            scopes: claims
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer credentials"))?;
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not readable"))?;
        let bearer = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("the Authorization scheme must be Bearer"))?;
        Principal::verify(state.secrets(), bearer)
    }
}

/// A caller admitted to one tenant.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    /// Active member effectively holding the team permission (or the operator).
    pub team_admin: bool,
    /// The caller's own member id, when the caller is an active member.
    pub member: Option<UserId>,
}

impl Access {
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }

    pub fn mfa(&self) -> bool {
        self.principal.mfa()
    }

    fn has_scope(&self, scope: &str) -> bool {
        matches!(&self.principal, Principal::Token { scopes, .. } if scopes.iter().any(|s| s == scope))
    }

    /// Team views, audit, access review: the team permission or the operator.
    pub fn require_team_view(&self) -> Result<(), ApiError> {
        if self.team_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "reading the team requires the team permission",
            ))
        }
    }

    /// A member's own view, or the team permission.
    pub fn require_self_or_team(&self, user: UserId) -> Result<(), ApiError> {
        if self.team_admin || self.member == Some(user) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "reading another member requires the team permission",
            ))
        }
    }

    /// The check: a `check`-scoped service token, the team permission or the operator.
    pub fn require_check(&self) -> Result<(), ApiError> {
        if self.team_admin || self.has_scope("check") {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "the check requires a token with scope `check` or the team permission",
            ))
        }
    }

    /// The event stream: an `events`-scoped token or the operator.
    pub fn require_events(&self) -> Result<(), ApiError> {
        if self.principal == Principal::Operator || self.has_scope("events") {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "the event stream requires a token with scope `events`",
            ))
        }
    }

    /// Any caller admitted to the tenant (the catalog is vocabulary, not data).
    pub fn require_member(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Admits a principal to `tenant`, given the tenant's up-to-date Team.
pub fn admit(principal: Principal, tenant: TenantId, team: &Team) -> Result<Access, ApiError> {
    let (user, token_tenant, scopes) = match &principal {
        Principal::Operator => {
            return Ok(Access {
                principal,
                team_admin: true,
                member: None,
            });
        }
        Principal::Token {
            user,
            tenant,
            scopes,
            ..
        } => (*user, *tenant, scopes),
    };
    if token_tenant != tenant {
        return Err(ApiError::forbidden("the token belongs to another tenant"));
    }
    match team.member(user) {
        Some(m) if m.status == MemberStatus::Active => Ok(Access {
            team_admin: team.is_admin(user),
            member: Some(user),
            principal,
        }),
        Some(m) => Err(ApiError::unauthorized(format!(
            "the token's member is {}",
            m.status
        ))),
        // A service token (with a scope) may name an identity that is no member.
        None if !scopes.is_empty() => Ok(Access {
            principal,
            team_admin: false,
            member: None,
        }),
        None => Err(ApiError::unauthorized(
            "the token's member is not on this team",
        )),
    }
}
