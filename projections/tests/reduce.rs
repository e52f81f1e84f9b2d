//! The reducer returns data: the writes one event asks for, and nothing else.

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::{OWNER, TENANT, catalogs, joined, tenant_created, user};
use rollcall_events::{Actor, Event, RawEnvelope, UserLoggedIn};
use rollcall_projections::testing::History;
use rollcall_projections::{TenantState, ViewTree, Write, reduce};

fn trees(writes: &[Write]) -> BTreeMap<ViewTree, usize> {
    let mut count = BTreeMap::new();
    for w in writes {
        let tree = match w {
            Write::Put { tree, .. } | Write::Delete { tree, .. } => *tree,
        };
        *count.entry(tree).or_default() += 1;
    }
    count
}

fn fold(events: &[RawEnvelope]) -> (TenantState, Vec<Write>) {
    let mut state = TenantState::default();
    let mut last = Vec::new();
    for raw in events {
        let (next, writes) = reduce(state, &raw.decode().unwrap());
        state = next;
        last = writes;
    }
    (state, last)
}

#[test]
fn a_login_rewrites_one_member_and_adds_one_audit_entry() {
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    for e in joined(user(2), &["user"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    h.push(
        TENANT,
        Actor::User(user(2)),
        Event::UserLoggedIn(UserLoggedIn {
            user_id: user(2),
            source_ip: None,
        }),
    );
    let (state, writes) = fold(&h.events);
    assert_eq!(
        trees(&writes),
        BTreeMap::from([
            (ViewTree::TeamViews, 1),
            (ViewTree::Audit, 1),
            (ViewTree::AuditByTarget, 1),
            (ViewTree::AuditByActor, 1),
        ])
    );
    assert_eq!(*state.team, h.team(TENANT));
    assert_eq!(state.effective.len(), 2);

    // Pure: the same state and event give the same writes.
    let (again, writes_again) = fold(&h.events);
    assert_eq!(writes, writes_again);
    assert_eq!(state, again);
}

#[test]
fn tenant_creation_writes_the_catalog_roles_header_and_owner() {
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    let (_, writes) = fold(&h.events);
    assert_eq!(
        trees(&writes),
        BTreeMap::from([
            // Catalog view and the owner's record.
            (ViewTree::TeamViews, 2),
            // Catalog document, roles, header.
            (ViewTree::TeamState, 3),
            (ViewTree::Audit, 1),
            (ViewTree::AuditByTarget, 1),
            (ViewTree::AuditByActor, 1),
        ])
    );
}
