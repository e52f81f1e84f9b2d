//! Who is calling: the operator token or an HS256 JWT, what the token's scope lets
//! it reach, and what the member behind it may do.
//!
//! JWT claims: `sub` (member id), `tid` (tenant), `exp`, `iat` (recommended:
//! required for a member who was ever reactivated), optional `nbf`, `amr`
//! (contains `mfa` after a step-up), `scope` (space-separated) and, when the
//! server is configured with them, `iss` and `aud`.
//!
//! A scope narrows a token, it never widens it:
//!
//! | scope    | reaches                                              |
//! |----------|------------------------------------------------------|
//! | `check`  | the check API                                        |
//! | `read`   | queries and the check                                |
//! | `events` | the event stream                                     |
//! | `admin`  | everything: commands, queries, the check, the stream |
//! | (none)   | everything                                           |
//!
//! Within what its scope reaches, a token has the rights of its member and no
//! more: the team permission to read the team, the audit and the stream or to
//! check anyone; a member may read and check themselves; every command is judged
//! by the decider. A token of tenant A on tenant B's paths is answered 403
//! `forbidden` (never 404), before anything about tenant B is looked up. A token
//! that does not identify an active member — a bad signature, an expired token, a
//! deactivated member, a token issued before the member's reactivation — is
//! answered one generic 401; the reason goes to the log only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rollcall_aggregates::MemberStatus;
use rollcall_events::{Actor, TenantId, UserId};
use rollcall_projections::Admission;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::http::AppState;
use crate::problem::ApiError;

/// Shortest secret accepted for signing tokens, and for the operator token.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest a token may live by default (`exp` − `iat`, or `exp` − now).
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 5;

/// The secrets a gateway runs with. Never logged, never in an answer.
#[derive(Clone)]
pub struct Secrets {
    pub operator_token: String,
    pub jwt_secret: String,
    /// Signs invitation tokens; its own key, so that knowing how member tokens
    /// are signed does not let anyone mint an invitation link.
    pub invite_key: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    /// The key invitation tokens are signed with.
    pub fn invite_key(&self) -> Vec<u8> {
        self.invite_key.clone()
    }
}

/// What a token must carry beyond a valid signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// Longest lifetime accepted.
    pub max_lifetime: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            issuer: None,
            audience: None,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }
}

/// The claims of a Rollcall JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tid: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
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

/// What a minted token says beyond who it is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MintOptions {
    pub scope: Option<String>,
    pub mfa: bool,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Mints a JWT for `user` of `tenant` (the `rollcall token` subcommand and tests).
pub fn mint_jwt(
    jwt_secret: &str,
    tenant: TenantId,
    user: UserId,
    options: &MintOptions,
    ttl: Duration,
) -> Result<String, TokenMintError> {
    let now = now_secs();
    let claims = Claims {
        sub: user.to_string(),
        tid: tenant.to_string(),
        exp: now + ttl.as_secs(),
        iat: Some(now),
        nbf: None,
        iss: options.issuer.clone(),
        aud: options.audience.clone(),
        amr: if options.mfa {
            vec!["pwd".to_owned(), "mfa".to_owned()]
        } else {
            vec!["pwd".to_owned()]
        },
        scope: options.scope.clone(),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(jwt_secret.as_bytes()),
    )?)
}

/// What a route needs a token's scope to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The check API.
    Check,
    /// Queries.
    Read,
    /// The event stream.
    Events,
    /// Commands.
    Admin,
}

impl Need {
    /// The narrowest scope that reaches this.
    pub fn scope(self) -> &'static str {
        match self {
            Need::Check => "check",
            Need::Read => "read",
            Need::Events => "events",
            Need::Admin => "admin",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Need::Check => "the check API",
            Need::Read => "queries",
            Need::Events => "the event stream",
            Need::Admin => "commands",
        }
    }
}

/// The scopes a token was issued with; `None` of them means every scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    /// Bits: check, read, events, admin; `ALL` when the token names none.
    bits: u8,
}

impl Scopes {
    const CHECK: u8 = 1;
    const READ: u8 = 2;
    const EVENTS: u8 = 4;
    const ADMIN: u8 = 8;

    /// Every scope (a token without a `scope` claim, and the operator).
    pub const ALL: Scopes = Scopes { bits: 0xf };

    /// Parses a `scope` claim: absent or blank means every scope; names this
    /// server does not know reach nothing.
    pub fn parse(claim: Option<&str>) -> Scopes {
        let Some(claim) = claim.filter(|c| !c.trim().is_empty()) else {
            return Scopes::ALL;
        };
        let mut bits = 0;
        for name in claim.split_whitespace() {
            bits |= match name {
                "check" => Scopes::CHECK,
                "read" => Scopes::READ,
                "events" => Scopes::EVENTS,
                "admin" => Scopes::ADMIN,
                _ => 0,
            };
        }
        Scopes { bits }
    }

    /// Does a token with these scopes reach what `need` names?
    pub fn reach(self, need: Need) -> bool {
        let reaching = match need {
            Need::Check => Scopes::CHECK | Scopes::READ | Scopes::ADMIN,
            Need::Read => Scopes::READ | Scopes::ADMIN,
            Need::Events => Scopes::EVENTS | Scopes::ADMIN,
            Need::Admin => Scopes::ADMIN,
        };
        self.bits & reaching != 0
    }
}

/// A caller whose credentials were verified (but not yet matched to a tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator,
    Token {
        user: UserId,
        tenant: TenantId,
        mfa: bool,
        scopes: Scopes,
        /// `iat`, when the token says.
        issued_at: Option<u64>,
        /// `exp`.
        expires_at: u64,
    },
}

/// Why a token was not accepted; logged, never answered.
fn refuse(reason: impl std::fmt::Display) -> ApiError {
    tracing::info!(%reason, "request not authenticated");
    ApiError::unauthorized()
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

    /// Has the token expired by now (a stream re-checks this as it runs)?
    pub fn expired(&self) -> bool {
        match self {
            Principal::Operator => false,
            Principal::Token { expires_at, .. } => now_secs() > expires_at + LEEWAY_SECS,
        }
    }

    pub fn verify(
        secrets: &Secrets,
        policy: &TokenPolicy,
        bearer: &str,
    ) -> Result<Principal, ApiError> {
        if !secrets.operator_token.is_empty()
            && bool::from(bearer.as_bytes().ct_eq(secrets.operator_token.as_bytes()))
        {
            return Ok(Principal::Operator);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &policy.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &policy.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(
            bearer,
            &DecodingKey::from_secret(secrets.jwt_secret.as_bytes()),
            &validation,
        )
        .map_err(|e| refuse(format_args!("the bearer token is not valid: {e}")))?;
        let claims = data.claims;
        let now = now_secs();
        if let Some(iat) = claims.iat
            && iat > now + LEEWAY_SECS
        {
            return Err(refuse("the token was issued in the future"));
        }
        let lifetime = claims.exp.saturating_sub(claims.iat.unwrap_or(now));
        if lifetime > policy.max_lifetime.as_secs() {
            return Err(refuse(format_args!(
                "the token lives {lifetime} s, longer than the {} s allowed",
                policy.max_lifetime.as_secs()
            )));
        }
        let user = claims
            .sub
            .parse()
            .map_err(|_| refuse("the token's `sub` is not a user id"))?;
        let tenant = claims
            .tid
            .parse()
            .map_err(|_| refuse("the token's `tid` is not a tenant id"))?;
        Ok(Principal::Token {
            user,
            tenant,
            mfa: claims.amr.iter().any(|a| a == "mfa"),
            scopes: Scopes::parse(claims.scope.as_deref()),
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }

    /// The bearer credentials of a request.
    pub fn from_headers(
        headers: &axum::http::HeaderMap,
        secrets: &Secrets,
        policy: &TokenPolicy,
        verified: &VerifiedTokens,
    ) -> Result<Principal, ApiError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| refuse("missing Authorization: Bearer credentials"))?;
        let value = value
            .to_str()
            .map_err(|_| refuse("the Authorization header is not readable"))?;
        let bearer = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refuse("the Authorization scheme is not Bearer"))?;
        verified.verify(secrets, policy, bearer)
    }
}

/// Most tokens [`VerifiedTokens`] remembers; past it the least useful are forgotten.
pub const VERIFIED_TOKENS_MAX: usize = 10_000;

/// The member tokens this gateway verified, with what each proved. Checking an
/// HS256 signature and parsing the claims cost more than the rest of a check; the
/// same bytes under the same key and policy verify the same way every time, so a
/// token's verification holds until it expires, and expiry is checked on every
/// use. What the token's member may do is not remembered here: admission reads
/// the member's status and token watermark from the read side on every request.
/// One gateway's state is one key and one policy, so the cache lives beside them.
pub struct VerifiedTokens(quick_cache::sync::Cache<Box<str>, Principal>);

impl VerifiedTokens {
    pub fn new() -> VerifiedTokens {
        VerifiedTokens(quick_cache::sync::Cache::new(VERIFIED_TOKENS_MAX))
    }

    /// [`Principal::verify`], answered from memory for a token verified before.
    /// The operator token is never remembered: it is compared in constant time
    /// on every request.
    pub fn verify(
        &self,
        secrets: &Secrets,
        policy: &TokenPolicy,
        bearer: &str,
    ) -> Result<Principal, ApiError> {
        if let Some(principal) = self.0.get(bearer) {
            if principal.expired() {
                self.0.remove(bearer);
                return Err(refuse("the token has expired"));
            }
            return Ok(principal);
        }
        let principal = Principal::verify(secrets, policy, bearer)?;
        if principal != Principal::Operator {
            self.0.insert(bearer.into(), principal.clone());
        }
        Ok(principal)
    }
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        VerifiedTokens::new()
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Principal::from_headers(
            &parts.headers,
            state.secrets(),
            state.token_policy(),
            state.verified_tokens(),
        )
    }
}

/// A caller admitted to one tenant.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    /// Active member effectively holding the team permission (or the operator).
    pub team_admin: bool,
    /// The caller's own member id (none for the operator).
    pub member: Option<UserId>,
}

impl Access {
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }

    pub fn mfa(&self) -> bool {
        self.principal.mfa()
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

    /// The check about `subject`: oneself, or anyone with the team permission.
    pub fn require_check(&self, subject: UserId) -> Result<(), ApiError> {
        if self.team_admin || self.member == Some(subject) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "checking another member requires the team permission",
            ))
        }
    }

    /// The event stream carries the whole team's changes: the team permission.
    pub fn require_events(&self) -> Result<(), ApiError> {
        if self.team_admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "the event stream requires the team permission",
            ))
        }
    }
}

/// The first half of admission, before anything about the tenant is looked up:
/// the token belongs to this tenant, and its scope reaches what the route needs.
pub fn screen(principal: &Principal, tenant: TenantId, need: Need) -> Result<(), ApiError> {
    let Principal::Token {
        tenant: token_tenant,
        scopes,
        ..
    } = principal
    else {
        return Ok(());
    };
    if *token_tenant != tenant {
        return Err(ApiError::forbidden("the token belongs to another tenant"));
    }
    if !scopes.reach(need) {
        return Err(ApiError::forbidden(format!(
            "this token's scope does not reach {}; that needs scope `{}` (or `admin`)",
            need.what(),
            need.scope()
        ))
        .with("required_scope", need.scope()));
    }
    Ok(())
}

/// Admits a screened principal, given what the read side knows of its member
/// (`None`: no such member, or no such tenant).
pub fn admit(principal: Principal, member: Option<Admission>) -> Result<Access, ApiError> {
    let (user, issued_at) = match &principal {
        Principal::Operator => {
            return Ok(Access {
                principal,
                team_admin: true,
                member: None,
            });
        }
        Principal::Token {
            user, issued_at, ..
        } => (*user, *issued_at),
    };
    let Some(member) = member else {
        return Err(refuse("the token's member is not on this team"));
    };
    if member.status != MemberStatus::Active {
        return Err(refuse(format_args!(
            "the token's member is {}",
            member.status
        )));
    }
    if let Some(since) = member.tokens_since
        && issued_at.is_none_or(|iat| i128::from(iat) < i128::from(since))
    {
        return Err(refuse(
            "the token was issued before the member's reactivation",
        ));
    }
    Ok(Access {
        team_admin: member.admin,
        member: Some(user),
        principal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_narrow_and_admin_or_none_reaches_everything() {
        let none = Scopes::parse(None);
        let blank = Scopes::parse(Some("  "));
        let check = Scopes::parse(Some("check"));
        let read = Scopes::parse(Some("read"));
        let events = Scopes::parse(Some("events"));
        let admin = Scopes::parse(Some("admin"));
        let both = Scopes::parse(Some("check events"));
        let unknown = Scopes::parse(Some("superuser"));
        for need in [Need::Check, Need::Read, Need::Events, Need::Admin] {
            assert!(none.reach(need) && blank.reach(need) && admin.reach(need));
            assert!(!unknown.reach(need));
        }
        assert!(check.reach(Need::Check) && !check.reach(Need::Read));
        assert!(!check.reach(Need::Events) && !check.reach(Need::Admin));
        assert!(read.reach(Need::Check) && read.reach(Need::Read));
        assert!(!read.reach(Need::Events) && !read.reach(Need::Admin));
        assert!(events.reach(Need::Events) && !events.reach(Need::Check));
        assert!(!events.reach(Need::Admin));
        assert!(both.reach(Need::Check) && both.reach(Need::Events) && !both.reach(Need::Admin));
    }

    fn secrets() -> Secrets {
        Secrets {
            operator_token: "o".repeat(MIN_SECRET_BYTES),
            jwt_secret: "k".repeat(MIN_SECRET_BYTES),
            invite_key: vec![7; MIN_SECRET_BYTES],
        }
    }

    fn token(secrets: &Secrets, ttl: Duration) -> String {
        let minted = mint_jwt(
            &secrets.jwt_secret,
            TenantId::from_u128(1),
            UserId::from_u128(2),
            &MintOptions::default(),
            ttl,
        );
        minted.unwrap_or_else(|e| panic!("cannot mint: {e}"))
    }

    #[test]
    fn a_remembered_token_proves_what_it_proved_and_a_forged_one_is_still_checked() {
        let secrets = secrets();
        let policy = TokenPolicy::default();
        let verified = VerifiedTokens::new();
        let bearer = token(&secrets, Duration::from_secs(600));
        let first = verified.verify(&secrets, &policy, &bearer);
        assert_eq!(first, Principal::verify(&secrets, &policy, &bearer));
        assert!(matches!(first, Ok(Principal::Token { .. })));
        assert_eq!(verified.0.len(), 1);
        assert_eq!(verified.verify(&secrets, &policy, &bearer), first);

        // The same claims under another signature are other bytes: verified anew.
        let (signed, signature) = bearer.rsplit_once('.').unwrap_or_else(|| panic!("a JWT"));
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        let forged = format!("{signed}.{flipped}{}", &signature[1..]);
        assert!(verified.verify(&secrets, &policy, &forged).is_err());
        assert_eq!(verified.0.len(), 1);

        // The operator token is compared every time, never remembered.
        let operator = verified.verify(&secrets, &policy, &secrets.operator_token);
        assert_eq!(operator, Ok(Principal::Operator));
        assert_eq!(verified.0.len(), 1);
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_has_expired() {
        let secrets = secrets();
        let policy = TokenPolicy::default();
        let verified = VerifiedTokens::new();
        let bearer = token(&secrets, Duration::from_secs(600));
        let Ok(Principal::Token {
            user,
            tenant,
            mfa,
            scopes,
            issued_at,
            ..
        }) = verified.verify(&secrets, &policy, &bearer)
        else {
            panic!("the token verifies")
        };
        // What the cache would hold once the token's time has passed.
        let lapsed = now_secs() - LEEWAY_SECS - 1;
        verified.0.insert(
            bearer.as_str().into(),
            Principal::Token {
                user,
                tenant,
                mfa,
                scopes,
                issued_at,
                expires_at: lapsed,
            },
        );
        assert!(verified.verify(&secrets, &policy, &bearer).is_err());
        assert_eq!(verified.0.len(), 0, "an expired token is forgotten");
    }
}
