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
    pub audit_by_target: imbl::OrdMap<UserId, Positions>,
    /// Positions of the audit entries each actor caused, ascending.
    pub audit_by_actor: imbl::OrdMap<Actor, Positions>,
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

    /// Lists the audit entry at `position` under its target and its actor.
    pub fn record_audit(&mut self, position: u64, target: Option<UserId>, actor: Actor) {
        if let Some(user) = target {
            self.audit_by_target.entry(user).or_default().push(position);
        }
        self.audit_by_actor.entry(actor).or_default().push(position);
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

/// Ascending log positions (a member's or an actor's audit entries). Most lists
/// are short and stay a small shared slice; past [`Positions::SHORT`] entries
/// they become a persistent vector, so an append stays cheap however long the
/// list grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Positions {
    Short(Arc<[u64]>),
    Long(Arc<imbl::Vector<u64>>),
}

impl Default for Positions {
    fn default() -> Self {
        Positions::Short(Arc::from([]))
    }
}

impl Positions {
    /// Longest list kept as a slice (copied on each append).
    pub const SHORT: usize = 16;

    /// Appends `position`, which is above every position already held.
    pub fn push(&mut self, position: u64) {
        match self {
            Positions::Short(short) if short.len() < Self::SHORT => {
                let mut longer = Vec::with_capacity(short.len() + 1);
                longer.extend_from_slice(short);
                longer.push(position);
                *short = longer.into();
            }
            Positions::Short(short) => {
                let mut long: imbl::Vector<u64> = short.iter().copied().collect();
                long.push_back(position);
                *self = Positions::Long(Arc::new(long));
            }
            Positions::Long(long) => Arc::make_mut(long).push_back(position),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Positions::Short(short) => short.len(),
            Positions::Long(long) => long.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<u64> {
        match self {
            Positions::Short(short) => short.get(i).copied(),
            Positions::Long(long) => long.get(i).copied(),
        }
    }

    /// The index of the first position above `after`.
    pub fn first_after(&self, after: u64) -> usize {
        let found = match self {
            Positions::Short(short) => short.binary_search(&after),
            Positions::Long(long) => long.binary_search(&after),
        };
        match found {
            Ok(i) => i + 1,
            Err(i) => i,
        }
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
    pub emails: imbl::OrdMap<Arc<str>, Memberships>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_keep_their_order_across_the_switch_to_a_vector() {
        let mut positions = Positions::default();
        assert!(positions.is_empty());
        assert_eq!(positions.first_after(0), 0);
        for p in (1..=40).map(|i| i * 10) {
            positions.push(p);
            let long = positions.len() > Positions::SHORT;
            assert_eq!(matches!(positions, Positions::Long(_)), long, "at {p}");
        }
        assert_eq!(positions.len(), 40);
        assert_eq!(positions.get(0), Some(10));
        assert_eq!(positions.get(39), Some(400));
        assert_eq!(positions.get(40), None);
        assert_eq!(positions.first_after(0), 0);
        assert_eq!(positions.first_after(10), 1);
        assert_eq!(positions.first_after(15), 1);
        assert_eq!(positions.first_after(400), 40);

        // A copy taken before an append does not see it.
        let before = positions.clone();
        positions.push(410);
        assert_eq!(before.len(), 40);
        assert_eq!(positions.get(40), Some(410));
    }
}
