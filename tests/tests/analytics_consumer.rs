//! The example analytics consumer against a real nats-server holding the
//! JetStream log: exact counts per type and tenant from headers and subjects, and
//! a durable consumer that resumes where its last run stopped.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use pretty_assertions::assert_eq;
use rollcall_events::log::{JetStreamConfig, JetStreamLog};
use rollcall_events::{
    Actor, Event, EventId, EventLog, EventMeta, GENESIS_HASH, InvitationAccepted, InvitationId,
    MemberKind, RawEnvelope, TenantCreated, TenantId, UserId, UserInvited,
};
use rollcall_gateway::analytics::{AnalyticsConfig, Counts, consume};
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
    let log = JetStreamLog::connect(JetStreamConfig {
        url: server.url(),
        ..JetStreamConfig::default()
    })
    .await
    .unwrap();
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
