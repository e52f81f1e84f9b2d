//! What the projections persist: types of their own, encoded compactly
//! (postcard), under one schema version. The domain may change its structs
//! freely: these change only with [`SCHEMA_VERSION`], and a store of another
//! version is rebuilt from the log rather than misread.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rollcall_aggregates::{
    Catalog, Invitation, Member, MemberStatus, Override, Role, Team, TeamParts,
};
use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::{
    Actor, InvitationId, MemberKind, OfficeId, Permission, Profile, RoleKey, TenantId, Toggle,
    UserId,
};
use serde::{Deserialize, Serialize};

/// The layout and encoding of everything below. A store written under another
/// version is rebuilt from the log.
pub const SCHEMA_VERSION: u32 = 4;

/// An instant, exactly (seconds and nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instant(i64, u32);

impl From<DateTime<Utc>> for Instant {
    fn from(t: DateTime<Utc>) -> Self {
        Instant(t.timestamp(), t.timestamp_subsec_nanos())
    }
}

/// A stored value that does not make sense (only a damaged store holds one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored instant is out of range ({0} s, {1} ns)")]
pub struct OutOfRange(i64, u32);

impl Instant {
    pub fn time(self) -> Result<DateTime<Utc>, OutOfRange> {
        DateTime::from_timestamp(self.0, self.1).ok_or(OutOfRange(self.0, self.1))
    }
}

fn opt(t: Option<DateTime<Utc>>) -> Option<Instant> {
    t.map(Instant::from)
}

fn time(t: Option<Instant>) -> Result<Option<DateTime<Utc>>, OutOfRange> {
    t.map(Instant::time).transpose()
}

/// An actor: `None` is the operator.
pub type StoredActor = Option<[u8; 16]>;

pub fn actor_of(a: Actor) -> StoredActor {
    a.user().map(|u| *u.0.as_bytes())
}

pub fn actor_from(a: StoredActor) -> Actor {
    a.map_or(Actor::Operator, |b| {
        Actor::User(UserId(uuid::Uuid::from_bytes(b)))
    })
}

/// A tenant's vocabulary — its catalog and roles — stored apart from the team
/// header: it changes rarely and is the largest part of a tenant's state, so a
/// batch rewrites it only when an event changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVocabulary {
    /// The catalog document as JSON (its optional fields need a self-describing
    /// format).
    pub catalog: Option<String>,
    pub roles: Vec<StoredRole>,
}

impl StoredVocabulary {
    pub fn of(team: &Team) -> Result<StoredVocabulary, serde_json::Error> {
        Ok(StoredVocabulary {
            catalog: team
                .catalog()
                .map(|c| serde_json::to_string(c.doc()))
                .transpose()?,
            roles: team
                .roles
                .values()
                .map(|r| StoredRole {
                    key: r.key.as_str().to_owned(),
                    label: r.label.clone(),
                    description: r.description.clone(),
                    grants: r.grants.iter().map(|g| g.as_str().to_owned()).collect(),
                    except: r.except.iter().map(|g| g.as_str().to_owned()).collect(),
                    builtin: r.builtin,
                })
                .collect(),
        })
    }
}

/// A tenant's team without its members (they are stored one by one) nor its
/// vocabulary (a [`StoredVocabulary`] of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTeam {
    pub tenant_id: [u8; 16],
    pub name: String,
    pub catalog_version: u32,
    pub plan: String,
    pub tenant_seq: u64,
    pub head_hash: String,
    pub position: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRole {
    pub key: String,
    pub label: String,
    pub description: String,
    pub grants: Vec<String>,
    pub except: Vec<String>,
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredStatus {
    Invited,
    Active,
    Deactivated,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOverride {
    pub permission: String,
    pub allow: bool,
    pub by: StoredActor,
    pub at: Instant,
    pub position: u64,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInvitation {
    pub id: [u8; 16],
    pub nonce: String,
    pub sent_at: Instant,
    pub expires_at: Instant,
    pub accepted_at: Option<Instant>,
    pub canceled_at: Option<Instant>,
}

/// One member, every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMember {
    pub user_id: [u8; 16],
    pub email: String,
    pub display_name: String,
    pub must_change_password: bool,
    pub links: Vec<(String, String)>,
    pub external: bool,
    pub status: StoredStatus,
    pub roles: Vec<String>,
    pub overrides: Vec<StoredOverride>,
    /// Area and scope (0 all, 1 assigned, 2 offices).
    pub scopes: Vec<(String, u8)>,
    pub offices: Vec<String>,
    pub networks: Vec<String>,
    pub invitation: Option<StoredInvitation>,
    pub invited_at: Option<Instant>,
    pub accepted_at: Option<Instant>,
    pub last_login_at: Option<Instant>,
    pub deactivated_at: Option<Instant>,
    pub reassign_to: Option<[u8; 16]>,
    pub reactivated_at: Option<Instant>,
}

fn scope_code(s: Scope) -> u8 {
    match s {
        Scope::All => 0,
        Scope::Assigned => 1,
        Scope::Offices => 2,
    }
}

fn scope_of(code: u8) -> Scope {
    match code {
        1 => Scope::Assigned,
        2 => Scope::Offices,
        _ => Scope::All,
    }
}

impl From<&Member> for StoredMember {
    fn from(m: &Member) -> Self {
        StoredMember {
            user_id: *m.user_id.0.as_bytes(),
            email: m.email.clone(),
            display_name: m.profile.display_name.clone(),
            must_change_password: m.profile.must_change_password,
            links: m
                .profile
                .links
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            external: m.kind == MemberKind::External,
            status: match m.status {
                MemberStatus::Invited => StoredStatus::Invited,
                MemberStatus::Active => StoredStatus::Active,
                MemberStatus::Deactivated => StoredStatus::Deactivated,
                MemberStatus::Canceled => StoredStatus::Canceled,
            },
            roles: m.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            overrides: m
                .overrides
                .iter()
                .map(|(p, o)| StoredOverride {
                    permission: p.as_str().to_owned(),
                    allow: o.state == Toggle::Allow,
                    by: actor_of(o.by),
                    at: o.at.into(),
                    position: o.position,
                    reason: o.reason.clone(),
                })
                .collect(),
            scopes: m
                .scopes
                .iter()
                .map(|(a, s)| (a.clone(), scope_code(*s)))
                .collect(),
            offices: m.offices.iter().map(|o| o.as_str().to_owned()).collect(),
            networks: m.networks.clone(),
            invitation: m.invitation.as_ref().map(|i| StoredInvitation {
                id: *i.id.0.as_bytes(),
                nonce: i.nonce.clone(),
                sent_at: i.sent_at.into(),
                expires_at: i.expires_at.into(),
                accepted_at: opt(i.accepted_at),
                canceled_at: opt(i.canceled_at),
            }),
            invited_at: opt(m.invited_at),
            accepted_at: opt(m.accepted_at),
            last_login_at: opt(m.last_login_at),
            deactivated_at: opt(m.deactivated_at),
            reassign_to: m.reassign_to.map(|u| *u.0.as_bytes()),
            reactivated_at: opt(m.reactivated_at),
        }
    }
}

impl TryFrom<StoredMember> for Member {
    type Error = OutOfRange;

    fn try_from(s: StoredMember) -> Result<Self, OutOfRange> {
        let overrides = s
            .overrides
            .into_iter()
            .map(|o| {
                Ok((
                    Permission::new(o.permission),
                    Override {
                        state: if o.allow { Toggle::Allow } else { Toggle::Deny },
                        by: actor_from(o.by),
                        at: o.at.time()?,
                        position: o.position,
                        reason: o.reason,
                    },
                ))
            })
            .collect::<Result<_, OutOfRange>>()?;
        let invitation = match s.invitation {
            Some(i) => Some(Invitation {
                id: InvitationId(uuid::Uuid::from_bytes(i.id)),
                nonce: i.nonce,
                sent_at: i.sent_at.time()?,
                expires_at: i.expires_at.time()?,
                accepted_at: time(i.accepted_at)?,
                canceled_at: time(i.canceled_at)?,
            }),
            None => None,
        };
        Ok(Member {
            user_id: UserId(uuid::Uuid::from_bytes(s.user_id)),
            email: s.email,
            profile: Profile {
                display_name: s.display_name,
                must_change_password: s.must_change_password,
                links: s.links.into_iter().collect(),
            },
            kind: if s.external {
                MemberKind::External
            } else {
                MemberKind::Member
            },
            status: match s.status {
                StoredStatus::Invited => MemberStatus::Invited,
                StoredStatus::Active => MemberStatus::Active,
                StoredStatus::Deactivated => MemberStatus::Deactivated,
                StoredStatus::Canceled => MemberStatus::Canceled,
            },
            roles: s.roles.into_iter().map(RoleKey::new).collect(),
            overrides,
            scopes: s
                .scopes
                .into_iter()
                .map(|(a, code)| (a, scope_of(code)))
                .collect(),
            offices: s.offices.into_iter().map(OfficeId::new).collect(),
            networks: s.networks,
            invitation,
            invited_at: time(s.invited_at)?,
            accepted_at: time(s.accepted_at)?,
            last_login_at: time(s.last_login_at)?,
            deactivated_at: time(s.deactivated_at)?,
            reassign_to: s.reassign_to.map(|b| UserId(uuid::Uuid::from_bytes(b))),
            reactivated_at: time(s.reactivated_at)?,
        })
    }
}

impl StoredTeam {
    pub fn of(team: &Team, tenant: TenantId) -> StoredTeam {
        StoredTeam {
            tenant_id: *tenant.0.as_bytes(),
            name: team.name.clone(),
            catalog_version: team.catalog_version,
            plan: team.plan.clone(),
            tenant_seq: team.tenant_seq,
            head_hash: team.head_hash.clone(),
            position: team.position,
        }
    }

    /// The team again, with its vocabulary and members; an error when its
    /// catalog no longer parses (a store to rebuild).
    pub fn into_team(
        self,
        vocabulary: StoredVocabulary,
        members: Vec<Member>,
    ) -> Result<Team, serde_json::Error> {
        let catalog = match vocabulary.catalog {
            Some(json) => {
                let doc: CatalogDoc = serde_json::from_str(&json)?;
                Some(Arc::new(Catalog::index(doc)))
            }
            None => None,
        };
        let roles: BTreeMap<RoleKey, Role> = vocabulary
            .roles
            .into_iter()
            .map(|r| {
                let key = RoleKey::new(r.key);
                (
                    key.clone(),
                    Role {
                        key,
                        label: r.label,
                        description: r.description,
                        grants: r.grants.into_iter().map(Permission::new).collect(),
                        except: r.except.into_iter().map(Permission::new).collect(),
                        builtin: r.builtin,
                    },
                )
            })
            .collect();
        Ok(Team::from(TeamParts {
            tenant_id: Some(TenantId(uuid::Uuid::from_bytes(self.tenant_id))),
            name: self.name,
            catalog,
            catalog_version: self.catalog_version,
            plan: self.plan,
            roles,
            members: members
                .into_iter()
                .map(|m| (m.user_id, Arc::new(m)))
                .collect(),
            tenant_seq: self.tenant_seq,
            head_hash: self.head_hash,
            position: self.position,
        }))
    }
}

/// Encodes a stored value.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(value)
}

/// Decodes a stored value.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollcall_aggregates::testing::*;
    use rollcall_events::{Event, PermissionToggled, ScopeChanged};

    #[test]
    fn a_member_round_trips_exactly() {
        let team = given([tenant_created(catalogs::small())])
            .and_by(Actor::Operator, joined(user(2), &["user"]))
            .and_by(
                Actor::User(OWNER),
                [
                    Event::PermissionToggled(PermissionToggled {
                        user_id: user(2),
                        permission: "contacts.delete".into(),
                        from: Toggle::Inherit,
                        to: Toggle::Deny,
                    }),
                    Event::ScopeChanged(ScopeChanged {
                        user_id: user(2),
                        area: "contacts".into(),
                        from: Scope::All,
                        to: Scope::Assigned,
                    }),
                ],
            )
            .into_team();
        let member = team.member(user(2)).unwrap().clone();
        let bytes = encode(&StoredMember::from(&member)).unwrap();
        let back = Member::try_from(decode::<StoredMember>(&bytes).unwrap()).unwrap();
        assert_eq!(back, member);
        let header = encode(&StoredTeam::of(&team, TENANT)).unwrap();
        let vocabulary = encode(&StoredVocabulary::of(&team).unwrap()).unwrap();
        let members = team.members.values().map(|m| (**m).clone()).collect();
        let again = decode::<StoredTeam>(&header)
            .unwrap()
            .into_team(decode(&vocabulary).unwrap(), members)
            .unwrap();
        assert_eq!(again, team);
    }
}
