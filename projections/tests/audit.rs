//! The audit history: one entry per event, names as of the event, before/after,
//! the access delta of every member an event touched, filters and pagination.

use pretty_assertions::assert_eq;
use rollcall_aggregates::Command;
use rollcall_aggregates::testing::{
    OWNER, TENANT, catalogs, invited, joined, tenant_created, user,
};
use rollcall_events::{Actor, Permission, RoleKey};
use rollcall_projections::testing::{History, projections};
use rollcall_projections::{AuditEntry, AuditQuery, ProjectionError};

/// The owner creates a custom role, gives it to five members, then widens it.
fn history() -> History {
    let mut h = History::new();
    let owner = Actor::User(OWNER);
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    h.decide(
        TENANT,
        owner,
        Command::CreateRole {
            role: RoleKey::from("sales"),
            label: "Sales".to_owned(),
            grants: vec![Permission::from("contacts.view")],
        },
    )
    .unwrap();
    for n in 2..=6 {
        for e in joined(user(n), &["sales"]) {
            h.push(TENANT, owner, e);
        }
    }
    h.push(TENANT, owner, invited(user(7), &["sales"]));
    h.push_with(
        TENANT,
        owner,
        Some("sales edit their contacts"),
        rollcall_events::Event::RoleUpdated(rollcall_events::RoleUpdated {
            role: RoleKey::from("sales"),
            from: rollcall_events::RoleSpec {
                label: "Sales".to_owned(),
                grants: vec![Permission::from("contacts.view")],
            },
            to: rollcall_events::RoleSpec {
                label: "Sales".to_owned(),
                grants: vec![
                    Permission::from("contacts.view"),
                    Permission::from("contacts.edit"),
                ],
            },
        }),
    );
    h.decide(
        TENANT,
        Actor::User(user(2)),
        Command::RecordLogin {
            user_id: user(2),
            source_ip: None,
        },
    )
    .unwrap();
    h.decide(
        TENANT,
        owner,
        Command::DeactivateUser {
            user_id: user(3),
            reassign_to: None,
        },
    )
    .unwrap();
    h
}

fn all(p: &rollcall_projections::Projections, query: AuditQuery) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    let mut query = query;
    loop {
        let page = p.audit(TENANT, &query).unwrap().expect("tenant");
        out.extend(page.entries);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn one_entry_per_event_in_log_order() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let entries = all(
        &p,
        AuditQuery {
            limit: Some(3),
            ..Default::default()
        },
    );
    let positions: Vec<u64> = entries.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=h.position()).collect::<Vec<_>>());
    for (entry, raw) in entries.iter().zip(&h.events) {
        assert_eq!(entry.event_type, raw.event_type);
        assert_eq!(entry.hash, raw.hash);
        assert_eq!(entry.prev_hash, raw.prev_hash);
    }
}

#[test]
fn role_update_lists_the_delta_of_every_member_it_changed() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let page = p
        .audit(
            TENANT,
            &AuditQuery {
                event_type: Some("role.updated".to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
        .expect("tenant");
    assert_eq!(page.entries.len(), 1);
    let entry = &page.entries[0];
    // Five active holders gain contacts.edit; the invited one holds nothing yet.
    let deltas: Vec<_> = entry
        .access_delta
        .iter()
        .map(|d| (d.user_id, d.gained.clone(), d.lost.clone()))
        .collect();
    let expected: Vec<_> = (2..=6)
        .map(|n| (user(n), vec!["contacts.edit".to_owned()], vec![]))
        .collect();
    assert_eq!(deltas, expected);
    assert_eq!(entry.reason.as_deref(), Some("sales edit their contacts"));
}

#[test]
fn audit_page_snapshot() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let page = p
        .audit(
            TENANT,
            &AuditQuery {
                cursor: Some("13".to_owned()),
                limit: Some(3),
                ..Default::default()
            },
        )
        .unwrap()
        .expect("tenant");
    insta::assert_json_snapshot!("audit_page", page);
}

#[test]
fn deactivated_members_keep_their_name_in_history() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let entries = all(
        &p,
        AuditQuery {
            user: Some(user(3)),
            ..Default::default()
        },
    );
    let names: Vec<_> = entries
        .iter()
        .map(|e| (e.event_type.as_str(), e.target_name.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("user.invited", Some("User 3")),
            ("invitation.accepted", Some("User 3")),
            ("user.deactivated", Some("User 3")),
        ]
    );
    let last = entries.last().unwrap();
    assert_eq!(last.access_delta.len(), 1);
    assert_eq!(
        last.access_delta[0].lost,
        vec!["contacts.edit".to_owned(), "contacts.view".to_owned()]
    );
    assert_eq!(last.actor_name.as_deref(), Some("Olive Owner"));
}

#[test]
fn filters_by_actor_type_and_time() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let by_operator = all(
        &p,
        AuditQuery {
            actor: Some(Actor::Operator),
            ..Default::default()
        },
    );
    assert_eq!(by_operator.len(), 1);
    assert_eq!(by_operator[0].event_type, "tenant.created");

    let by_u2 = all(
        &p,
        AuditQuery {
            actor: Some(Actor::User(user(2))),
            ..Default::default()
        },
    );
    assert_eq!(
        by_u2
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["user.logged_in"]
    );

    // Target and actor together: the owner's actions on u2.
    let owner_on_u2 = all(
        &p,
        AuditQuery {
            user: Some(user(2)),
            actor: Some(Actor::User(OWNER)),
            ..Default::default()
        },
    );
    assert_eq!(owner_on_u2.len(), 2);

    // from inclusive, to exclusive.
    let window = all(
        &p,
        AuditQuery {
            from: Some(History::at(3)),
            to: Some(History::at(6)),
            ..Default::default()
        },
    );
    assert_eq!(
        window.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );

    let accepted = all(
        &p,
        AuditQuery {
            event_type: Some("invitation.accepted".to_owned()),
            limit: Some(2),
            ..Default::default()
        },
    );
    assert_eq!(accepted.len(), 5);
}

#[test]
fn bad_cursor_and_limit_are_refused() {
    let p = projections();
    assert!(matches!(
        p.audit(
            TENANT,
            &AuditQuery {
                cursor: Some("x".into()),
                ..Default::default()
            }
        ),
        Err(ProjectionError::InvalidCursor { .. })
    ));
    assert!(matches!(
        p.audit(
            TENANT,
            &AuditQuery {
                limit: Some(1001),
                ..Default::default()
            }
        ),
        Err(ProjectionError::InvalidLimit {
            limit: 1001,
            max: 1000
        })
    ));
    assert!(matches!(
        p.audit(
            TENANT,
            &AuditQuery {
                limit: Some(0),
                ..Default::default()
            }
        ),
        Err(ProjectionError::InvalidLimit { limit: 0, .. })
    ));
}

#[test]
fn invitation_nonces_never_reach_the_audit() {
    let h = history();
    let p = projections();
    p.apply(h.events.clone()).unwrap();
    let json = serde_json::to_string(&all(&p, AuditQuery::default())).unwrap();
    assert!(!json.contains("nonce"));
    assert!(!json.contains("\"n1\""));
}
