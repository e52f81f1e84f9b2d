//! The diff of access between two instants: per member, the permissions gained
//! and lost, each with the event that caused it (who, when, why).
//!
//! Only the net change counts: a permission revoked and granted back in between
//! is not listed. The cause is the last event that put the permission in its
//! final state.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rollcall_aggregates::{MemberStatus, Team, effective, evolve};
use rollcall_events::{Actor, Envelope, Event, Permission, TenantId, UserId};
use serde::Serialize;

use crate::as_of::TeamHistory;
use crate::error::ReplayError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessDiff {
    pub tenant_id: Option<TenantId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The last event folded at `from` and at `to`.
    pub from_seq: u64,
    pub to_seq: u64,
    /// Members whose access or status changed, by user id.
    pub members: Vec<MemberDiff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberDiff {
    pub user_id: UserId,
    /// The name at `to` (or at `from` for a member who no longer exists).
    pub display_name: String,
    /// `None`: not a member at that instant.
    pub status_from: Option<MemberStatus>,
    pub status_to: Option<MemberStatus>,
    pub granted: Vec<PermissionChange>,
    pub revoked: Vec<PermissionChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionChange {
    pub permission: Permission,
    pub cause: Option<Cause>,
}

/// The event behind a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub position: u64,
    pub tenant_seq: u64,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub actor: Actor,
    pub occurred_at: DateTime<Utc>,
    pub reason: Option<String>,
}

impl Cause {
    fn of(e: &Envelope) -> Cause {
        Cause {
            position: e.position,
            tenant_seq: e.tenant_seq,
            event_type: e.type_name(),
            actor: e.actor,
            occurred_at: e.occurred_at,
            reason: e.reason.clone(),
        }
    }
}

type Held = BTreeMap<UserId, BTreeSet<Permission>>;

fn held(team: &Team, user: UserId) -> BTreeSet<Permission> {
    effective(team, user)
        .map(|e| e.permissions.into_keys().collect())
        .unwrap_or_default()
}

fn held_by_all(team: &Team) -> Held {
    team.members.keys().map(|u| (*u, held(team, *u))).collect()
}

/// Tracks access from the team at `from`, event by event.
struct Tracker {
    start: Held,
    now: Held,
    flips: BTreeMap<(UserId, Permission), Cause>,
}

impl Tracker {
    fn new(start: &Team) -> Self {
        let held = held_by_all(start);
        Tracker {
            now: held.clone(),
            start: held,
            flips: BTreeMap::new(),
        }
    }

    fn step(&mut self, event: &Envelope, after: &Team) {
        // A member's own event changes only that member; anything else (roles,
        // plan, catalog) may change everyone.
        let affected: Vec<UserId> = match (&event.event, event.target()) {
            (Event::TenantCreated(_), _) | (_, None) => after.members.keys().copied().collect(),
            (_, Some(user)) => vec![user],
        };
        for user in affected {
            let new = held(after, user);
            let old = self.now.entry(user).or_default();
            for p in old.symmetric_difference(&new) {
                self.flips.insert((user, p.clone()), Cause::of(event));
            }
            *old = new;
        }
    }

    fn finish(
        self,
        start: &Team,
        end: &Team,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AccessDiff {
        let users: BTreeSet<UserId> = self.start.keys().chain(self.now.keys()).copied().collect();
        let empty = BTreeSet::new();
        let change = |user: UserId, p: &Permission| PermissionChange {
            permission: p.clone(),
            cause: self.flips.get(&(user, p.clone())).cloned(),
        };
        let members = users
            .into_iter()
            .filter_map(|user| {
                let before = self.start.get(&user).unwrap_or(&empty);
                let after = self.now.get(&user).unwrap_or(&empty);
                let status_from = start.member(user).map(|m| m.status);
                let status_to = end.member(user).map(|m| m.status);
                let granted: Vec<_> = after.difference(before).map(|p| change(user, p)).collect();
                let revoked: Vec<_> = before.difference(after).map(|p| change(user, p)).collect();
                if granted.is_empty() && revoked.is_empty() && status_from == status_to {
                    return None;
                }
                let display_name = end
                    .member(user)
                    .or_else(|| start.member(user))
                    .map(|m| m.profile.display_name.clone())
                    .unwrap_or_default();
                Some(MemberDiff {
                    user_id: user,
                    display_name,
                    status_from,
                    status_to,
                    granted,
                    revoked,
                })
            })
            .collect();
        AccessDiff {
            tenant_id: end.tenant_id.or(start.tenant_id),
            from,
            to,
            from_seq: start.tenant_seq,
            to_seq: end.tenant_seq,
            members,
        }
    }
}

/// The diff over one tenant's decoded events in chain order.
pub fn diff_events<I>(events: I, from: DateTime<Utc>, to: DateTime<Utc>) -> AccessDiff
where
    I: IntoIterator,
    I::Item: Borrow<Envelope>,
{
    let mut events = events.into_iter().peekable();
    let mut start = Team::default();
    while let Some(e) = events.next_if(|e| e.borrow().occurred_at <= from) {
        start = evolve(start, e.borrow());
    }
    let mut tracker = Tracker::new(&start);
    let mut team = start.clone();
    for e in events {
        let e = e.borrow();
        if e.occurred_at > to {
            break;
        }
        team = evolve(team, e);
        tracker.step(e, &team);
    }
    tracker.finish(&start, &team, from, to)
}

/// The diff of `tenant` between `from` and `to`, read through `history`.
pub async fn diff(
    history: &TeamHistory,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AccessDiff, ReplayError> {
    let (start, end, tracker) = history
        .walk_between(tenant, from, to, Tracker::new, |tracker, event, after| {
            tracker.step(event, after)
        })
        .await?;
    Ok(tracker.finish(&start, &end, from, to))
}
