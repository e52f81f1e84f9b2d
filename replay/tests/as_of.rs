//! As-of answers, the access review and the diff over Acme's morning, directly
//! over events and through a log with snapshots (which must change nothing).

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::{ANN, BOB, CARA, MemoryLog, TENANT, acme, at, minutes};
use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::OWNER;
use rollcall_aggregates::{MemberStatus, Source};
use rollcall_events::{Actor, Permission};
use rollcall_replay::snapshot::TeamSnapshot;
use rollcall_replay::{
    SnapshotStore, TeamHistory, access_review, diff, diff_events, effective_as_of, holders_as_of,
    review_csv, team_as_of,
};

fn perms(events: &[rollcall_events::Envelope], at: DateTime<Utc>) -> Vec<String> {
    effective_as_of(events, BOB, at)
        .map(|e| e.permissions.keys().map(|p| p.to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn effective_permissions_follow_the_history() {
    let events = acme().decoded;
    assert_eq!(
        effective_as_of(&events, BOB, at(9, 29)),
        None,
        "not yet invited"
    );
    let invited = effective_as_of(&events, BOB, at(9, 32)).expect("invited");
    assert_eq!(invited.status, MemberStatus::Invited);
    assert!(invited.permissions.is_empty());
    assert_eq!(
        perms(&events, at(9, 40)),
        ["contacts.view", "projects.view"]
    );
    assert_eq!(
        perms(&events, at(10, 0)),
        ["billing.view", "contacts.view", "projects.view"],
        "an event at the very instant counts"
    );
    let left = effective_as_of(&events, BOB, at(11, 5)).expect("still known");
    assert_eq!(left.status, MemberStatus::Deactivated);
    assert!(left.permissions.is_empty());
}

#[test]
fn holders_of_a_permission_with_their_sources() {
    let events = acme().decoded;
    let billing = Permission::from("billing.view");
    let holders = holders_as_of(&events, &billing, at(10, 5));
    let who: Vec<_> = holders
        .iter()
        .map(|h| (h.display_name.as_str(), h.sources.clone()))
        .collect();
    assert_eq!(
        who,
        vec![
            (
                "Olive Owner",
                vec![Source::Role {
                    role: "admin".into()
                }]
            ),
            (
                "Bob",
                vec![Source::Override {
                    by: Actor::User(OWNER),
                    at: at(10, 0),
                    position: 6
                }]
            ),
        ]
    );
    let after = holders_as_of(&events, &billing, at(11, 5));
    assert_eq!(after.len(), 1, "Bob left");
    let projects = holders_as_of(&events, &Permission::from("projects.view"), at(10, 5));
    assert!(
        projects.iter().all(|h| h.scope.is_some()),
        "projects is scoped"
    );
}

#[test]
fn snapshots_round_trip_the_team() {
    let team = acme().team;
    let at = at(10, 0);
    let snapshot = TeamSnapshot::of(&team, TENANT, at, at).expect("snapshot");
    let bytes = rollcall_projections::stored::encode(&snapshot).expect("serialises");
    let back: TeamSnapshot = rollcall_projections::stored::decode(&bytes).expect("deserialises");
    assert_eq!(back, snapshot);
    assert_eq!(back.into_team().expect("a team"), team);
}

fn instants() -> Vec<DateTime<Utc>> {
    (0..50).map(|i| at(8, 55) + minutes(5 * i)).collect()
}

#[tokio::test]
async fn a_log_with_snapshots_answers_as_the_events_do() {
    let scenario = acme();
    let log = Arc::new(MemoryLog::with(scenario.raw.clone()));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("sled");
    let histories = [
        TeamHistory::new(log.clone(), None),
        TeamHistory::new(log.clone(), Some(SnapshotStore::in_memory(2))),
        TeamHistory::new(
            log.clone(),
            Some(SnapshotStore::open(&db, 3).expect("store")),
        ),
    ];
    // Build the sled snapshots up front; the memory ones build as queries pass.
    assert_eq!(histories[2].catch_up(TENANT).await.expect("catch up"), 10);
    for history in &histories {
        for t in instants() {
            let expected = team_as_of(&scenario.decoded, t);
            let team = history.team_at(TENANT, t).await.expect("team");
            assert_eq!(team, expected, "at {t}");
        }
    }
    let store = SnapshotStore::open(&db, 3).expect("store");
    assert_eq!(store.newest_seq(TENANT).expect("newest"), 9);
}

#[test]
fn the_access_review_lists_everyone_with_the_name_they_had() {
    let events = acme().decoded;
    let before = access_review(&team_as_of(&events, at(11, 15)), at(11, 15));
    let names: Vec<_> = before
        .members
        .iter()
        .map(|m| (m.display_name.as_str(), m.status))
        .collect();
    assert_eq!(
        names,
        [
            ("Olive Owner", MemberStatus::Active),
            ("Ann", MemberStatus::Active),
            ("Bob", MemberStatus::Deactivated),
        ]
    );
    let later = access_review(&team_as_of(&events, at(12, 0)), at(12, 0));
    let ann = later
        .members
        .iter()
        .find(|m| m.user_id == ANN)
        .expect("ann");
    assert_eq!(ann.display_name, "Ann Smith");
    assert!(later.members.iter().any(|m| m.user_id == CARA));
}

#[test]
fn the_access_review_as_json() {
    let events = acme().decoded;
    let review = access_review(&team_as_of(&events, at(11, 15)), at(11, 15));
    insta::assert_json_snapshot!(review);
}

#[test]
fn the_access_review_as_csv() {
    let events = acme().decoded;
    let review = access_review(&team_as_of(&events, at(12, 0)), at(12, 0));
    let mut out = Vec::new();
    review_csv(&review, &mut out).expect("csv");
    insta::assert_snapshot!(String::from_utf8(out).expect("utf-8"));
}

#[test]
fn the_diff_between_two_instants() {
    let events = acme().decoded;
    let diff = diff_events(&events, at(9, 40), at(11, 15));
    insta::assert_json_snapshot!(diff);
}

#[tokio::test]
async fn the_diff_through_a_log_equals_the_diff_over_events() {
    let scenario = acme();
    let log = Arc::new(MemoryLog::with(scenario.raw.clone()));
    let history = TeamHistory::new(log, Some(SnapshotStore::in_memory(4)));
    for (from, to) in [
        (at(8, 0), at(13, 0)),
        (at(9, 40), at(11, 15)),
        (at(10, 0), at(10, 0)),
        (at(12, 30), at(13, 0)),
        (at(9, 10), at(9, 20)),
    ] {
        let expected = diff_events(&scenario.decoded, from, to);
        let got = diff(&history, TENANT, from, to).await.expect("diff");
        assert_eq!(got, expected, "{from}..{to}");
    }
}

#[test]
fn a_permission_taken_and_given_back_is_no_change() {
    let mut s = acme();
    for (minute, state) in [
        (0, rollcall_events::Toggle::Deny),
        (5, rollcall_events::Toggle::Inherit),
    ] {
        s.run(
            Actor::User(OWNER),
            at(13, minute),
            None,
            rollcall_aggregates::Command::TogglePermission {
                user_id: ANN,
                permission: Permission::from("contacts.delete"),
                state,
            },
        );
    }
    let diff = diff_events(&s.decoded, at(12, 30), at(13, 10));
    assert_eq!(diff.members, vec![]);
    let half = diff_events(&s.decoded, at(12, 30), at(13, 2));
    assert_eq!(half.members.len(), 1);
    assert_eq!(
        half.members[0].revoked[0].permission,
        Permission::from("contacts.delete")
    );
}
