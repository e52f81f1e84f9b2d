//! The one error type of the HTTP API. Every failure — a domain rejection, a bad
//! request the extractors refused, missing credentials, an unavailable log — ends
//! here and leaves as `application/problem+json` with a stable `type` slug.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rollcall_aggregates::DomainError;
use serde_json::{Map, Value, json};

use crate::service::ServiceError;

/// Prefix of every problem `type`; the last path segment is the stable slug.
pub const PROBLEM_BASE: &str = "https://rollcall.dev/problems/";
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client is asked to wait before retrying a 503.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub slug: &'static str,
    pub detail: String,
    /// Extra members of the problem object (`permission`, `requires`, …).
    pub extra: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            slug,
            detail: detail.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// The one answer for every request whose credentials do not identify an
    /// active member: the same words whatever the reason, so an answer tells a
    /// caller nothing about a token or a membership (the reason is logged).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the request needs valid credentials of an active member or the operator",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// A request that is malformed (400) or well-formed but invalid (422).
    pub fn validation(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError::new(status, "validation", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        e.retry_after = Some(RETRY_AFTER_SECS);
        e
    }

    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// The problem for an HTTP status with no more specific story (used to turn
    /// bodiless framework answers such as 405 or 408 into problems).
    pub fn from_status(status: StatusCode) -> ApiError {
        let slug = match status.as_u16() {
            400 | 422 => "validation",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not-found",
            405 => "method-not-allowed",
            408 => "timeout",
            409 => "conflict",
            413 => "payload-too-large",
            415 => "unsupported-media-type",
            503 => "unavailable",
            501 => "not-implemented",
            s if s >= 500 => "internal",
            _ => "bad-request",
        };
        let mut e = ApiError::new(
            status,
            slug,
            status.canonical_reason().unwrap_or("error").to_owned(),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            e.retry_after = Some(RETRY_AFTER_SECS);
        }
        e
    }

    fn title(&self) -> String {
        match title(self.slug) {
            Some(t) => t.to_owned(),
            None => {
                let words = self.slug.replace('-', " ");
                let mut chars = words.chars();
                match chars.next() {
                    Some(c) => c.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
        }
    }

    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), json!(format!("{PROBLEM_BASE}{}", self.slug)));
        body.insert("title".into(), json!(self.title()));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        for (k, v) in &self.extra {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }
}

/// The title of every slug the API answers with: short, in plain words, the same
/// for every problem of that slug (the `detail` says what happened this time).
pub fn title(slug: &str) -> Option<&'static str> {
    Some(match slug {
        // The domain's rules (`DomainError::slug`).
        "not-found" => "Not found",
        "conflict" => "Conflict",
        "forbidden" => "Forbidden",
        "last-admin" => "Last admin",
        "escalation" => "Escalation",
        "only-admins-change-admins" => "Only admins change admins",
        "external-view-only" => "External members may only view",
        "prerequisite-missing" => "Prerequisite missing",
        "unknown-role" => "Unknown role",
        "unknown-permission" => "Unknown permission",
        "unknown-area" => "Unknown area",
        "unknown-plan" => "Unknown plan",
        "single-role" => "One role only",
        "plan-restriction" => "Not on this plan",
        "all-offices" => "All offices",
        "network-not-allowed" => "Network not allowed",
        "email-taken" => "Email taken",
        "mfa-required" => "MFA required",
        "invitation-canceled" => "Invitation canceled",
        "invitation-used" => "Invitation already used",
        "invitation-superseded" => "Invitation superseded",
        "invitation-expired" => "Invitation expired",
        "builtin-role" => "Built-in role",
        "role-in-use" => "Role in use",
        "invalid-catalog" => "Invalid catalog",
        "unchanged" => "Unchanged",
        "validation" => "Validation",
        // The gateway's own.
        "unauthorized" => "Unauthorized",
        "invalid-token" => "Invalid invitation token",
        "idempotency-key-reused" => "Idempotency key reused",
        "method-not-allowed" => "Method not allowed",
        "payload-too-large" => "Payload too large",
        "unsupported-media-type" => "Unsupported media type",
        "timeout" => "Timeout",
        "unavailable" => "Unavailable",
        "outcome-unknown" => "Outcome unknown",
        "not-implemented" => "Not implemented",
        "internal" => "Internal error",
        "bad-request" => "Bad request",
        "rate-limited" => "Too many requests",
        "too-many-streams" => "Too many streams",
        "position-ahead" => "Position ahead of the log",
        _ => return None,
    })
}

/// `cause` said once: without the prefix the log's own error adds, and without a
/// link of an error chain that only repeats the link before it (client libraries
/// nest "timed out: request timed out").
fn once(cause: &str) -> String {
    let cause = cause
        .strip_prefix("the event log is unavailable: ")
        .or_else(|| cause.strip_prefix("the event log did not confirm the append: "))
        .unwrap_or(cause);
    let mut links: Vec<&str> = Vec::new();
    for link in cause.split(": ") {
        let repeats = links
            .last()
            .is_some_and(|last| link.contains(last) || last.contains(link));
        if !repeats {
            links.push(link);
        }
    }
    links.join(": ")
}

/// The 503 of a log that cannot be reached, its cause said once.
pub fn log_unavailable(cause: &str) -> ApiError {
    ApiError::unavailable(format!("the event log is unavailable ({})", once(cause)))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // An unavailable log is an outage the gateway rides out (the client is told
        // to retry): a warning. Any other server error is a fault: an error.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(status = 503, slug = self.slug, detail = %self.detail, "request deferred");
        } else if self.status.is_server_error() {
            tracing::error!(status = self.status.as_u16(), slug = self.slug, detail = %self.detail, "request failed");
        }
        let bytes = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The stable slug of a domain rejection's problem type: the variants a client
/// tells apart by name; the rest share `validation`, `conflict`, `forbidden` or
/// `not-found`.
pub fn slug_of(e: &DomainError) -> &'static str {
    use DomainError::*;
    match e {
        TenantNotFound | UnknownMember { .. } | UnknownInvitation { .. } => "not-found",
        TenantExists { .. }
        | UserIdTaken { .. }
        | InvitationIdTaken { .. }
        | RoleExists { .. }
        | NotActive { .. }
        | NotAccepted { .. }
        | NotDeactivated { .. } => "conflict",
        OperatorOnly { .. }
        | NotAuthorized { .. }
        | Forbidden { .. }
        | PermissionRequired { .. } => "forbidden",
        LastActiveAdmin { .. } => "last-admin",
        Escalation { .. } => "escalation",
        OnlyAdminsChangeAdmins { .. } => "only-admins-change-admins",
        ExternalViewOnly { .. } => "external-view-only",
        PrerequisiteMissing { .. } => "prerequisite-missing",
        UnknownRole { .. } => "unknown-role",
        UnknownPermission { .. } => "unknown-permission",
        UnknownArea { .. } => "unknown-area",
        UnknownPlan { .. } => "unknown-plan",
        SingleRole { .. } => "single-role",
        AlwaysOn { .. }
        | PlanUnavailable { .. }
        | CustomRolesNotAllowed { .. }
        | TooManyOffices { .. } => "plan-restriction",
        AllOffices { .. } => "all-offices",
        NetworkNotAllowed { .. } => "network-not-allowed",
        EmailTaken { .. } => "email-taken",
        MfaRequired => "mfa-required",
        InvitationCanceled { .. } => "invitation-canceled",
        InvitationUsed { .. } => "invitation-used",
        InvitationSuperseded { .. } => "invitation-superseded",
        InvitationExpired { .. } => "invitation-expired",
        BuiltinRole { .. } => "builtin-role",
        RoleInUse { .. } => "role-in-use",
        InvalidCatalog(_) => "invalid-catalog",
        Unchanged { .. } => "unchanged",
        AreaNotScoped { .. }
        | ScopeNotOffered { .. }
        | InvalidCidr { .. }
        | InvalidEmail { .. }
        | InvalidRoleKey { .. }
        | InvalidReassign { .. }
        | Empty { .. }
        | TooLong { .. }
        | TooMany { .. }
        | InvalidText { .. }
        | InvalidExpiry { .. }
        | UnknownProfileLink { .. }
        | CatalogKeyChanged { .. } => "validation",
    }
}

/// The HTTP status of a domain rejection, by its slug: who may not (403), what
/// is not there (404), what clashes with the state (409), what is gone (410),
/// and everything else the request got wrong (422).
pub fn status_of(e: &DomainError) -> StatusCode {
    match slug_of(e) {
        "not-found" => StatusCode::NOT_FOUND,
        "forbidden"
        | "escalation"
        | "only-admins-change-admins"
        | "mfa-required"
        | "network-not-allowed" => StatusCode::FORBIDDEN,
        "conflict" | "email-taken" | "role-in-use" | "last-admin" | "unchanged"
        | "invitation-used" => StatusCode::CONFLICT,
        "invitation-expired" | "invitation-canceled" | "invitation-superseded" => StatusCode::GONE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> ApiError {
        let mut problem = ApiError::new(status_of(&e), slug_of(&e), e.to_string());
        match &e {
            DomainError::Escalation {
                permission,
                user_id,
                reach,
                ..
            } => {
                problem = problem
                    .with("permission", permission.to_string())
                    .with("user_id", user_id.to_string())
                    .with("reach", reach.clone());
            }
            DomainError::PermissionRequired { permission, .. }
            | DomainError::UnknownPermission { permission }
            | DomainError::ExternalViewOnly { permission }
            | DomainError::AllOffices { permission, .. } => {
                problem = problem.with("permission", permission.to_string());
            }
            DomainError::PrerequisiteMissing {
                permission,
                requires,
            } => {
                problem = problem
                    .with("permission", permission.to_string())
                    .with("requires", requires.to_string());
            }
            DomainError::AlwaysOn { plan, permission }
            | DomainError::PlanUnavailable { plan, permission } => {
                problem = problem
                    .with("plan", plan.clone())
                    .with("permission", permission.to_string());
            }
            DomainError::UnknownRole { role }
            | DomainError::BuiltinRole { role }
            | DomainError::RoleExists { role } => {
                problem = problem.with("role", role.to_string());
            }
            DomainError::RoleInUse { role, members } => {
                problem = problem
                    .with("role", role.to_string())
                    .with("members", *members);
            }
            DomainError::LastActiveAdmin { admins } => {
                let ids: Vec<String> = admins.iter().map(|a| a.to_string()).collect();
                problem = problem.with("admins", ids);
            }
            DomainError::InvitationExpired { expired_at, .. } => {
                problem = problem.with("expired_at", expired_at.to_rfc3339());
            }
            _ => {}
        }
        problem
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Rejected(d) => d.into(),
            ServiceError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "this Idempotency-Key was already used for a different request",
            ),
            ServiceError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the team changed concurrently too many times; retry the request",
            ),
            ServiceError::Unavailable(m) => {
                let mut problem = log_unavailable(&m);
                problem.detail.push_str("; nothing was written");
                problem
            }
            ServiceError::OutcomeUnknown(m) => {
                let mut problem = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "outcome-unknown",
                    format!(
                        "the event log did not confirm the append ({}); it may have been \
                         written: retry with the same Idempotency-Key, which never appends twice",
                        once(&m)
                    ),
                );
                problem.retry_after = Some(RETRY_AFTER_SECS);
                problem
            }
            ServiceError::Store(m) => ApiError::internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rollcall_aggregates::testing::*;
    use rollcall_aggregates::{CatalogError, MemberStatus};
    use rollcall_events::Actor;

    #[test]
    fn errors_have_stable_slugs_and_statuses() {
        let id = invitation_of(user(2));
        let cases: Vec<(DomainError, &str, u16)> = vec![
            (DomainError::TenantNotFound, "not-found", 404),
            (
                DomainError::LastActiveAdmin {
                    admins: vec![OWNER],
                },
                "last-admin",
                409,
            ),
            (
                DomainError::Escalation {
                    actor: Actor::User(user(2)),
                    user_id: user(3),
                    permission: "billing.view".into(),
                    reach: "scope all, from anywhere".into(),
                },
                "escalation",
                403,
            ),
            (
                DomainError::PrerequisiteMissing {
                    permission: "projects.edit".into(),
                    requires: "projects.view".into(),
                },
                "prerequisite-missing",
                422,
            ),
            (
                DomainError::InvitationExpired {
                    invitation_id: id,
                    expired_at: t0(),
                },
                "invitation-expired",
                410,
            ),
            (
                DomainError::InvitationCanceled { invitation_id: id },
                "invitation-canceled",
                410,
            ),
            (
                DomainError::InvitationUsed { invitation_id: id },
                "invitation-used",
                409,
            ),
            (
                DomainError::InvitationSuperseded { invitation_id: id },
                "invitation-superseded",
                410,
            ),
            (
                DomainError::NotAuthorized {
                    actor: Actor::User(user(2)),
                },
                "forbidden",
                403,
            ),
            (
                DomainError::InvalidCidr { cidr: "x".into() },
                "validation",
                422,
            ),
            (DomainError::MfaRequired, "mfa-required", 403),
            (
                DomainError::EmailTaken {
                    email: "a@b.c".into(),
                },
                "email-taken",
                409,
            ),
            (
                DomainError::RoleInUse {
                    role: "user".into(),
                    members: 2,
                },
                "role-in-use",
                409,
            ),
            (DomainError::Unchanged { what: "roles" }, "unchanged", 409),
            (
                DomainError::TooManyOffices {
                    plan: "lite".into(),
                    max: 1,
                    requested: 2,
                },
                "plan-restriction",
                422,
            ),
            (
                DomainError::ExternalViewOnly {
                    permission: "contacts.edit".into(),
                },
                "external-view-only",
                422,
            ),
            (
                DomainError::OnlyAdminsChangeAdmins { user_id: OWNER },
                "only-admins-change-admins",
                403,
            ),
            (
                DomainError::NetworkNotAllowed {
                    user_id: user(2),
                    ip: "192.0.2.1".into(),
                },
                "network-not-allowed",
                403,
            ),
            (
                DomainError::NotActive {
                    user_id: user(2),
                    status: MemberStatus::Deactivated,
                },
                "conflict",
                409,
            ),
            (
                DomainError::UnknownRole { role: "x".into() },
                "unknown-role",
                422,
            ),
            (
                DomainError::InvalidCatalog(CatalogError::NoPlans),
                "invalid-catalog",
                422,
            ),
        ];
        for (err, slug, status) in cases {
            assert_eq!(
                (slug_of(&err), status_of(&err).as_u16()),
                (slug, status),
                "{err}"
            );
        }
    }

    #[test]
    fn every_slug_has_a_written_title() {
        let slugs = [
            "not-found",
            "conflict",
            "forbidden",
            "last-admin",
            "escalation",
            "only-admins-change-admins",
            "external-view-only",
            "prerequisite-missing",
            "unknown-role",
            "unknown-permission",
            "unknown-area",
            "unknown-plan",
            "single-role",
            "plan-restriction",
            "all-offices",
            "network-not-allowed",
            "email-taken",
            "mfa-required",
            "invitation-canceled",
            "invitation-used",
            "invitation-superseded",
            "invitation-expired",
            "builtin-role",
            "role-in-use",
            "invalid-catalog",
            "unchanged",
            "validation",
            "unauthorized",
            "invalid-token",
            "idempotency-key-reused",
            "method-not-allowed",
            "payload-too-large",
            "unsupported-media-type",
            "timeout",
            "unavailable",
            "outcome-unknown",
            "not-implemented",
            "internal",
            "bad-request",
            "rate-limited",
            "too-many-streams",
        ];
        for slug in slugs {
            assert!(title(slug).is_some(), "no title for {slug}");
        }
        let problem = ApiError::from(DomainError::MfaRequired);
        assert_eq!(problem.body()["title"], "MFA required");
    }

    #[test]
    fn an_unavailable_log_is_named_once() {
        let problem = ApiError::from(ServiceError::Unavailable(
            "stream info: timed out: request timed out: deadline has elapsed".to_owned(),
        ));
        assert_eq!(
            problem.detail,
            "the event log is unavailable (stream info: timed out: deadline has elapsed); \
             nothing was written"
        );
        let read = log_unavailable("the event log is unavailable: stream info: timed out");
        assert_eq!(
            read.detail,
            "the event log is unavailable (stream info: timed out)"
        );
    }
}
