//! The vocabulary of the no-escalation invariant: how widely a member holds each
//! permission ([`Entitlement`]), when one holding covers another, and what a change
//! gains.
//!
//! A holding is a permission with its *extent* (the data scope of its area) and the
//! networks the member may act from. "Covers" orders holdings of one permission:
//! `all` covers every extent; `offices(S)` covers `offices(T)` when T ⊆ S;
//! `assigned` covers `assigned`; `assigned` and `offices(…)` are not comparable.
//! Unrestricted networks cover every list; a list covers another when each of the
//! other's blocks lies inside one of its own.
//!
//! An entitlement is what a member holds or will hold: an invited member is judged
//! as if active (an invitation is a grant, accepted later by the invitee alone), a
//! deactivated or canceled one holds nothing (so reactivating is a gain).

use std::collections::BTreeSet;

use ipnet::IpNet;
use rollcall_events::OfficeId;
use rollcall_events::catalog::Scope;

use std::net::IpAddr;

use crate::access::effective::{area_scopes, resolve_set};
use crate::access::{PermId, PermSet};
use crate::catalog::Catalog;
use crate::team::{Member, MemberStatus, Vocabulary};

/// How far a permission reaches within its area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extent {
    All,
    Offices(BTreeSet<OfficeId>),
    Assigned,
}

impl Extent {
    /// Does holding with `self` include everything holding with `other` does?
    pub fn covers(&self, other: &Extent) -> bool {
        match (self, other) {
            (Extent::All, _) => true,
            (Extent::Offices(mine), Extent::Offices(theirs)) => theirs.is_subset(mine),
            (Extent::Assigned, Extent::Assigned) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for Extent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Extent::All => f.write_str("scope all"),
            Extent::Assigned => f.write_str("scope assigned"),
            Extent::Offices(offices) if offices.is_empty() => f.write_str("scope offices (none)"),
            Extent::Offices(offices) => {
                f.write_str("scope offices ")?;
                for (i, o) in offices.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(o.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// Where a member may act from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Networks {
    Anywhere,
    /// Only inside these blocks (an empty list admits nowhere).
    Only(Vec<IpNet>),
}

impl Networks {
    /// The networks a member's stored CIDR list stands for (empty = anywhere).
    pub fn of(cidrs: &[String]) -> Networks {
        if cidrs.is_empty() {
            Networks::Anywhere
        } else {
            Networks::Only(cidrs.iter().filter_map(|c| c.parse().ok()).collect())
        }
    }

    /// May a member with these networks act from `ip`? Anywhere admits every
    /// address and an unknown one; a list admits only addresses inside it.
    pub fn admits(&self, ip: Option<IpAddr>) -> bool {
        match (self, ip) {
            (Networks::Anywhere, _) => true,
            (Networks::Only(_), None) => false,
            (Networks::Only(nets), Some(ip)) => nets.iter().any(|n| n.contains(&ip)),
        }
    }

    /// Does acting from `self` include every place `other` may act from?
    pub fn covers(&self, other: &Networks) -> bool {
        match (self, other) {
            (Networks::Anywhere, _) => true,
            (Networks::Only(_), Networks::Anywhere) => false,
            (Networks::Only(mine), Networks::Only(theirs)) => {
                theirs.iter().all(|t| mine.iter().any(|m| m.contains(t)))
            }
        }
    }
}

impl std::fmt::Display for Networks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Networks::Anywhere => f.write_str("from anywhere"),
            Networks::Only(nets) => {
                f.write_str("from ")?;
                for (i, n) in nets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                Ok(())
            }
        }
    }
}

/// What a member holds or will hold, as the invariant compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub held: PermSet,
    /// Extent of each area of the catalog, by its index in the document.
    pub extents: Vec<Extent>,
    pub networks: Networks,
}

impl Default for Entitlement {
    fn default() -> Self {
        Entitlement::none()
    }
}

impl Entitlement {
    /// Holds nothing.
    pub fn none() -> Entitlement {
        Entitlement {
            held: PermSet::new(),
            extents: Vec::new(),
            networks: Networks::Anywhere,
        }
    }

    /// The extent `id` is held with (`all` for unscoped areas).
    pub fn extent(&self, catalog: &Catalog, id: PermId) -> &Extent {
        catalog
            .area_index(id)
            .and_then(|a| self.extents.get(a))
            .unwrap_or(&Extent::All)
    }

    /// Holds `id` at least as widely as `other` does.
    pub fn covers(&self, catalog: &Catalog, other: &Entitlement, id: PermId) -> bool {
        self.held.contains(id)
            && self.extent(catalog, id).covers(other.extent(catalog, id))
            && self.networks.covers(&other.networks)
    }

    /// Permissions `after` (the same member after a change) holds more widely
    /// than `self` did: newly held, or held with a wider extent or networks.
    pub fn gains<'a>(
        &'a self,
        catalog: &'a Catalog,
        after: &'a Entitlement,
    ) -> impl Iterator<Item = PermId> + 'a {
        after
            .held
            .iter()
            .filter(move |id| !self.covers(catalog, after, *id))
    }

    /// "scope …, from …" for one permission, for refusals.
    pub fn describe(&self, catalog: &Catalog, id: PermId) -> String {
        format!("{}, {}", self.extent(catalog, id), self.networks)
    }
}

/// The member's entitlement under `v`.
pub fn entitlement(v: &Vocabulary<'_>, member: &Member) -> Entitlement {
    if !matches!(member.status, MemberStatus::Active | MemberStatus::Invited) {
        return Entitlement::none();
    }
    let held = resolve_set(v, member);
    let (scopes, all_offices) = area_scopes(v, member, &held);
    let offices: BTreeSet<OfficeId> = member.offices.iter().cloned().collect();
    let extents = scopes
        .iter()
        .map(|scope| match scope {
            None | Some(Scope::All) => Extent::All,
            Some(Scope::Assigned) => Extent::Assigned,
            Some(Scope::Offices) if all_offices => Extent::All,
            Some(Scope::Offices) => Extent::Offices(offices.clone()),
        })
        .collect();
    Entitlement {
        held,
        extents,
        networks: Networks::of(&member.networks),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offices(os: &[&str]) -> Extent {
        Extent::Offices(os.iter().map(|o| OfficeId::from(*o)).collect())
    }

    fn nets(ns: &[&str]) -> Networks {
        Networks::of(&ns.iter().map(|n| n.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn extents_are_ordered_by_what_they_reach() {
        assert!(Extent::All.covers(&offices(&["east"])));
        assert!(Extent::All.covers(&Extent::Assigned));
        assert!(offices(&["east", "west"]).covers(&offices(&["east"])));
        assert!(!offices(&["east"]).covers(&offices(&["east", "west"])));
        assert!(!offices(&["east"]).covers(&Extent::All));
        assert!(Extent::Assigned.covers(&Extent::Assigned));
        assert!(!Extent::Assigned.covers(&offices(&[])));
        assert!(!offices(&["east"]).covers(&Extent::Assigned));
    }

    #[test]
    fn networks_cover_the_blocks_inside_them() {
        assert!(nets(&[]).covers(&nets(&["10.0.0.0/8"])));
        assert!(!nets(&["10.0.0.0/8"]).covers(&nets(&[])));
        assert!(nets(&["10.0.0.0/8"]).covers(&nets(&["10.1.0.0/16", "10.2.3.4/32"])));
        assert!(!nets(&["10.0.0.0/8"]).covers(&nets(&["192.168.0.0/16"])));
        assert!(nets(&["10.0.0.0/8", "192.168.0.0/16"]).covers(&nets(&["192.168.1.0/24"])));
    }
}
