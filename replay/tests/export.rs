//! The audit export: one line per event in JSONL or CSV, filters, and the wire
//! formats pinned by snapshots.

mod common;

use common::{ANN, BOB, TENANT, acme, at, stream_of};
use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::OWNER;
use rollcall_events::{Actor, RawEnvelope};
use rollcall_replay::{ExportFilter, ExportFormat, ExportSummary, export};

async fn export_to_string(
    events: Vec<RawEnvelope>,
    filter: &ExportFilter,
    format: ExportFormat,
) -> (String, ExportSummary) {
    let mut out = Vec::new();
    let summary = export(stream_of(events), filter, format, &mut out)
        .await
        .expect("export runs");
    (String::from_utf8(out).expect("utf-8"), summary)
}

#[tokio::test]
async fn a_jsonl_page() {
    let filter = ExportFilter {
        from: Some(at(9, 30)),
        to: Some(at(11, 0)),
        ..Default::default()
    };
    let (jsonl, summary) = export_to_string(acme().raw, &filter, ExportFormat::Jsonl).await;
    assert_eq!(
        summary,
        ExportSummary {
            scanned: 10,
            written: 5
        }
    );
    for line in jsonl.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
    insta::assert_snapshot!(jsonl);
}

#[tokio::test]
async fn the_whole_trail_as_csv() {
    let (csv, summary) =
        export_to_string(acme().raw, &ExportFilter::default(), ExportFormat::Csv).await;
    assert_eq!(summary.written, 10);
    assert_eq!(csv.lines().count(), 11, "a header and one row per event");
    insta::assert_snapshot!(csv);
}

#[tokio::test]
async fn filters_by_user_actor_and_type() {
    let about_bob = ExportFilter {
        user: Some(BOB),
        ..Default::default()
    };
    let (jsonl, _) = export_to_string(acme().raw, &about_bob, ExportFormat::Jsonl).await;
    let types: Vec<String> = jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["type"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "user.invited",
            "invitation.accepted",
            "user.permission_toggled",
            "user.deactivated"
        ]
    );

    let by_ann = ExportFilter {
        actor: Some(Actor::User(ANN)),
        ..Default::default()
    };
    let (_, summary) = export_to_string(acme().raw, &by_ann, ExportFormat::Jsonl).await;
    assert_eq!(summary.written, 1, "Ann only accepted her invitation");

    let role_changes_by_owner = ExportFilter {
        actor: Some(Actor::User(OWNER)),
        types: vec!["user.roles_changed".into(), "user.deactivated".into()],
        tenant: Some(TENANT),
        ..Default::default()
    };
    let (_, summary) =
        export_to_string(acme().raw, &role_changes_by_owner, ExportFormat::Jsonl).await;
    assert_eq!(summary.written, 2);
}

#[tokio::test]
async fn an_empty_csv_export_still_names_its_columns() {
    let nothing = ExportFilter {
        from: Some(at(23, 0)),
        ..Default::default()
    };
    let (csv, summary) = export_to_string(acme().raw, &nothing, ExportFormat::Csv).await;
    assert_eq!(summary.written, 0);
    assert_eq!(
        csv,
        "position,tenant_id,tenant_seq,occurred_at,type,actor,target,reason,before,after,hash,prev_hash\n"
    );
}

#[tokio::test]
async fn an_event_this_build_cannot_decode_is_still_exported() {
    let mut events = acme().raw;
    events.truncate(2);
    events[1].event_type = "user.teleported".into();
    let (jsonl, summary) =
        export_to_string(events, &ExportFilter::default(), ExportFormat::Jsonl).await;
    assert_eq!(summary.written, 2);
    let last: serde_json::Value =
        serde_json::from_str(jsonl.lines().last().expect("line")).expect("json");
    assert_eq!(last["type"], "user.teleported");
    assert!(
        last["after"]
            .as_str()
            .is_some_and(|a| a.starts_with("undecodable:")),
        "{last}"
    );
}

#[tokio::test]
async fn no_nonce_reaches_the_export() {
    let (csv, _) = export_to_string(acme().raw, &ExportFilter::default(), ExportFormat::Csv).await;
    assert!(!csv.contains("nonce-1"));
}

#[tokio::test]
async fn an_envelope_export_verifies_on_its_own() {
    let (text, summary) = export_to_string(
        acme().raw,
        &ExportFilter::default(),
        ExportFormat::Envelopes,
    )
    .await;
    assert_eq!(summary.written, 10);
    let mut verifier = rollcall_replay::ChainVerifier::new(None);
    for line in text.lines() {
        let e = RawEnvelope::from_json_bytes(line.as_bytes()).expect("an envelope");
        assert!(e.hash_is_valid());
        verifier.push(&e);
    }
    let report = verifier.finish();
    assert!(report.is_intact());
    assert_eq!(report.tenant(TENANT).map(|c| c.events), Some(10));

    let about_bob = ExportFilter {
        user: Some(BOB),
        ..Default::default()
    };
    let (_, summary) = export_to_string(acme().raw, &about_bob, ExportFormat::Envelopes).await;
    assert_eq!(summary.written, 4);
}

#[test]
fn formats_parse_from_cli_words() {
    assert_eq!("csv".parse(), Ok(ExportFormat::Csv));
    assert_eq!("jsonl".parse(), Ok(ExportFormat::Jsonl));
    assert_eq!("envelopes".parse(), Ok(ExportFormat::Envelopes));
    assert!("xml".parse::<ExportFormat>().is_err());
}
