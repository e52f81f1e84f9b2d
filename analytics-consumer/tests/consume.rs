//! The example analytics consumer against a real nats-server holding the
//! JetStream log: exact counts per type and tenant from headers and subjects, a
//! durable consumer that resumes where its last run stopped, and the binary run
//! as the docs run it.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pretty_assertions::assert_eq;
use rollcall_analytics_consumer::{AnalyticsConfig, Counts, TYPE_HEADER, consume};
use rollcall_events::{
    Actor, Event, EventId, EventMeta, GENESIS_HASH, InvitationAccepted, InvitationId, MemberKind,
    RawEnvelope, TenantCreated, TenantId, UserId, UserInvited,
};
use rollcall_log::EventLog;
use rollcall_tests::nats::NatsServer;

/// One tenant's events, sealed in sequence with a hash chain.
struct Tenant {
    id: TenantId,
    seq: u64,
    prev_hash: String,
}

impl Tenant {
    fn new(n: u128) -> Tenant {
        Tenant {
            id: TenantId::from_u128(n),
            seq: 0,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }

    async fn append(&mut self, log: &dyn EventLog, event: Event) {
        self.seq += 1;
        let meta = EventMeta {
            event_id: EventId(uuid::Uuid::now_v7()),
            tenant_id: self.id,
            tenant_seq: self.seq,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(),
            actor: Actor::Operator,
            reason: None,
            correlation_id: uuid::Uuid::now_v7(),
            idempotency_key: None,
        };
        let raw = RawEnvelope::seal(meta, &self.prev_hash, &event);
        self.prev_hash = raw.hash.clone();
        log.append(self.id, self.seq - 1, &raw).await.unwrap();
    }
}

fn created(name: &str) -> Event {
    let catalog: rollcall_events::CatalogDoc = serde_json::from_value(serde_json::json!({
        "key": "mini", "label": "Mini", "areas": [], "owner_roles": ["admin"],
        "team_permission": "team.manage", "plans": [], "default_plan": "standard"
    }))
    .unwrap();
    Event::TenantCreated(TenantCreated {
        name: name.to_owned(),
        catalog,
        plan: "standard".to_owned(),
        owner_id: UserId::from_u128(1),
        owner_email: "owner@example.com".to_owned(),
        owner_display_name: "Owner".to_owned(),
        owner_roles: Vec::new(),
    })
}

fn invited(user: u128) -> Event {
    Event::UserInvited(UserInvited {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(user),
        email: format!("user{user}@example.com"),
        display_name: format!("User {user}"),
        kind: MemberKind::Member,
        roles: Vec::new(),
        overrides: Default::default(),
        nonce: format!("nonce-{user}"),
        expires_at: Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap(),
    })
}

fn accepted(user: u128) -> Event {
    Event::InvitationAccepted(InvitationAccepted {
        user_id: UserId::from_u128(user),
        invitation_id: InvitationId::from_u128(user),
    })
}

fn counts(total: u64, by_type: &[(&str, u64)], by_tenant: &[(TenantId, u64)]) -> Counts {
    Counts {
        total,
        by_type: by_type.iter().map(|(t, n)| (t.to_string(), *n)).collect(),
        by_tenant: by_tenant
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn config(server: &NatsServer, durable: &str, max_messages: Option<u64>) -> AnalyticsConfig {
    AnalyticsConfig {
        nats_url: server.url(),
        durable_name: durable.to_owned(),
        max_messages,
        idle_exit: Some(Duration::from_millis(500)),
        ..AnalyticsConfig::default()
    }
}

async fn run(config: &AnalyticsConfig) -> Counts {
    consume(config, |_| {}, std::future::pending())
        .await
        .unwrap()
}

#[tokio::test]
async fn counts_exactly_and_a_durable_consumer_resumes_without_recounting() {
    let server = NatsServer::start();
    let log = server.connect_log().await;
    let mut acme = Tenant::new(0xac);
    let mut globex = Tenant::new(0x61);
    acme.append(&log, created("Acme")).await;
    acme.append(&log, invited(11)).await;
    globex.append(&log, created("Globex")).await;
    acme.append(&log, invited(12)).await;
    acme.append(&log, accepted(11)).await;
    globex.append(&log, invited(21)).await;
    let (a, g) = (acme.id, globex.id);

    // The first run stops after four messages…
    let first = run(&config(&server, "analytics", Some(4))).await;
    assert_eq!(
        first,
        counts(
            4,
            &[("tenant.created", 2), ("user.invited", 2)],
            &[(a, 3), (g, 1)]
        )
    );
    // …the second picks up the remaining two, and a third finds nothing new.
    let second = run(&config(&server, "analytics", None)).await;
    assert_eq!(
        second,
        counts(
            2,
            &[("invitation.accepted", 1), ("user.invited", 1)],
            &[(a, 1), (g, 1)]
        )
    );
    let third = run(&config(&server, "analytics", None)).await;
    assert_eq!(third, Counts::default());

    // New events reach the durable consumer's next run; another durable consumer
    // has its own position and sees the whole log.
    globex.append(&log, accepted(21)).await;
    let fourth = run(&config(&server, "analytics", None)).await;
    assert_eq!(fourth, counts(1, &[("invitation.accepted", 1)], &[(g, 1)]));
    let other = run(&config(&server, "billing-report", None)).await;
    assert_eq!(
        other,
        counts(
            7,
            &[
                ("invitation.accepted", 2),
                ("tenant.created", 2),
                ("user.invited", 3)
            ],
            &[(a, 4), (g, 3)]
        )
    );
}

#[test]
fn the_tenant_comes_from_the_subject_and_the_type_from_the_header() {
    let mut counts = Counts::default();
    counts.record(
        "rollcall.events",
        "rollcall.events.t1",
        Some("user.invited"),
    );
    counts.record("rollcall.events", "rollcall.events.t1", None);
    counts.record("rollcall.events", "elsewhere.t2", Some("user.invited"));
    assert_eq!(
        counts,
        Counts {
            total: 3,
            by_type: [("unknown".to_owned(), 1), ("user.invited".to_owned(), 2)].into(),
            by_tenant: [("t1".to_owned(), 2), ("unknown".to_owned(), 1)].into(),
        }
    );
}

#[test]
fn the_type_header_is_the_one_the_log_writes() {
    assert_eq!(TYPE_HEADER, rollcall_log::jetstream::TYPE_HEADER);
}

/// The binary as `README.md` runs it: counts on stdout as one JSON line, and a
/// second run of the same durable consumer sees only what is new.
#[tokio::test]
async fn the_binary_counts_and_resumes() {
    let server = NatsServer::start();
    let log = server.connect_log().await;
    let mut acme = Tenant::new(0xac);
    acme.append(&log, created("Acme")).await;
    acme.append(&log, invited(11)).await;
    let run = |url: String| {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_analytics-consumer"))
                .args(["--nats-url", &url, "--durable-name", "analytics"])
                .args(["--idle-exit-secs", "1"])
                .env_remove("NATS_URL")
                .output()
                .unwrap()
        })
    };
    let first = run(server.url()).await.unwrap();
    assert!(first.status.success(), "{first:?}");
    let a = acme.id;
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        format!(
            "{{\"total\":2,\"by_type\":{{\"tenant.created\":1,\"user.invited\":1}},\"by_tenant\":{{\"{a}\":2}}}}\n"
        )
    );
    acme.append(&log, accepted(11)).await;
    let second = run(server.url()).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        format!(
            "{{\"total\":1,\"by_type\":{{\"invitation.accepted\":1}},\"by_tenant\":{{\"{a}\":1}}}}\n"
        )
    );
    let help = Command::new(env!("CARGO_BIN_EXE_analytics-consumer"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--durable-name"));
}
