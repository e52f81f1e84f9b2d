//! The Team's state, as `evolve` builds it from events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rollcall_events::catalog::Scope;
use rollcall_events::{
    Actor, GENESIS_HASH, InvitationId, MemberKind, OfficeId, Permission, Profile, RoleKey,
    TenantId, Toggle, UserId,
};
use serde::{Deserialize, Serialize};

use crate::access::resolve_set;
use crate::catalog::Catalog;

/// The aggregate. `Default` is the empty team before `tenant.created`.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// `None` until `tenant.created`.
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub catalog: Option<Arc<Catalog>>,
    pub catalog_version: u32,
    pub plan: String,
    /// Built-in roles (from the catalog) and the tenant's custom roles.
    pub roles: BTreeMap<RoleKey, Role>,
    /// Shared, so a snapshot of the team (the read side's index) holds the same
    /// members without copying them; `evolve` copies only a member it changes
    /// while someone else still holds it.
    pub members: BTreeMap<UserId, Arc<Member>>,
    /// Of the last event folded.
    pub tenant_seq: u64,
    /// Hash of the last event folded (`GENESIS_HASH` when none).
    pub head_hash: String,
    /// Log position of the last event folded.
    pub position: u64,
    /// Derived from `members`, so the decider finds a member by email or by
    /// invitation without scanning the team.
    lookup: Lookup,
}

/// Indexes over the members, kept by `evolve` (and rebuilt by [`Team::from`]
/// [`TeamParts`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Lookup {
    /// Normalised email → the member holding it (canceled invitees free theirs).
    pub emails: HashMap<String, UserId>,
    pub invitations: HashMap<InvitationId, UserId>,
}

impl Lookup {
    pub fn of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Lookup {
        let mut lookup = Lookup::default();
        for m in members {
            lookup.add(m);
        }
        lookup
    }

    /// Indexes `m` as it is now.
    pub fn add(&mut self, m: &Member) {
        if m.status != MemberStatus::Canceled {
            self.emails.insert(m.email.clone(), m.user_id);
        }
        if let Some(inv) = &m.invitation {
            self.invitations.insert(inv.id, m.user_id);
        }
    }

    /// Forgets `m`'s email if it still points at `m`.
    pub fn release_email(&mut self, m: &Member) {
        if self.emails.get(&m.email) == Some(&m.user_id) {
            self.emails.remove(&m.email);
        }
    }
}

/// Every stored field of a [`Team`], for rebuilding one from a snapshot or a
/// projection without replaying the log.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamParts {
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub catalog: Option<Arc<Catalog>>,
    pub catalog_version: u32,
    pub plan: String,
    pub roles: BTreeMap<RoleKey, Role>,
    pub members: BTreeMap<UserId, Arc<Member>>,
    pub tenant_seq: u64,
    pub head_hash: String,
    pub position: u64,
}

impl From<TeamParts> for Team {
    fn from(p: TeamParts) -> Team {
        Team {
            lookup: Lookup::of(p.members.values().map(|m| &**m)),
            tenant_id: p.tenant_id,
            name: p.name,
            catalog: p.catalog,
            catalog_version: p.catalog_version,
            plan: p.plan,
            roles: p.roles,
            members: p.members,
            tenant_seq: p.tenant_seq,
            head_hash: p.head_hash,
            position: p.position,
        }
    }
}

/// A role: a named bundle of grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub key: RoleKey,
    pub label: String,
    pub description: String,
    /// Permissions or patterns.
    pub grants: Vec<Permission>,
    pub except: Vec<Permission>,
    pub builtin: bool,
}

/// Lifecycle of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Invited,
    Active,
    Deactivated,
    Canceled,
}

impl MemberStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            MemberStatus::Invited => "invited",
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
            MemberStatus::Canceled => "canceled",
        }
    }
}

impl std::fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A per-user allow or deny, with who set it and when, so an explanation can name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// `Allow` or `Deny`; `Inherit` is never stored.
    pub state: Toggle,
    pub by: Actor,
    pub at: DateTime<Utc>,
    pub position: u64,
    pub reason: Option<String>,
}

/// The member's current invitation. Only the nonce of the latest send is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub nonce: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
}

/// A user in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: UserId,
    /// Normalised (trimmed, lower-case).
    pub email: String,
    pub profile: Profile,
    pub kind: MemberKind,
    pub status: MemberStatus,
    pub roles: Vec<RoleKey>,
    /// Only `Allow`/`Deny` are stored; `Inherit` removes the entry.
    pub overrides: BTreeMap<Permission, Override>,
    /// Explicitly set scopes; an absent area has the area's default.
    pub scopes: BTreeMap<String, Scope>,
    pub offices: Vec<OfficeId>,
    /// Allowed CIDR blocks; empty means anywhere.
    pub networks: Vec<String>,
    pub invitation: Option<Invitation>,
    pub invited_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub reassign_to: Option<UserId>,
    /// When the member was last reactivated: credentials issued before it stay
    /// dead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactivated_at: Option<DateTime<Utc>>,
}

impl Default for Team {
    fn default() -> Self {
        Team {
            tenant_id: None,
            name: String::new(),
            catalog: None,
            catalog_version: 0,
            plan: String::new(),
            roles: BTreeMap::new(),
            members: BTreeMap::new(),
            tenant_seq: 0,
            head_hash: GENESIS_HASH.to_owned(),
            position: 0,
            lookup: Lookup::default(),
        }
    }
}

impl Team {
    /// Folds a tenant's history from empty: the state `decide` needs, and the
    /// state as of any point when the history is cut there.
    pub fn replay<'a>(envelopes: impl IntoIterator<Item = &'a rollcall_events::Envelope>) -> Team {
        envelopes
            .into_iter()
            .fold(Team::default(), crate::team::evolve)
    }

    pub fn catalog(&self) -> Option<&Catalog> {
        self.catalog.as_deref()
    }

    pub fn member(&self, id: UserId) -> Option<&Member> {
        self.members.get(&id).map(|m| &**m)
    }

    /// The member with this email (normalised first); canceled invitations free
    /// their email, so they are ignored.
    pub fn member_by_email(&self, email: &str) -> Option<&Member> {
        let id = self.lookup.emails.get(&normalise_email(email))?;
        self.members.get(id).map(|m| &**m)
    }

    /// The member an invitation was sent to.
    pub fn invitee(&self, invitation: InvitationId) -> Option<&Member> {
        let id = self.lookup.invitations.get(&invitation)?;
        self.members.get(id).map(|m| &**m)
    }

    /// What access in this team is resolved against, once there is a catalog.
    pub fn vocabulary(&self) -> Option<Vocabulary<'_>> {
        Some(Vocabulary {
            catalog: self.catalog()?,
            roles: &self.roles,
            plan: &self.plan,
        })
    }

    /// The stored fields, for persisting the state ([`TeamParts`] rebuilds it).
    pub fn parts(&self) -> TeamParts {
        TeamParts {
            tenant_id: self.tenant_id,
            name: self.name.clone(),
            catalog: self.catalog.clone(),
            catalog_version: self.catalog_version,
            plan: self.plan.clone(),
            roles: self.roles.clone(),
            members: self.members.clone(),
            tenant_seq: self.tenant_seq,
            head_hash: self.head_hash.clone(),
            position: self.position,
        }
    }

    pub(crate) fn lookup_mut(&mut self) -> &mut Lookup {
        &mut self.lookup
    }

    /// Active and effectively holding the catalog's team permission.
    pub fn is_admin(&self, id: UserId) -> bool {
        self.catalog()
            .and_then(|c| c.team_permission())
            .is_some_and(|team| self.holds(id, team))
    }

    /// Active and effectively holding `permission` (by id).
    pub fn holds(&self, id: UserId, permission: crate::access::PermId) -> bool {
        let (Some(member), Some(v)) = (self.member(id), self.vocabulary()) else {
            return false;
        };
        member.status == MemberStatus::Active && resolve_set(&v, member).contains(permission)
    }

    pub fn active_admins(&self) -> Vec<UserId> {
        self.members
            .keys()
            .copied()
            .filter(|id| self.is_admin(*id))
            .collect()
    }
}

/// What a member's access is resolved against: the catalog, the tenant's roles
/// and its plan. A team lends one ([`Team::vocabulary`]); the read side's index
/// keeps its own copy.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary<'a> {
    pub catalog: &'a Catalog,
    pub roles: &'a BTreeMap<RoleKey, Role>,
    pub plan: &'a str,
}

/// Trimmed and lower-cased, the one form emails are compared and stored in.
pub(crate) fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}
