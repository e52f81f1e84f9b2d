//! Why the Team refuses a command. Every rule has its own variant carrying the
//! data a caller needs to explain the refusal; none carries a secret.

use chrono::{DateTime, Utc};
use rollcall_events::{Actor, InvitationId, Permission, RoleKey, TenantId, UserId};
use thiserror::Error;

use crate::catalog::CatalogError;
use crate::team::MemberStatus;

/// A domain rejection: the request is understood but the rules forbid it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("tenant not found")]
    TenantNotFound,
    #[error("tenant {tenant_id} already exists")]
    TenantExists { tenant_id: TenantId },
    #[error("only the operator may {action}")]
    OperatorOnly { action: &'static str },
    #[error("{actor} may not manage this team")]
    NotAuthorized { actor: Actor },
    #[error("{actor} may not {action}")]
    Forbidden { actor: Actor, action: &'static str },
    #[error(
        "the change would leave the tenant without an active admin (admins losing access: {})",
        list(admins)
    )]
    LastActiveAdmin { admins: Vec<UserId> },
    #[error(
        "{actor} may not give {user_id} `{permission}` ({reach}): the actor does not hold it that widely itself"
    )]
    Escalation {
        actor: Actor,
        /// The member who would have gained.
        user_id: UserId,
        permission: Permission,
        /// How widely the member would have held it ("scope all, from anywhere").
        reach: String,
    },
    #[error("{actor} may not {action} without `{permission}`")]
    PermissionRequired {
        actor: Actor,
        permission: Permission,
        action: &'static str,
    },
    #[error("{user_id} is an admin; only admins may change admins")]
    OnlyAdminsChangeAdmins { user_id: UserId },
    #[error("external members may hold view actions only; `{permission}` is not one")]
    ExternalViewOnly { permission: Permission },
    #[error("`{permission}` requires `{requires}`, which would not be effective")]
    PrerequisiteMissing {
        permission: Permission,
        requires: Permission,
    },
    #[error("unknown role `{role}`")]
    UnknownRole { role: RoleKey },
    #[error("unknown permission `{permission}`")]
    UnknownPermission { permission: Permission },
    #[error("unknown area `{area}`")]
    UnknownArea { area: String },
    #[error("unknown plan `{plan}`")]
    UnknownPlan { plan: String },
    #[error("member {user_id} not found")]
    UnknownMember { user_id: UserId },
    #[error("invitation {invitation_id} not found")]
    UnknownInvitation { invitation_id: InvitationId },
    #[error("a member may hold one role, not {count}")]
    SingleRole { count: usize },
    #[error("`{permission}` is always on in plan `{plan}` and cannot be denied")]
    AlwaysOn {
        plan: String,
        permission: Permission,
    },
    #[error("`{permission}` is not available in plan `{plan}`")]
    PlanUnavailable {
        plan: String,
        permission: Permission,
    },
    #[error("plan `{plan}` does not allow custom roles")]
    CustomRolesNotAllowed { plan: String },
    #[error("plan `{plan}` allows at most {max} offices, not {requested}")]
    TooManyOffices {
        plan: String,
        max: u32,
        requested: usize,
    },
    #[error("area `{area}` is not scoped")]
    AreaNotScoped { area: String },
    #[error("area `{area}` does not offer scope `{scope}`")]
    ScopeNotOffered { area: String, scope: &'static str },
    #[error("{user_id} holds `{permission}` and so belongs to every office")]
    AllOffices {
        user_id: UserId,
        permission: Permission,
    },
    #[error("`{cidr}` is not a CIDR block")]
    InvalidCidr { cidr: String },
    #[error("{user_id} may not log in from {ip}")]
    NetworkNotAllowed { user_id: UserId, ip: String },
    #[error("{user_id} is {status}")]
    NotActive {
        user_id: UserId,
        status: MemberStatus,
    },
    #[error("{user_id} has not accepted their invitation; access changes only for active members")]
    NotAccepted { user_id: UserId },
    #[error("{user_id} is {status}, not deactivated")]
    NotDeactivated {
        user_id: UserId,
        status: MemberStatus,
    },
    #[error("`{email}` is not a valid email address")]
    InvalidEmail { email: String },
    #[error("`{email}` already belongs to a member")]
    EmailTaken { email: String },
    #[error("user id {user_id} is already in use")]
    UserIdTaken { user_id: UserId },
    #[error("invitation id {invitation_id} is already in use")]
    InvitationIdTaken { invitation_id: InvitationId },
    #[error("this action requires an MFA step-up")]
    MfaRequired,
    #[error("invitation {invitation_id} was canceled")]
    InvitationCanceled { invitation_id: InvitationId },
    #[error("invitation {invitation_id} was already accepted")]
    InvitationUsed { invitation_id: InvitationId },
    #[error("invitation {invitation_id} was resent; only the latest link works")]
    InvitationSuperseded { invitation_id: InvitationId },
    #[error("invitation {invitation_id} expired at {expired_at}")]
    InvitationExpired {
        invitation_id: InvitationId,
        expired_at: DateTime<Utc>,
    },
    #[error("role `{role}` already exists")]
    RoleExists { role: RoleKey },
    #[error("role key `{role}` is not valid (lower-case letters, digits, `_` or `-`)")]
    InvalidRoleKey { role: RoleKey },
    #[error("role `{role}` is built in")]
    BuiltinRole { role: RoleKey },
    #[error("role `{role}` is held by {members} member(s)")]
    RoleInUse { role: RoleKey, members: usize },
    #[error("{user_id} cannot take over records: not another active member")]
    InvalidReassign { user_id: UserId },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than the limit of {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} has more entries than the limit of {max}")]
    TooMany { field: &'static str, max: usize },
    #[error("{field} holds control or bidirectional formatting characters")]
    InvalidText { field: &'static str },
    #[error(
        "an invitation valid for {ttl_hours} hours would expire past the last representable date"
    )]
    InvalidExpiry { ttl_hours: u32 },
    #[error("unknown profile link `{link}`")]
    UnknownProfileLink { link: String },
    #[error("a catalog may not change its key from `{from}` to `{to}`")]
    CatalogKeyChanged { from: String, to: String },
    #[error("invalid catalog: {0}")]
    InvalidCatalog(#[from] CatalogError),
    #[error("nothing would change ({what})")]
    Unchanged { what: &'static str },
}

/// `a, b, c` for messages (ids print as plain uuids, not `UserId(…)`).
fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
