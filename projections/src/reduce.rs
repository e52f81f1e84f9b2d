//! The reducers: pure functions from (tenant state, envelope) to the next state and
//! the writes that bring every view in step with it. The runner applies the writes
//! of a whole batch with the checkpoint in one atomic sled batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use rollcall_aggregates::{Effective, Member, Team, effective, evolve};
use rollcall_events::{Envelope, Event, TenantId, UserId};

use crate::audit::{AccessDelta, audit_entry};
use crate::state::{StoredMember, TeamHeader, catalog_view, member_view};
use crate::store::{
    ViewTree, Write, actor_key, audit_key, member_key, prefix, target_key, tenant_key,
};

/// What the projector keeps per tenant: the aggregate and each member's resolved
/// effective permissions (for the check and for audit deltas).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantState {
    pub team: Arc<Team>,
    pub effective: BTreeMap<UserId, Arc<Effective>>,
}

impl TenantState {
    /// Resolves every member's effective permissions of `team`.
    pub fn resolve(team: Arc<Team>) -> TenantState {
        let effective = team
            .members
            .keys()
            .filter_map(|u| effective(&team, *u).map(|e| (*u, Arc::new(e))))
            .collect();
        TenantState { team, effective }
    }
}

/// Which members an event can change, and whether their access may change.
enum Reach {
    /// Catalog, plan and role events: anyone's access may change.
    Tenant,
    /// One member; `access` is false for events that leave permissions, scopes,
    /// offices, networks and status alone (logins, resends, profile edits).
    Member {
        user: UserId,
        access: bool,
    },
    Nobody,
}

fn reach(event: &Event) -> Reach {
    match event {
        Event::TenantCreated(_)
        | Event::CatalogDefined(_)
        | Event::PlanChanged(_)
        | Event::RoleCreated(_)
        | Event::RoleUpdated(_)
        | Event::RoleDeleted(_) => Reach::Tenant,
        Event::UserLoggedIn(e) => Reach::Member {
            user: e.user_id,
            access: false,
        },
        Event::InvitationResent(e) => Reach::Member {
            user: e.user_id,
            access: false,
        },
        Event::ProfileUpdated(e) => Reach::Member {
            user: e.user_id,
            access: false,
        },
        other => match other.target() {
            Some(user) => Reach::Member { user, access: true },
            None => Reach::Nobody,
        },
    }
}

/// Folds one envelope: the next state and the writes for every view.
pub fn reduce(state: TenantState, envelope: &Envelope) -> (TenantState, Vec<Write>) {
    let tenant = envelope.tenant_id;
    let before = state.team;
    let first = before.position == 0;
    let actor_name = envelope
        .actor
        .user()
        .and_then(|u| before.member(u))
        .map(|m| m.profile.display_name.clone());
    let reach = reach(&envelope.event);
    // Only a catalog-wide event needs the old members to compare with.
    let members_before = match reach {
        Reach::Tenant => Some(before.members.clone()),
        _ => None,
    };
    let team = Arc::new(evolve(Arc::unwrap_or_clone(before), envelope));
    let mut effective_now = state.effective;
    let mut writes = Vec::new();
    let mut deltas = Vec::new();

    match reach {
        Reach::Tenant => {
            let old = members_before.unwrap_or_default();
            for user in team.members.keys().copied() {
                let unchanged_member = old.get(&user) == team.member(user);
                let unchanged_access = effective_now
                    .get(&user)
                    .is_some_and(|e| Some(&**e) == effective(&team, user).as_ref());
                if !(unchanged_member && unchanged_access) {
                    touch(
                        &team,
                        tenant,
                        user,
                        true,
                        &mut effective_now,
                        &mut deltas,
                        &mut writes,
                    );
                }
            }
            writes.push(Write::put_json(
                ViewTree::TeamState,
                tenant_key(prefix::ROLES, tenant),
                &team.roles,
            ));
            if let Some(catalog) = team.catalog() {
                writes.push(Write::put_json(
                    ViewTree::TeamState,
                    tenant_key(prefix::CATALOG, tenant),
                    catalog.doc(),
                ));
            }
            if let Some(view) = catalog_view(&team) {
                writes.push(Write::put_json(
                    ViewTree::TeamViews,
                    tenant_key(prefix::CATALOG, tenant),
                    &view,
                ));
            }
        }
        Reach::Member { user, access } => touch(
            &team,
            tenant,
            user,
            access,
            &mut effective_now,
            &mut deltas,
            &mut writes,
        ),
        Reach::Nobody => {}
    }
    // The chain head (tenant_seq, hash, position) is read back from the tenant's
    // last audit entry on open, so the header changes only with the tenant itself.
    if matches!(reach, Reach::Tenant) || first {
        writes.push(Write::put_json(
            ViewTree::TeamState,
            tenant_key(prefix::HEADER, tenant),
            &TeamHeader::of(&team),
        ));
    }

    let target = envelope.target();
    let target_name = target
        .and_then(|u| team.member(u))
        .map(|m| m.profile.display_name.clone());
    let entry = audit_entry(envelope, actor_name, target_name, deltas);
    let position = envelope.position;
    writes.push(Write::put_json(
        ViewTree::Audit,
        audit_key(tenant, position),
        &entry,
    ));
    if let Some(user) = target {
        writes.push(Write::Put {
            tree: ViewTree::AuditByTarget,
            key: target_key(tenant, user, position),
            value: Vec::new(),
        });
    }
    writes.push(Write::Put {
        tree: ViewTree::AuditByActor,
        key: actor_key(tenant, envelope.actor, position),
        value: Vec::new(),
    });

    (
        TenantState {
            team,
            effective: effective_now,
        },
        writes,
    )
}

/// Re-resolves one member (when `access` may have changed) and rewrites its
/// state and view.
fn touch(
    team: &Team,
    tenant: TenantId,
    user: UserId,
    access: bool,
    effective_now: &mut BTreeMap<UserId, Arc<Effective>>,
    deltas: &mut Vec<AccessDelta>,
    writes: &mut Vec<Write>,
) {
    let Some(member) = team.member(user) else {
        return;
    };
    if access || !effective_now.contains_key(&user) {
        let old = effective_now.remove(&user);
        if let Some(now) = effective(team, user) {
            deltas.extend(access_delta(member, old.as_deref(), &now));
            effective_now.insert(user, Arc::new(now));
        }
    }
    // One record holds the view and the state it was built from: one write per
    // member touched instead of two.
    writes.push(Write::put_json(
        ViewTree::TeamViews,
        member_key(prefix::MEMBER, tenant, user),
        &StoredMember {
            view: member_view(member, effective_now.get(&user).map(|e| &**e)),
            state: member,
        },
    ));
}

/// Gained and lost permissions of one member, or `None` when nothing changed.
fn access_delta(
    member: &Member,
    before: Option<&Effective>,
    after: &Effective,
) -> Option<AccessDelta> {
    let empty = BTreeMap::new();
    let old = before.map_or(&empty, |e| &e.permissions);
    let new = &after.permissions;
    let gained: Vec<_> = new
        .keys()
        .filter(|p| !old.contains_key(*p))
        .cloned()
        .collect();
    let lost: Vec<_> = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .cloned()
        .collect();
    if gained.is_empty() && lost.is_empty() {
        return None;
    }
    Some(AccessDelta {
        user_id: member.user_id,
        display_name: member.profile.display_name.clone(),
        gained,
        lost,
    })
}
