//! `evolve`: folds one event into the Team. Total and infallible, because an event
//! is a fact: replay never fails on it. Events naming unknown members or roles
//! (which `decide` never produces) leave the state as it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rollcall_events::catalog::CatalogDoc;
use rollcall_events::{Actor, Envelope, Event, Profile, Toggle, UserId};

use crate::catalog::Catalog;
use crate::team::{Invitation, Member, MemberStatus, Override, Role, Team};

/// What `apply` needs from an envelope: who, when, where in the log, and why.
#[derive(Debug, Clone)]
pub(crate) struct FoldMeta {
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub position: u64,
    pub reason: Option<String>,
}

/// Folds one envelope into the state. The envelope, not only the event, is needed
/// because overrides remember who set them, when, and at which log position.
pub fn evolve(team: Team, envelope: &Envelope) -> Team {
    let meta = FoldMeta {
        actor: envelope.actor,
        at: envelope.occurred_at,
        position: envelope.position,
        reason: envelope.reason.clone(),
    };
    let mut team = apply(team, &envelope.event, &meta);
    if let Event::TenantCreated(_) = envelope.event {
        team.tenant_id = Some(envelope.tenant_id);
    }
    team.tenant_seq = envelope.tenant_seq;
    team.head_hash = envelope.hash.clone();
    team.position = envelope.position;
    team
}

/// Built-in roles of a catalog, keyed.
fn builtin_roles(doc: &CatalogDoc) -> impl Iterator<Item = (rollcall_events::RoleKey, Role)> + '_ {
    doc.roles.iter().map(|r| {
        (
            r.key.clone(),
            Role {
                key: r.key.clone(),
                label: r.label.clone(),
                description: r.description.clone(),
                grants: r.grants.clone(),
                except: r.except.clone(),
                builtin: true,
            },
        )
    })
}

fn with_member(mut team: Team, user_id: UserId, f: impl FnOnce(&mut Member)) -> Team {
    if let Some(m) = team.members.get_mut(&user_id) {
        f(Arc::make_mut(m));
    }
    team
}

/// Inserts (or replaces) a member and indexes it.
fn put_member(mut team: Team, member: Member) -> Team {
    if let Some(old) = team.members.get(&member.user_id).cloned() {
        team.lookup_mut().release_email(&old);
    }
    team.lookup_mut().add(&member);
    team.members.insert(member.user_id, Arc::new(member));
    team
}

/// The state change of one event, shared by `evolve` and by `decide`, which folds
/// a candidate event to judge the state it would lead to.
pub(crate) fn apply(mut team: Team, event: &Event, meta: &FoldMeta) -> Team {
    match event {
        Event::TenantCreated(e) => {
            team.name = e.name.clone();
            team.catalog = Some(Arc::new(Catalog::index(e.catalog.clone())));
            team.catalog_version = 1;
            team.plan = e.plan.clone();
            team.roles = builtin_roles(&e.catalog).collect();
            put_member(
                team,
                Member {
                    user_id: e.owner_id,
                    email: e.owner_email.clone(),
                    profile: Profile {
                        display_name: e.owner_display_name.clone(),
                        ..Profile::default()
                    },
                    kind: Default::default(),
                    status: MemberStatus::Active,
                    roles: e.owner_roles.clone(),
                    overrides: BTreeMap::new(),
                    scopes: BTreeMap::new(),
                    offices: Vec::new(),
                    networks: Vec::new(),
                    invitation: None,
                    invited_at: None,
                    accepted_at: Some(meta.at),
                    last_login_at: None,
                    deactivated_at: None,
                    reassign_to: None,
                    reactivated_at: None,
                },
            )
        }
        Event::CatalogDefined(e) => {
            team.catalog = Some(Arc::new(Catalog::index(e.catalog.clone())));
            team.catalog_version = e.version;
            team.roles.retain(|_, r| !r.builtin);
            // A custom role never shadows a built-in one; decide refuses such a
            // catalog, and replay keeps the built-in if one slipped through.
            team.roles.extend(builtin_roles(&e.catalog));
            team
        }
        Event::PlanChanged(e) => {
            team.plan = e.to.clone();
            team
        }
        Event::RoleCreated(e) => {
            team.roles.insert(
                e.role.clone(),
                Role {
                    key: e.role.clone(),
                    label: e.label.clone(),
                    description: String::new(),
                    grants: e.grants.clone(),
                    except: Vec::new(),
                    builtin: false,
                },
            );
            team
        }
        Event::RoleUpdated(e) => {
            if let Some(r) = team.roles.get_mut(&e.role) {
                r.label = e.to.label.clone();
                r.grants = e.to.grants.clone();
            }
            team
        }
        Event::RoleDeleted(e) => {
            if team.roles.get(&e.role).is_some_and(|r| !r.builtin) {
                team.roles.remove(&e.role);
            }
            team
        }
        Event::UserInvited(e) => {
            let overrides = e
                .overrides
                .iter()
                .filter(|(_, t)| **t != Toggle::Inherit)
                .map(|(p, t)| (p.clone(), override_of(*t, meta)))
                .collect();
            put_member(
                team,
                Member {
                    user_id: e.user_id,
                    email: e.email.clone(),
                    profile: Profile {
                        display_name: e.display_name.clone(),
                        ..Profile::default()
                    },
                    kind: e.kind,
                    status: MemberStatus::Invited,
                    roles: e.roles.clone(),
                    overrides,
                    scopes: BTreeMap::new(),
                    offices: Vec::new(),
                    networks: Vec::new(),
                    invitation: Some(Invitation {
                        id: e.invitation_id,
                        nonce: e.nonce.clone(),
                        sent_at: meta.at,
                        expires_at: e.expires_at,
                        accepted_at: None,
                        canceled_at: None,
                    }),
                    invited_at: Some(meta.at),
                    accepted_at: None,
                    last_login_at: None,
                    deactivated_at: None,
                    reassign_to: None,
                    reactivated_at: None,
                },
            )
        }
        Event::InvitationResent(e) => with_member(team, e.user_id, |m| {
            if let Some(inv) = m.invitation.as_mut() {
                inv.nonce = e.nonce.clone();
                inv.sent_at = meta.at;
                inv.expires_at = e.expires_at;
            }
        }),
        Event::InvitationCanceled(e) => {
            let mut team = with_member(team, e.user_id, |m| {
                m.status = MemberStatus::Canceled;
                if let Some(inv) = m.invitation.as_mut() {
                    inv.canceled_at = Some(meta.at);
                }
            });
            // A canceled invitation frees its email.
            if let Some(m) = team.members.get(&e.user_id).cloned() {
                team.lookup_mut().release_email(&m);
            }
            team
        }
        Event::InvitationAccepted(e) => with_member(team, e.user_id, |m| {
            m.status = MemberStatus::Active;
            m.accepted_at = Some(meta.at);
            if let Some(inv) = m.invitation.as_mut() {
                inv.accepted_at = Some(meta.at);
            }
        }),
        Event::RolesChanged(e) => with_member(team, e.user_id, |m| m.roles = e.to.clone()),
        Event::PermissionToggled(e) => with_member(team, e.user_id, |m| match e.to {
            Toggle::Inherit => {
                m.overrides.remove(&e.permission);
            }
            t => {
                m.overrides
                    .insert(e.permission.clone(), override_of(t, meta));
            }
        }),
        Event::ScopeChanged(e) => with_member(team, e.user_id, |m| {
            m.scopes.insert(e.area.clone(), e.to);
        }),
        Event::OfficesChanged(e) => with_member(team, e.user_id, |m| m.offices = e.to.clone()),
        Event::AllowedNetworksChanged(e) => {
            with_member(team, e.user_id, |m| m.networks = e.to.clone())
        }
        Event::UserDeactivated(e) => with_member(team, e.user_id, |m| {
            m.status = MemberStatus::Deactivated;
            m.deactivated_at = Some(meta.at);
            m.reassign_to = e.reassign_to;
        }),
        Event::UserReactivated(e) => with_member(team, e.user_id, |m| {
            m.status = MemberStatus::Active;
            m.deactivated_at = None;
            m.reassign_to = None;
            m.reactivated_at = Some(meta.at);
        }),
        Event::UserLoggedIn(e) => with_member(team, e.user_id, |m| m.last_login_at = Some(meta.at)),
        Event::ProfileUpdated(e) => with_member(team, e.user_id, |m| m.profile = e.to.clone()),
        // Only the envelope's key and place in the chain matter.
        Event::CommandUnchanged(_) => team,
    }
}

fn override_of(state: Toggle, meta: &FoldMeta) -> Override {
    Override {
        state,
        by: meta.actor,
        at: meta.at,
        position: meta.position,
        reason: meta.reason.clone(),
    }
}

/// Expiry of an invitation sent at `now` under a catalog's time-to-live; `None`
/// when it would fall outside the representable dates.
pub(crate) fn expiry(now: DateTime<Utc>, ttl_hours: u32) -> Option<DateTime<Utc>> {
    now.checked_add_signed(Duration::try_hours(i64::from(ttl_hours))?)
}
