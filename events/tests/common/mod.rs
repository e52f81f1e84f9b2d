//! One sample of every event type, sealed with fixed ids and times, shared by the
//! wire-format and hash-chain tests.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use rollcall_events::catalog::{ActionDoc, AreaDoc, PlanDoc, RoleDoc, ScopeDoc};
use rollcall_events::*;
use uuid::Uuid;

pub const TENANT: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0001;
pub const OWNER: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0a01;
pub const MEMBER: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0a02;
pub const INVITATION: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0b01;

/// The `prev_hash` every sample after the first is sealed with: a fixed value, so
/// each snapshot stands alone instead of shifting when an earlier sample changes.
pub const PREV_HASH: &str = "5f1a0c7e3b9d2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";

pub fn owner() -> UserId {
    UserId::from_u128(OWNER)
}

pub fn member() -> UserId {
    UserId::from_u128(MEMBER)
}

pub fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 14, hour, minute, 0)
        .single()
        .unwrap_or_default()
}

fn perm(p: &str) -> Permission {
    Permission::from(p)
}

fn perms(ps: &[&str]) -> Vec<Permission> {
    ps.iter().map(|p| perm(p)).collect()
}

fn action(key: &str, label: &str) -> ActionDoc {
    ActionDoc {
        key: key.to_owned(),
        label: label.to_owned(),
        description: String::new(),
    }
}

/// A small catalog that sets every optional field, so the snapshot shows the whole
/// catalog shape as carried in `tenant.created`.
pub fn full_catalog() -> CatalogDoc {
    CatalogDoc {
        key: "sample".to_owned(),
        label: "Sample".to_owned(),
        description: "Every field set.".to_owned(),
        areas: vec![
            AreaDoc {
                key: "projects".to_owned(),
                label: "Projects".to_owned(),
                description: "Scoped by office.".to_owned(),
                actions: vec![action("view", "View"), action("edit", "Edit")],
                scope: Some(ScopeDoc {
                    options: vec![Scope::Offices, Scope::All],
                    default: Scope::Offices,
                    lifted_by: BTreeMap::from([(Scope::Offices, perm("offices.all"))]),
                }),
                platform: Some("projects".to_owned()),
            },
            AreaDoc {
                key: "offices".to_owned(),
                label: "Offices".to_owned(),
                description: String::new(),
                actions: vec![ActionDoc {
                    key: "all".to_owned(),
                    label: "Access All Offices".to_owned(),
                    description: "Lifts the office scope.".to_owned(),
                }],
                scope: None,
                platform: None,
            },
            AreaDoc {
                key: "team".to_owned(),
                label: "Team".to_owned(),
                description: String::new(),
                actions: vec![action("manage", "Manage")],
                scope: None,
                platform: None,
            },
        ],
        requires: BTreeMap::from([(perm("projects.edit"), perms(&["projects.view"]))]),
        roles: vec![
            RoleDoc {
                key: RoleKey::from("admin"),
                label: "Admin".to_owned(),
                description: "Everything but editing.".to_owned(),
                grants: perms(&["*"]),
                except: perms(&["projects.edit"]),
            },
            RoleDoc {
                key: RoleKey::from("viewer"),
                label: "Viewer".to_owned(),
                description: String::new(),
                grants: perms(&["projects.view"]),
                except: Vec::new(),
            },
        ],
        default_role: Some(RoleKey::from("viewer")),
        multi_role: true,
        owner_roles: vec![RoleKey::from("admin")],
        team_permission: perm("team.manage"),
        billing_permission: None,
        view_actions: vec!["view".to_owned()],
        plans: vec![
            PlanDoc {
                key: "lite".to_owned(),
                label: "Lite".to_owned(),
                always_on: perms(&["projects.view"]),
                unavailable: perms(&["offices.*"]),
                custom_roles: false,
                max_offices: Some(1),
            },
            PlanDoc {
                key: "full".to_owned(),
                label: "Full".to_owned(),
                always_on: Vec::new(),
                unavailable: Vec::new(),
                custom_roles: true,
                max_offices: None,
            },
        ],
        default_plan: "full".to_owned(),
        invite_ttl_hours: 48,
        invite_requires_mfa: true,
        edit_active_members_only: true,
        profile_links: vec!["assignee".to_owned()],
    }
}

/// The smallest catalog: every optional field left at its default.
pub fn minimal_catalog() -> CatalogDoc {
    CatalogDoc {
        key: "minimal".to_owned(),
        label: "Minimal".to_owned(),
        description: String::new(),
        areas: vec![AreaDoc {
            key: "team".to_owned(),
            label: "Team".to_owned(),
            description: String::new(),
            actions: vec![action("manage", "Manage")],
            scope: None,
            platform: None,
        }],
        requires: BTreeMap::new(),
        roles: vec![RoleDoc {
            key: RoleKey::from("admin"),
            label: "Admin".to_owned(),
            description: String::new(),
            grants: perms(&["*"]),
            except: Vec::new(),
        }],
        default_role: None,
        multi_role: false,
        owner_roles: vec![RoleKey::from("admin")],
        team_permission: perm("team.manage"),
        billing_permission: None,
        view_actions: vec!["view".to_owned(), "read".to_owned()],
        plans: vec![PlanDoc {
            key: "basic".to_owned(),
            label: "Basic".to_owned(),
            always_on: Vec::new(),
            unavailable: Vec::new(),
            custom_roles: false,
            max_offices: None,
        }],
        default_plan: "basic".to_owned(),
        invite_ttl_hours: 72,
        invite_requires_mfa: false,
        edit_active_members_only: false,
        profile_links: Vec::new(),
    }
}

fn spec(label: &str, grants: &[&str]) -> RoleSpec {
    RoleSpec {
        label: label.to_owned(),
        grants: perms(grants),
    }
}

/// One event of every type, in the order of `Event::TYPES`.
pub fn samples() -> Vec<Event> {
    let invitation = InvitationId::from_u128(INVITATION);
    vec![
        Event::TenantCreated(TenantCreated {
            name: "Acme Audio".to_owned(),
            catalog: full_catalog(),
            plan: "full".to_owned(),
            owner_id: owner(),
            owner_email: "owner@acme.example".to_owned(),
            owner_display_name: "Olivia Owner".to_owned(),
            owner_roles: vec![RoleKey::from("admin")],
        }),
        Event::CatalogDefined(CatalogDefined {
            version: 2,
            catalog: minimal_catalog(),
        }),
        Event::PlanChanged(PlanChanged {
            from: "full".to_owned(),
            to: "lite".to_owned(),
        }),
        Event::RoleCreated(RoleCreated {
            role: RoleKey::from("scheduler"),
            label: "Scheduler Only".to_owned(),
            grants: perms(&["calendar.*"]),
        }),
        Event::RoleUpdated(RoleUpdated {
            role: RoleKey::from("scheduler"),
            from: spec("Scheduler Only", &["calendar.*"]),
            to: spec("Scheduler", &["calendar.*", "contacts.view"]),
        }),
        Event::RoleDeleted(RoleDeleted {
            role: RoleKey::from("scheduler"),
            was: spec("Scheduler", &["calendar.*", "contacts.view"]),
        }),
        Event::UserInvited(UserInvited {
            user_id: member(),
            invitation_id: invitation,
            email: "mia@acme.example".to_owned(),
            display_name: "Mia Member".to_owned(),
            kind: MemberKind::Member,
            roles: vec![RoleKey::from("viewer")],
            overrides: BTreeMap::from([
                (perm("projects.edit"), Toggle::Allow),
                (perm("costs.view"), Toggle::Deny),
            ]),
            nonce: "n0nce-sample-1".to_owned(),
            expires_at: at(9, 0) + chrono::Duration::hours(72),
        }),
        Event::InvitationResent(InvitationResent {
            user_id: member(),
            invitation_id: invitation,
            nonce: "n0nce-sample-2".to_owned(),
            previous_expires_at: at(9, 0) + chrono::Duration::hours(72),
            expires_at: at(10, 0) + chrono::Duration::hours(96),
        }),
        Event::InvitationCanceled(InvitationCanceled {
            user_id: member(),
            invitation_id: invitation,
        }),
        Event::InvitationAccepted(InvitationAccepted {
            user_id: member(),
            invitation_id: invitation,
        }),
        Event::RolesChanged(RolesChanged {
            user_id: member(),
            from: vec![RoleKey::from("viewer")],
            to: vec![RoleKey::from("viewer"), RoleKey::from("admin")],
        }),
        Event::PermissionToggled(PermissionToggled {
            user_id: member(),
            permission: perm("projects.edit"),
            from: Toggle::Inherit,
            to: Toggle::Deny,
        }),
        Event::ScopeChanged(ScopeChanged {
            user_id: member(),
            area: "contacts".to_owned(),
            from: Scope::All,
            to: Scope::Assigned,
        }),
        Event::OfficesChanged(OfficesChanged {
            user_id: member(),
            from: vec![OfficeId::from("austin")],
            to: vec![OfficeId::from("austin"), OfficeId::from("denver")],
        }),
        Event::AllowedNetworksChanged(AllowedNetworksChanged {
            user_id: member(),
            from: Vec::new(),
            to: vec!["203.0.113.0/24".to_owned(), "2001:db8::/32".to_owned()],
        }),
        Event::UserDeactivated(UserDeactivated {
            user_id: member(),
            reassign_to: Some(owner()),
            roles: vec![RoleKey::from("viewer"), RoleKey::from("admin")],
        }),
        Event::UserReactivated(UserReactivated { user_id: member() }),
        Event::UserLoggedIn(UserLoggedIn {
            user_id: member(),
            source_ip: Some("203.0.113.7".to_owned()),
        }),
        Event::ProfileUpdated(ProfileUpdated {
            user_id: member(),
            from: Profile {
                display_name: "Mia Member".to_owned(),
                must_change_password: true,
                links: BTreeMap::new(),
            },
            to: Profile {
                display_name: "Mia M. Member".to_owned(),
                must_change_password: false,
                links: BTreeMap::from([("assignee".to_owned(), "MIA".to_owned())]),
            },
        }),
        Event::CommandUnchanged(CommandUnchanged {
            command: "toggle_permission".to_owned(),
        }),
    ]
}

/// Fixed metadata for the `index`-th sample: the first is the operator creating
/// the tenant; the rest are the owner's commands, some with a reason and an
/// idempotency key so both the present and the absent forms are pinned.
pub fn meta(index: usize) -> EventMeta {
    let seq = index as u64 + 1;
    EventMeta {
        event_id: EventId::from_u128(0x0190_0000_0000_7000_8000_0000_0001_0000 + seq as u128),
        tenant_id: TenantId::from_u128(TENANT),
        tenant_seq: seq,
        occurred_at: at(9, index as u32),
        actor: if index == 0 {
            Actor::Operator
        } else {
            Actor::User(owner())
        },
        reason: (index % 3 == 1).then(|| format!("sample reason {seq}")),
        correlation_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0002_0000 + seq as u128),
        idempotency_key: (index % 4 == 2).then(|| format!("idem-{seq}")),
    }
}

pub fn prev_hash(index: usize) -> &'static str {
    if index == 0 { GENESIS_HASH } else { PREV_HASH }
}

/// Every sample sealed with its fixed metadata.
pub fn sealed() -> Vec<RawEnvelope> {
    samples()
        .iter()
        .enumerate()
        .map(|(i, event)| RawEnvelope::seal(meta(i), prev_hash(i), event))
        .collect()
}
