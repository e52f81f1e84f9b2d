//! Specification helpers behind the `testing` feature, so other crates' tests can
//! reuse them: `given([events]).when(command).then(event)` / `.then_err(error)`,
//! envelope sealing and a few fixture catalogs.
//!
//! Events given are sealed into real envelopes (`RawEnvelope::seal(..).decode()`),
//! tenant_seq and position 1, 2, 3…, so `evolve` sees exactly what the log hands it.

use chrono::{DateTime, TimeZone, Utc};
use rollcall_events::catalog::CatalogDoc;
use std::collections::BTreeMap;

use rollcall_events::{
    Actor, Envelope, Event, EventId, EventMeta, InvitationAccepted, InvitationId, MemberKind,
    RawEnvelope, RoleKey, TenantCreated, TenantId, UserId, UserInvited,
};

use crate::team::{Command, Context, DomainError, Team, decide, evolve};

/// The tenant every fixture lives in.
pub const TENANT: TenantId = TenantId(uuid::Uuid::from_u128(0x7e7a));
/// The owner created with every fixture tenant: the first admin.
pub const OWNER: UserId = UserId(uuid::Uuid::from_u128(1));

/// A fixed instant; fixtures never read the clock.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Seals events (each with its actor) into decoded envelopes continuing `team`'s
/// chain: tenant_seq and position follow the team's last ones.
///
/// Panics if an event does not survive its own encoding, which is a bug in the
/// vocabulary that a test should report.
pub fn seal_after(team: &Team, events: impl IntoIterator<Item = (Actor, Event)>) -> Vec<Envelope> {
    let mut seq = team.tenant_seq;
    let mut prev = team.head_hash.clone();
    let mut position = team.position;
    events
        .into_iter()
        .map(|(actor, event)| {
            seq += 1;
            position += 1;
            let envelope = seal_one(seq, position, &prev, actor, t0(), &event);
            prev = envelope.hash.clone();
            envelope
        })
        .collect()
}

fn seal_one(
    seq: u64,
    position: u64,
    prev: &str,
    actor: Actor,
    at: DateTime<Utc>,
    event: &Event,
) -> Envelope {
    let meta = EventMeta {
        event_id: EventId(uuid::Uuid::from_u128(u128::from(seq))),
        tenant_id: TENANT,
        tenant_seq: seq,
        occurred_at: at,
        actor,
        reason: None,
        correlation_id: uuid::Uuid::from_u128(u128::from(seq)),
        idempotency_key: None,
    };
    let mut raw = RawEnvelope::seal(meta, prev, event);
    raw.position = position;
    match raw.decode() {
        Ok(envelope) => envelope,
        Err(e) => panic!("{} does not decode after sealing: {e}", event.type_name()),
    }
}

/// Seals one event after `team` (caused by `actor` at `at`) and folds it in.
pub fn fold_one(team: Team, actor: Actor, at: DateTime<Utc>, event: &Event) -> Team {
    let envelope = seal_one(
        team.tenant_seq + 1,
        team.position + 1,
        &team.head_hash,
        actor,
        at,
        event,
    );
    evolve(team, &envelope)
}

/// Folds envelopes into a team.
pub fn fold<'a>(team: Team, envelopes: impl IntoIterator<Item = &'a Envelope>) -> Team {
    envelopes.into_iter().fold(team, evolve)
}

/// The events so far, folded from empty; the starting point of a specification.
pub struct Given {
    team: Team,
}

/// A command about to be decided against a [`Given`] team.
pub struct When {
    team: Team,
    command: Command,
    ctx: Context,
}

/// Continues a specification from a team (what [`When::then`] returned).
pub fn given_team(team: Team) -> Given {
    Given { team }
}

/// Starts a specification from events sealed with the operator as actor.
pub fn given(events: impl IntoIterator<Item = Event>) -> Given {
    Given {
        team: Team::default(),
    }
    .and_by(Actor::Operator, events)
}

impl Given {
    /// Appends more events caused by `actor`.
    pub fn and_by(self, actor: Actor, events: impl IntoIterator<Item = Event>) -> Given {
        let envelopes = seal_after(&self.team, events.into_iter().map(|e| (actor, e)));
        Given {
            team: fold(self.team, &envelopes),
        }
    }

    pub fn team(&self) -> &Team {
        &self.team
    }

    pub fn into_team(self) -> Team {
        self.team
    }

    /// The command, by default from [`OWNER`] at [`t0`] without MFA.
    pub fn when(self, command: Command) -> When {
        When {
            team: self.team,
            command,
            ctx: Context {
                now: t0(),
                actor: Actor::User(OWNER),
                mfa: false,
                reason: None,
            },
        }
    }
}

impl When {
    pub fn by(mut self, actor: Actor) -> When {
        self.ctx.actor = actor;
        self
    }

    pub fn at(mut self, now: DateTime<Utc>) -> When {
        self.ctx.now = now;
        self
    }

    pub fn with_mfa(mut self) -> When {
        self.ctx.mfa = true;
        self
    }

    pub fn because(mut self, reason: &str) -> When {
        self.ctx.reason = Some(reason.to_owned());
        self
    }

    pub fn result(&self) -> Result<Event, DomainError> {
        decide(&self.team, &self.command, &self.ctx)
    }

    /// Asserts the decision and returns the team with the event folded in.
    #[track_caller]
    pub fn then(self, expected: Event) -> Team {
        pretty_assertions::assert_eq!(self.result(), Ok(expected.clone()));
        fold_one(self.team, self.ctx.actor, self.ctx.now, &expected)
    }

    /// Asserts the rejection.
    #[track_caller]
    pub fn then_err(self, expected: DomainError) {
        pretty_assertions::assert_eq!(self.result(), Err(expected));
    }
}

/// Fixture catalogs.
pub mod catalogs {
    use super::*;

    /// A small CRM-like catalog exercising every feature: scopes, prerequisites,
    /// a lifting permission, plans with always-on and unavailable permissions.
    pub fn small() -> CatalogDoc {
        let doc = serde_json::json!({
            "key": "small",
            "label": "Small CRM",
            "areas": [
                {"key": "contacts", "label": "Contacts",
                 "actions": [{"key": "view", "label": "View"}, {"key": "edit", "label": "Edit"},
                             {"key": "delete", "label": "Delete"}],
                 "scope": {"options": ["all", "assigned"], "default": "all"}},
                {"key": "projects", "label": "Projects",
                 "actions": [{"key": "view", "label": "View"}, {"key": "edit", "label": "Edit"},
                             {"key": "share", "label": "Share"}],
                 "scope": {"options": ["all", "offices"], "default": "offices",
                           "lifted_by": {"offices": "offices.all"}}},
                {"key": "offices", "label": "Offices", "actions": [{"key": "all", "label": "All offices"}]},
                {"key": "billing", "label": "Billing",
                 "actions": [{"key": "view", "label": "View"}, {"key": "manage", "label": "Manage"}]},
                {"key": "team", "label": "Team",
                 "actions": [{"key": "view", "label": "View"}, {"key": "manage", "label": "Manage"}]}
            ],
            "requires": {"projects.edit": ["projects.view"], "projects.share": ["projects.edit"]},
            "roles": [
                {"key": "admin", "label": "Admin", "grants": ["*"]},
                {"key": "manager", "label": "Manager", "grants": ["*"], "except": ["billing.*"]},
                {"key": "user", "label": "User", "grants": ["contacts.*", "projects.view", "projects.edit"]},
                {"key": "viewer", "label": "Viewer", "grants": ["contacts.view", "projects.view"]}
            ],
            "multi_role": true,
            "owner_roles": ["admin"],
            "team_permission": "team.manage",
            "billing_permission": "billing.manage",
            "plans": [
                {"key": "pro", "label": "Pro", "custom_roles": true},
                {"key": "lite", "label": "Lite", "always_on": ["contacts.view"],
                 "unavailable": ["billing.view", "projects.share"], "max_offices": 1}
            ],
            "default_plan": "pro",
            "invite_ttl_hours": 72,
            "profile_links": ["assignee"]
        });
        serde_json::from_value(doc).expect("the small fixture catalog is well formed")
    }

    /// A job tracker: `read` is the only view action, no default role (a member
    /// without a role can do nothing), several roles per member, one plan.
    pub fn tracker() -> CatalogDoc {
        let area = |key: &str| {
            serde_json::json!({"key": key, "label": key, "actions": [
                {"key": "create", "label": "Create"}, {"key": "read", "label": "Read"},
                {"key": "update", "label": "Update"}, {"key": "delete", "label": "Delete"}]})
        };
        let doc = serde_json::json!({
            "key": "tracker",
            "label": "Job tracker",
            "areas": [area("accounts"), area("jobs"), area("quotes"),
                      {"key": "users", "label": "Users", "actions": [{"key": "manage", "label": "Manage"}]}],
            "roles": [{"key": "administrator", "label": "Administrator", "grants": ["*"]}],
            "multi_role": true,
            "owner_roles": ["administrator"],
            "team_permission": "users.manage",
            "view_actions": ["read"],
            "plans": [{"key": "standard", "label": "Standard", "custom_roles": true}],
            "default_plan": "standard"
        });
        serde_json::from_value(doc).expect("the tracker fixture catalog is well formed")
    }

    /// [`small`] with one role per member and `viewer` as the default role.
    pub fn single_role() -> CatalogDoc {
        CatalogDoc {
            multi_role: false,
            default_role: Some("viewer".into()),
            ..small()
        }
    }

    /// [`small`] where inviting requires an MFA step-up.
    pub fn with_mfa() -> CatalogDoc {
        CatalogDoc {
            invite_requires_mfa: true,
            ..small()
        }
    }

    /// [`small`] where access changes only for members who accepted (Jet Hub).
    pub fn active_only() -> CatalogDoc {
        CatalogDoc {
            edit_active_members_only: true,
            ..small()
        }
    }
}

/// `tenant.created` for [`TENANT`] with [`OWNER`] and the catalog's owner roles.
pub fn tenant_created(catalog: CatalogDoc) -> Event {
    Event::TenantCreated(TenantCreated {
        name: "Acme".to_owned(),
        plan: catalog.default_plan.clone(),
        owner_id: OWNER,
        owner_email: "owner@acme.test".to_owned(),
        owner_display_name: "Olive Owner".to_owned(),
        owner_roles: catalog.owner_roles.clone(),
        catalog,
    })
}

/// A fixture user id.
pub fn user(n: u128) -> UserId {
    UserId::from_u128(n)
}

/// The invitation id fixtures give `user`'s invitation.
pub fn invitation_of(user: UserId) -> InvitationId {
    InvitationId(user.as_uuid())
}

/// `user.invited` for a member `u{n}@acme.test` with these roles, nonce `n1`,
/// sent at [`t0`] for 72 hours.
pub fn invited(user: UserId, roles: &[&str]) -> Event {
    invited_as(user, roles, MemberKind::Member)
}

pub fn invited_as(user: UserId, roles: &[&str], kind: MemberKind) -> Event {
    Event::UserInvited(UserInvited {
        user_id: user,
        invitation_id: invitation_of(user),
        email: format!("u{}@acme.test", user.as_uuid().as_u128()),
        display_name: format!("User {}", user.as_uuid().as_u128()),
        kind,
        roles: roles.iter().map(|r| RoleKey::from(*r)).collect(),
        overrides: BTreeMap::new(),
        nonce: "n1".to_owned(),
        expires_at: t0() + chrono::Duration::hours(72),
    })
}

pub fn accepted(user: UserId) -> Event {
    Event::InvitationAccepted(InvitationAccepted {
        user_id: user,
        invitation_id: invitation_of(user),
    })
}

/// An invited and accepted (active) member.
pub fn joined(user: UserId, roles: &[&str]) -> [Event; 2] {
    [invited(user, roles), accepted(user)]
}
