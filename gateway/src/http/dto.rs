//! Request bodies, query strings and the command answer of the HTTP API. Bodies
//! refuse unknown fields, so a typo is a 422 naming the field, not a silent no-op.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{EventId, InvitationId, MemberKind, TenantId, Toggle, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerRequest {
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantRequest {
    pub name: String,
    /// A seed catalog's name (`jtek`, `jetbuilt`, `jobtracker`, `jethub`) or a
    /// catalog document.
    #[schema(value_type = Object)]
    pub catalog: Value,
    /// The catalog's default plan when absent.
    pub plan: Option<String>,
    pub owner: OwnerRequest,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub plan: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    pub key: String,
    pub label: String,
    pub grants: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleRequest {
    pub label: String,
    pub grants: Vec<String>,
    pub reason: Option<String>,
}

/// A field the document declares nullable: `null` is its default.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The values of a permission toggle, as the document names them (the domain's
/// `Toggle` is what the body is read into).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToggleState {
    Allow,
    Deny,
    Inherit,
}

/// The scopes of an area, as the document names them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    All,
    Assigned,
    Offices,
}

/// The statuses a team list filters on, as the document names them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    Invited,
    Active,
    Deactivated,
    Canceled,
}

/// The kinds of member, as the document names them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindName {
    Member,
    External,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub display_name: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Permission -> `allow` | `deny`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub permissions: BTreeMap<String, Toggle>,
    /// `member` (default) or `external`; `null` is the default.
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(value_type = Option<KindName>)]
    pub kind: MemberKind,
    pub reason: Option<String>,
}

/// Commands that carry nothing but an optional reason; the body may be empty.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The token from the invitation link.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    pub roles: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToggleRequest {
    #[schema(value_type = ToggleState)]
    pub state: Toggle,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequest {
    #[schema(value_type = ScopeName)]
    pub scope: Scope,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficesRequest {
    pub offices: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworksRequest {
    /// CIDR blocks; empty means anywhere.
    pub cidrs: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    pub reason: Option<String>,
    /// Active member who takes over the deactivated member's records.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub reassign_to: Option<UserId>,
}

/// Profile fields to change; an absent field is left as it is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    pub display_name: Option<String>,
    /// The member must change their password at the next login.
    pub must_change_password: Option<bool>,
    /// Links named by the catalog's `profile_links` (JobTracker: assignee,
    /// salesperson) to the product's own records; replaces every link.
    pub links: Option<BTreeMap<String, String>>,
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(value_type = Option<String>)]
    pub source_ip: Option<IpAddr>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub owner_id: Option<UserId>,
    pub office_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    pub permission: String,
    #[serde(default)]
    pub resource: ResourceRequest,
    #[schema(value_type = Option<String>)]
    pub source_ip: Option<IpAddr>,
}

/// How fresh a read must be: `full` reads at the log's head (one round trip to
/// the log); absent, the read side answers as it is (its position is in
/// `X-Rollcall-Position`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    Full,
}

/// `min_position`: wait (bounded) until the read side has folded this position.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MinPosition {
    pub min_position: Option<u64>,
    /// `full`: wait until the read side reached the log's head.
    pub consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// `invited`, `active`, `deactivated` or `canceled`.
    #[param(value_type = Option<StatusName>)]
    pub status: Option<String>,
    pub min_position: Option<u64>,
    /// `full`: wait until the read side reached the log's head.
    pub consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries about this member.
    #[param(value_type = Option<String>, format = Uuid)]
    pub user: Option<UserId>,
    /// Entries caused by this actor (a user id or `operator`).
    pub actor: Option<String>,
    /// A stored event type, e.g. `user.roles_changed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// RFC 3339; entries at or after.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; entries before.
    pub to: Option<DateTime<Utc>>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// At most 1000; default 100.
    pub limit: Option<usize>,
    pub min_position: Option<u64>,
    /// `full`: wait until the read side reached the log's head.
    pub consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// RFC 3339 instant; now when absent.
    pub at: Option<DateTime<Utc>>,
    pub min_position: Option<u64>,
    /// `full`: wait until the read side reached the log's head.
    pub consistency: Option<Consistency>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Start at this position (ignored when `Last-Event-ID` is sent).
    pub from_position: Option<u64>,
}

/// The answer to every command: where its event landed, plus what it created.
#[derive(Debug, Clone, PartialEq, Default, Serialize, ToSchema)]
pub struct CommandAnswer {
    /// Log position of the event (or, when `unchanged`, the tenant's current one).
    pub position: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub event_id: Option<EventId>,
    /// True when nothing would change: no event was written.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unchanged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant_id: Option<TenantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub owner_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub invitation_id: Option<InvitationId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A problem answer (RFC 9457); extra members may be present.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `https://rollcall.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub position: u64,
    pub head: Option<u64>,
}

/// The answer of `POST /check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    pub reason: String,
    /// Why the permission is held (empty when denied).
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<rollcall_aggregates::Source>,
    /// Position of the read side the answer was computed at.
    pub position: u64,
    /// `no-grant`, `overridden`, `scope-excluded`, `network-not-allowed`,
    /// `network-unknown`, `not-active`, `unknown-user`, `unknown-permission`, when
    /// denied.
    pub denial: Option<String>,
    /// The scope that applied, for scoped areas.
    pub scope: Option<String>,
}
