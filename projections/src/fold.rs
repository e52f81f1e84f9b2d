//! Folding one batch: each event through the domain's `evolve` (the one fold),
//! then what it changed derived from the folded team — the tenant's index
//! entries, the audit entry with every member's access delta, and the records to
//! store — with each member and team header written once per batch, however many
//! of the batch's events touched them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use rollcall_aggregates::{
    AccessReach, Catalog, Member, MemberAccess, MemberStatus, Team, access_reach, evolve,
    member_access,
};
use rollcall_events::{Envelope, Event, TenantId, UserId};

use crate::audit::{StoredAudit, StoredDelta};
use crate::error::ProjectionError;
use crate::index::{MemberEntry, MembershipKey, ReadView, TenantIndex};
use crate::store::{AuditChunk, Batch, member_key, team_key, vocabulary_key};
use crate::stored::{StoredMember, StoredTeam, StoredVocabulary, encode};

/// The projector's own state: every tenant's folded team, and the position and
/// view of the last batch folded while it is not committed yet.
#[derive(Default)]
pub(crate) struct Folded {
    pub teams: HashMap<TenantId, Team>,
    pub staged: Option<(u64, Arc<ReadView>)>,
}

/// What a batch will write, gathered so each record is written once and each
/// tenant's audit entries in as few records as [`AuditChunk`]s allow.
#[derive(Default)]
pub(crate) struct Dirty {
    /// Each tenant's audit entries, encoded, in position order.
    audits: BTreeMap<TenantId, Vec<(u64, Vec<u8>)>>,
    members: BTreeSet<(TenantId, UserId)>,
    teams: BTreeSet<TenantId>,
    /// Tenants whose catalog or roles changed in the batch.
    vocabularies: BTreeSet<TenantId>,
}

/// A stored value that cannot be encoded (a bug, reported rather than hidden).
fn encoding(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Encode(e.to_string())
}

fn email_key(m: &Member) -> Option<Arc<str>> {
    (m.status != MemberStatus::Canceled).then(|| Arc::from(m.email.as_str()))
}

/// Why a catalog folded from the log cannot be served, if it cannot: `evolve`
/// folds any catalog (an event is a fact), but only one that compiles under this
/// version's rules answers checks.
fn unavailable(catalog: &Catalog) -> Option<Arc<str>> {
    Catalog::compile(catalog.doc().clone()).err().map(|e| {
        Arc::from(format!(
            "the tenant's catalog does not compile under this version's rules ({e}); \
             define a catalog that does"
        ))
    })
}

/// A fresh index entry of a tenant, its vocabulary taken from `team`.
fn tenant_index(
    tenant: TenantId,
    team: &Team,
    previous: Option<&TenantIndex>,
) -> Option<TenantIndex> {
    let catalog = team.catalog.clone()?;
    let unavailable = match previous {
        Some(p)
            if p.catalog_version == team.catalog_version && Arc::ptr_eq(&p.catalog, &catalog) =>
        {
            p.unavailable.clone()
        }
        _ => {
            let reason = unavailable(&catalog);
            if let Some(reason) = &reason {
                tracing::error!(%tenant, %reason, "tenant unavailable");
            }
            reason
        }
    };
    Some(TenantIndex {
        unavailable,
        tenant_id: tenant,
        name: Arc::from(team.name.as_str()),
        catalog,
        catalog_version: team.catalog_version,
        plan: Arc::from(team.plan.as_str()),
        roles: Arc::new(team.roles.clone()),
        members: previous.map(|p| p.members.clone()).unwrap_or_default(),
        position: team.position,
        tenant_seq: team.tenant_seq,
        audit_by_target: previous
            .map(|p| p.audit_by_target.clone())
            .unwrap_or_default(),
        audit_by_actor: previous
            .map(|p| p.audit_by_actor.clone())
            .unwrap_or_default(),
    })
}

/// The permissions gained and lost between two resolutions of one member.
fn delta(
    index: &TenantIndex,
    member: &Member,
    before: Option<&MemberAccess>,
    after: &MemberAccess,
) -> Option<StoredDelta> {
    let catalog = &index.catalog;
    let names = |set: &rollcall_aggregates::PermSet| -> Vec<String> {
        catalog.names_of(set).map(|p| p.to_string()).collect()
    };
    let mut gained = after.held.clone();
    let mut lost = before.map(|b| b.held.clone()).unwrap_or_default();
    if let Some(b) = before {
        gained.subtract(&b.held);
    }
    lost.subtract(&after.held);
    if gained.is_empty() && lost.is_empty() {
        return None;
    }
    Some(StoredDelta {
        user: *member.user_id.0.as_bytes(),
        name: member.profile.display_name.clone(),
        gained: names(&gained),
        lost: names(&lost),
    })
}

impl Folded {
    /// Folds one decoded event into the teams and the view, and adds its audit
    /// entry to what the batch will write.
    pub fn apply(
        &mut self,
        view: &mut ReadView,
        envelope: &Envelope,
        dirty: &mut Dirty,
    ) -> Result<(), ProjectionError> {
        let tenant = envelope.tenant_id;
        let team = self.teams.remove(&tenant).unwrap_or_default();
        let actor_name = envelope
            .actor
            .user()
            .and_then(|u| team.member(u))
            .map(|m| m.profile.display_name.clone());
        let target = envelope.target();
        let target_email_before = target.and_then(|u| team.member(u)).and_then(email_key);
        let reach = access_reach(&team, &envelope.event);
        let mut access_changed: Vec<UserId> = reach.members(&team);
        if let Event::UserInvited(e) = &envelope.event {
            access_changed.push(e.user_id);
        }
        let vocabulary_changed = matches!(
            envelope.event,
            Event::TenantCreated(_)
                | Event::CatalogDefined(_)
                | Event::PlanChanged(_)
                | Event::RoleCreated(_)
                | Event::RoleUpdated(_)
                | Event::RoleDeleted(_)
        );
        let team = evolve(team, envelope);

        // The tenant's index, changed in place: the first event of a batch that
        // touches it copies the published one, the others reuse that copy.
        let previous = view.tenants.remove(&tenant);
        let Some(mut index_arc) = (match (previous, vocabulary_changed) {
            (Some(p), false) => Some(p),
            (p, _) => tenant_index(tenant, &team, p.as_deref()).map(Arc::new),
        }) else {
            // No catalog: nothing a reader could be told about this tenant.
            self.teams.insert(tenant, team);
            return Ok(());
        };
        let index = Arc::make_mut(&mut index_arc);
        index.position = team.position;
        index.tenant_seq = team.tenant_seq;
        let access_changed: BTreeSet<UserId> = if reach == AccessReach::Everyone {
            team.members.keys().copied().collect()
        } else {
            access_changed.into_iter().collect()
        };
        // Members whose entry changes: whose access may have, and the target.
        let mut touched = access_changed.clone();
        touched.extend(target);
        let mut deltas = Vec::new();
        {
            let vocabulary = team
                .vocabulary()
                .ok_or_else(|| ProjectionError::Encode("a tenant without a catalog".into()))?;
            for user in &touched {
                let Some(member) = team.members.get(user) else {
                    continue;
                };
                let old = index.members.get(user).cloned();
                let access = match &old {
                    Some(old) if !access_changed.contains(user) => old.access.clone(),
                    _ => Arc::new(member_access(&vocabulary, member)),
                };
                deltas.extend(delta(
                    index,
                    member,
                    old.as_ref().map(|o| &*o.access),
                    &access,
                ));
                index.members.insert(
                    *user,
                    MemberEntry {
                        member: member.clone(),
                        access,
                    },
                );
                dirty.members.insert((tenant, *user));
            }
        }
        // The email index: the target's membership under its email.
        if let Some(user) = target {
            let after = team.member(user).and_then(email_key);
            if target_email_before != after {
                let key = MembershipKey { tenant, user };
                if let Some(email) = &target_email_before
                    && let Some(set) = view.emails.get_mut(email)
                {
                    set.remove(&key);
                    if set.is_empty() {
                        view.emails.remove(email);
                    }
                }
                if let Some(email) = after {
                    view.emails.entry(email).or_default().insert(key);
                }
            }
        }

        let target_name = target
            .and_then(|u| team.member(u))
            .map(|m| m.profile.display_name.clone());
        let audit = StoredAudit::of(envelope, actor_name, target_name, deltas);
        let position = envelope.position;
        index.record_audit(position, target, envelope.actor);
        dirty
            .audits
            .entry(tenant)
            .or_default()
            .push((position, encode(&audit).map_err(encoding)?));
        dirty.teams.insert(tenant);
        if vocabulary_changed {
            dirty.vocabularies.insert(tenant);
        }
        view.tenants.insert(tenant, index_arc);
        self.teams.insert(tenant, team);
        Ok(())
    }

    /// Adds the batch's members and team headers, each once, in their state at
    /// the end of the batch.
    pub fn write_dirty(&self, dirty: Dirty, batch: &mut Batch) -> Result<(), ProjectionError> {
        for (tenant, entries) in dirty.audits {
            let mut chunk = AuditChunk::default();
            for (position, entry) in entries {
                chunk.push(position, &entry)?;
                if chunk.is_full()
                    && let Some((key, value)) = std::mem::take(&mut chunk).record(tenant)
                {
                    batch.put(key, value);
                }
            }
            if let Some((key, value)) = chunk.record(tenant) {
                batch.put(key, value);
            }
        }
        for (tenant, user) in dirty.members {
            if let Some(member) = self.teams.get(&tenant).and_then(|t| t.member(user)) {
                batch.put(
                    member_key(tenant, user),
                    encode(&StoredMember::from(member)).map_err(encoding)?,
                );
            }
        }
        for tenant in dirty.vocabularies {
            if let Some(team) = self.teams.get(&tenant) {
                let vocabulary = StoredVocabulary::of(team).map_err(encoding)?;
                batch.put(
                    vocabulary_key(tenant),
                    encode(&vocabulary).map_err(encoding)?,
                );
            }
        }
        for tenant in dirty.teams {
            if let Some(team) = self.teams.get(&tenant) {
                let header = StoredTeam::of(team, tenant);
                batch.put(team_key(tenant), encode(&header).map_err(encoding)?);
            }
        }
        Ok(())
    }
}

/// The index of a tenant restored from the store: every member resolved.
pub(crate) fn restore_index(tenant: TenantId, team: &Team) -> Option<TenantIndex> {
    let mut index = tenant_index(tenant, team, None)?;
    let vocabulary = team.vocabulary()?;
    for (user, member) in &team.members {
        index.members.insert(
            *user,
            MemberEntry {
                member: member.clone(),
                access: Arc::new(member_access(&vocabulary, member)),
            },
        );
    }
    Some(index)
}

/// Adds a restored team's members to the email index.
pub(crate) fn restore_emails(view: &mut ReadView, tenant: TenantId, team: &Team) {
    for member in team.members.values() {
        if let Some(email) = email_key(member) {
            view.emails.entry(email).or_default().insert(MembershipKey {
                tenant,
                user: member.user_id,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use rollcall_aggregates::testing::{OWNER, TENANT, catalogs, joined, tenant_created, user};
    use rollcall_events::{Actor, Event, RawEnvelope, UserLoggedIn};

    use super::*;
    use crate::testing::History;

    /// Folds `events` as one batch; returns the records it would write.
    fn fold(folded: &mut Folded, view: &mut ReadView, events: &[RawEnvelope]) -> usize {
        let mut batch = Batch::default();
        let mut dirty = Dirty::default();
        for raw in events {
            let envelope = raw.decode().expect("decodes");
            folded.apply(view, &envelope, &mut dirty).expect("folds");
        }
        folded.write_dirty(dirty, &mut batch).expect("writes");
        batch.records
    }

    fn login(h: &mut History, who: u128) {
        h.push(
            TENANT,
            Actor::User(user(who)),
            Event::UserLoggedIn(UserLoggedIn {
                user_id: user(who),
                source_ip: None,
            }),
        );
    }

    #[test]
    fn a_batch_writes_each_member_and_team_once_however_many_events_touch_them() {
        let mut h = History::new();
        h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
        for e in joined(user(2), &["user"]) {
            h.push(TENANT, Actor::User(OWNER), e);
        }
        for _ in 0..5 {
            login(&mut h, 2);
        }
        let (mut folded, mut view) = (Folded::default(), ReadView::default());
        let records = fold(&mut folded, &mut view, &h.events);
        // The audit entries of the events in one chunk (they are small), the
        // owner and user 2 once, the team header and its vocabulary once.
        assert_eq!(records, 1 + 2 + 1 + 1);
        assert_eq!(folded.teams[&TENANT], h.team(TENANT));

        // A login afterwards: its audit entry, its member, the team header (the
        // vocabulary did not change).
        let before = h.events.len();
        login(&mut h, 2);
        assert_eq!(fold(&mut folded, &mut view, &h.events[before..]), 3);
        let entry = &view.tenants[&TENANT].members[&user(2)];
        assert!(entry.member.last_login_at.is_some());
        assert_eq!(folded.teams[&TENANT], h.team(TENANT));
    }

    #[test]
    fn the_index_resolves_only_the_members_an_event_can_reach() {
        let mut h = History::new();
        h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
        for e in joined(user(2), &["user"]) {
            h.push(TENANT, Actor::User(OWNER), e);
        }
        let (mut folded, mut view) = (Folded::default(), ReadView::default());
        fold(&mut folded, &mut view, &h.events);
        let owner_access = view.tenants[&TENANT].members[&OWNER].access.clone();
        let before = h.events.len();
        login(&mut h, 2);
        fold(&mut folded, &mut view, &h.events[before..]);
        // The owner's resolution is the very same allocation: not recomputed.
        assert!(Arc::ptr_eq(
            &owner_access,
            &view.tenants[&TENANT].members[&OWNER].access
        ));
    }

    #[test]
    fn a_catalog_that_does_not_compile_leaves_the_tenant_unavailable_until_one_does() {
        let mut broken = catalogs::small();
        broken.roles[0]
            .grants
            .push(rollcall_events::Permission::from("gone.away"));
        let mut h = History::new();
        h.push(TENANT, Actor::Operator, tenant_created(broken));
        for e in joined(user(2), &["user"]) {
            h.push(TENANT, Actor::User(OWNER), e);
        }
        let (mut folded, mut view) = (Folded::default(), ReadView::default());
        fold(&mut folded, &mut view, &h.events);
        let index = &view.tenants[&TENANT];
        let reason = index.unavailable.as_deref().expect("unavailable");
        assert!(reason.contains("gone.away"), "{reason}");
        // Kept up to date meanwhile: the member is there, ready when it compiles.
        assert!(index.member(user(2)).is_some());

        let before = h.events.len();
        h.push(
            TENANT,
            Actor::Operator,
            Event::CatalogDefined(rollcall_events::CatalogDefined {
                version: 2,
                catalog: catalogs::small(),
            }),
        );
        fold(&mut folded, &mut view, &h.events[before..]);
        assert_eq!(view.tenants[&TENANT].unavailable, None);
        assert_eq!(folded.teams[&TENANT], h.team(TENANT));
    }
}
