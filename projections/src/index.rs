//! The access index: what the read side knows of every tenant, in memory, as
//! immutable snapshots the projector publishes after each batch. Checks, queries
//! and request admission read it without a lock: a reader loads the current
//! [`ReadView`] and everything in it stays valid for as long as it holds it.
//!
//! Per tenant: the vocabulary (catalog with its interned permissions, roles,
//! plan) and each member with their resolved [`MemberAccess`] (effective
//! permissions as a bit set, scopes, offices, networks, status, admin-ness,
//! token watermark). Maps are persistent (structure-sharing), so publishing a
//! batch copies only the paths it changed.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use rollcall_aggregates::{
    Catalog, CheckOutcome, CheckRequest, Member, MemberAccess, MemberStatus, Role, Verdict,
    Vocabulary, explain, judge, unknown_user,
};
use rollcall_events::{Actor, RoleKey, TenantId, UserId};

/// One member as the read side serves them.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberEntry {
    /// Shared with the projector's folded team.
    pub member: Arc<Member>,
    pub access: Arc<MemberAccess>,
}

/// One tenant, as of the last batch that touched it.
#[derive(Debug, Clone)]
pub struct TenantIndex {
    pub tenant_id: TenantId,
    pub name: Arc<str>,
    pub catalog: Arc<Catalog>,
    pub catalog_version: u32,
    pub plan: Arc<str>,
    pub roles: Arc<BTreeMap<RoleKey, Role>>,
    /// In id order.
    pub members: imbl::OrdMap<UserId, MemberEntry>,
    /// Position of the tenant's last event folded.
    pub position: u64,
    pub tenant_seq: u64,
    /// Positions of the audit entries about each member, ascending.
    pub audit_by_target: imbl::HashMap<UserId, imbl::Vector<u64>>,
    /// Positions of the audit entries each actor caused, ascending.
    pub audit_by_actor: imbl::HashMap<Actor, imbl::Vector<u64>>,
    /// Why the tenant cannot be served: its catalog, folded from the log, does
    /// not compile under this version's rules (a limit lowered since, say). The
    /// index is kept up to date but answers nothing until a catalog that compiles
    /// is defined; its requests answer 503 with this reason.
    pub unavailable: Option<Arc<str>>,
}

impl TenantIndex {
    pub fn vocabulary(&self) -> Vocabulary<'_> {
        Vocabulary {
            catalog: &self.catalog,
            roles: &self.roles,
            plan: &self.plan,
        }
    }

    pub fn member(&self, user: UserId) -> Option<&MemberEntry> {
        self.members.get(&user)
    }

    /// The check's verdict for `user`; `None` when the team has no such member.
    /// Allocates nothing.
    pub fn judge(
        &self,
        user: UserId,
        permission: &str,
        owner_id: Option<UserId>,
        office_id: Option<&str>,
        source_ip: Option<IpAddr>,
    ) -> Option<Verdict> {
        let entry = self.members.get(&user)?;
        Some(judge(
            &self.catalog,
            &entry.access,
            permission,
            owner_id,
            office_id,
            source_ip,
        ))
    }
}

/// What admission needs to know of a token's member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub status: MemberStatus,
    /// Holds the team permission.
    pub admin: bool,
    /// Credentials issued before this instant (seconds since the epoch) are dead.
    pub tokens_since: Option<i64>,
}

/// One person's membership of one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MembershipKey {
    pub tenant: TenantId,
    pub user: UserId,
}

/// The memberships one email holds, in order. Almost always one: a small shared
/// slice costs a fraction of a persistent set's node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships(Arc<[MembershipKey]>);

impl Memberships {
    pub fn iter(&self) -> impl Iterator<Item = &MembershipKey> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `key` (once).
    pub fn insert(&mut self, key: MembershipKey) {
        if let Err(at) = self.0.binary_search(&key) {
            let mut keys = self.0.to_vec();
            keys.insert(at, key);
            self.0 = keys.into();
        }
    }

    /// Takes `key` out, if it is there.
    pub fn remove(&mut self, key: &MembershipKey) {
        if let Ok(at) = self.0.binary_search(key) {
            let mut keys = self.0.to_vec();
            keys.remove(at);
            self.0 = keys.into();
        }
    }
}

/// The read side as of one position: every tenant, and every email's
/// memberships across tenants.
#[derive(Debug, Clone, Default)]
pub struct ReadView {
    /// The last log position applied.
    pub position: u64,
    pub tenants: imbl::HashMap<TenantId, Arc<TenantIndex>>,
    /// Normalised email → the tenants' members holding it (canceled invitees
    /// excluded).
    pub emails: imbl::HashMap<Arc<str>, Memberships>,
}

impl ReadView {
    pub fn tenant(&self, tenant: TenantId) -> Option<&Arc<TenantIndex>> {
        self.tenants.get(&tenant)
    }

    /// What admission needs of `user` in `tenant`, if the read side knows them.
    pub fn admission(&self, tenant: TenantId, user: UserId) -> Option<Admission> {
        let entry = self.tenants.get(&tenant)?.members.get(&user)?;
        Some(Admission {
            status: entry.access.status,
            admin: entry.access.admin,
            tokens_since: entry.access.tokens_since,
        })
    }

    /// The check with its explanation, judged on the member's resolved access;
    /// `None` for an unknown tenant.
    pub fn check(&self, tenant: TenantId, request: &CheckRequest) -> Option<CheckOutcome> {
        let index = self.tenant(tenant)?;
        let (Some(entry), Some(verdict)) = (
            index.member(request.user_id),
            index.judge(
                request.user_id,
                request.permission.as_str(),
                request.resource.owner_id,
                request.resource.office_id.as_ref().map(|o| o.as_str()),
                request.source_ip,
            ),
        ) else {
            return Some(unknown_user(request));
        };
        Some(explain(
            &index.vocabulary(),
            &entry.member,
            request,
            &verdict,
        ))
    }
}
