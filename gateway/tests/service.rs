//! The command service against the embedded log: concurrent writers on one
//! tenant, idempotent retries across restarts, identities across tenants.

mod common;

use std::sync::Arc;

use chrono::Utc;
use futures::TryStreamExt;
use pretty_assertions::assert_eq;
use rollcall_aggregates::{Command, DomainError, Team};
use rollcall_events::{Actor, GENESIS_HASH, RawEnvelope, TenantId};
use rollcall_gateway::fresh;
use rollcall_gateway::service::tenant_id_for_key;
use rollcall_gateway::service::{CommandMeta, CommandService, Outcome, ServiceError};
use rollcall_log::{EventLog, embedded::EmbeddedLog};

fn meta(key: Option<&str>) -> CommandMeta {
    CommandMeta {
        actor: Actor::Operator,
        mfa: true,
        reason: None,
        idempotency_key: key.map(str::to_owned),
        correlation_id: fresh::correlation_id(),
        now: Utc::now(),
        event_id: fresh::event_id(),
    }
}

fn create(tenant: TenantId, owner_email: &str) -> Command {
    Command::CreateTenant {
        tenant_id: tenant,
        name: "Acme".into(),
        catalog: rollcall_catalogs::by_name("jtek").unwrap(),
        plan: None,
        owner_id: fresh::user_id(),
        owner_email: owner_email.into(),
        owner_display_name: "Owner".into(),
    }
}

fn invite(email: &str) -> Command {
    Command::InviteUser {
        user_id: fresh::user_id(),
        invitation_id: fresh::invitation_id(),
        email: email.into(),
        display_name: email.into(),
        roles: vec!["user".into()],
        overrides: Default::default(),
        kind: Default::default(),
        nonce: fresh::nonce(),
    }
}

fn executed(outcome: Outcome) -> rollcall_gateway::service::Executed {
    match outcome {
        Outcome::Executed(e) => e,
        other => panic!("expected an appended event, got {other:?}"),
    }
}

async fn chain(log: &dyn EventLog, tenant: TenantId) -> Vec<RawEnvelope> {
    let stream = log.read_tenant(tenant, 1).await.unwrap();
    stream.try_collect().await.unwrap()
}

#[track_caller]
fn assert_chain(events: &[RawEnvelope]) {
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.tenant_seq, i as u64 + 1);
        assert_eq!(e.prev_hash, prev);
        assert!(e.hash_is_valid());
        prev = e.hash.clone();
    }
}

pub async fn concurrent_gateways_on_one_tenant_keep_one_chain(log: Arc<dyn EventLog>) {
    // Two services over one log: two gateways racing on the same tenant.
    let a = Arc::new(CommandService::new(log.clone()));
    let b = Arc::new(CommandService::new(log.clone()));
    let tenant = fresh::tenant_id();
    executed(
        a.execute(tenant, create(tenant, "o@x.test"), meta(None))
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for i in 0..8 {
        let service = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            service
                .execute(tenant, invite(&format!("u{i}@x.test")), meta(None))
                .await
        }));
    }
    for t in tasks {
        executed(t.await.unwrap().unwrap());
    }
    let events = chain(log.as_ref(), tenant).await;
    assert_eq!(events.len(), 9);
    assert_chain(&events);
    // Each gateway's state follows the log: the next command of each chains on.
    for (service, email) in [(&a, "after-a@x.test"), (&b, "after-b@x.test")] {
        executed(
            service
                .execute(tenant, invite(email), meta(None))
                .await
                .unwrap(),
        );
    }
    let events = chain(log.as_ref(), tenant).await;
    assert_eq!(events.len(), 11);
    assert_chain(&events);
    let team = events.iter().fold(Team::default(), |team, raw| {
        rollcall_aggregates::evolve(team, &raw.decode().unwrap())
    });
    assert_eq!(team.members.len(), 11);
}

/// Four gateways, each sending its commands one after the other on one tenant:
/// every race lost is decided again after a random pause, and no command gives
/// up with a conflict.
pub async fn racing_writers_are_retried_until_each_command_lands(logs: Vec<Arc<dyn EventLog>>) {
    const PER_WRITER: usize = 40;
    let services: Vec<Arc<CommandService>> = logs
        .iter()
        .map(|log| Arc::new(CommandService::new(log.clone())))
        .collect();
    let tenant = fresh::tenant_id();
    executed(
        services[0]
            .execute(tenant, create(tenant, "o@x.test"), meta(None))
            .await
            .unwrap(),
    );
    let mut writers = Vec::new();
    for (w, service) in services.iter().cloned().enumerate() {
        writers.push(tokio::spawn(async move {
            let mut gave_up = 0;
            for n in 0..PER_WRITER {
                let email = format!("w{w}-{n}@x.test");
                match service.execute(tenant, invite(&email), meta(None)).await {
                    Ok(outcome) => {
                        executed(outcome);
                    }
                    Err(ServiceError::Conflict { .. }) => gave_up += 1,
                    Err(e) => panic!("{email}: {e}"),
                }
            }
            gave_up
        }));
    }
    let mut gave_up = 0;
    for writer in writers {
        gave_up += writer.await.unwrap();
    }
    assert_eq!(gave_up, 0, "commands gave up after losing every race");
    let events = chain(logs[0].as_ref(), tenant).await;
    assert_eq!(events.len(), 1 + PER_WRITER * services.len());
    assert_chain(&events);
}

pub async fn a_retry_after_a_restart_returns_the_first_answer(log: Arc<dyn EventLog>) {
    // A keyed creation names its tenant after the key (as the handler does).
    let tenant = tenant_id_for_key("create-1");
    let first_service = CommandService::new(log.clone());
    let created = executed(
        first_service
            .execute(tenant, create(tenant, "o@y.test"), meta(Some("create-1")))
            .await
            .unwrap(),
    );
    let invited = executed(
        first_service
            .execute(tenant, invite("ann@y.test"), meta(Some("invite-1")))
            .await
            .unwrap(),
    );
    let head = log.head().await.unwrap();

    // A new service (a restarted or another gateway) finds both answers in the log.
    let restarted = CommandService::new(log.clone());
    match restarted
        .execute(tenant, create(tenant, "o@y.test"), meta(Some("create-1")))
        .await
        .unwrap()
    {
        Outcome::Replayed(e) => assert_eq!(e, created),
        other => panic!("expected a replay, got {other:?}"),
    }
    match restarted
        .execute(tenant, invite("ann@y.test"), meta(Some("invite-1")))
        .await
        .unwrap()
    {
        Outcome::Replayed(e) => assert_eq!(e, invited),
        other => panic!("expected a replay, got {other:?}"),
    }
    assert_eq!(log.head().await.unwrap(), head);
    assert_eq!(
        restarted
            .execute(tenant, invite("bo@y.test"), meta(Some("invite-1")))
            .await,
        Err(ServiceError::IdempotencyKeyReused)
    );
}

#[tokio::test]
async fn embedded_concurrent_gateways_on_one_tenant_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    concurrent_gateways_on_one_tenant_keep_one_chain(log).await;
}

#[tokio::test]
async fn embedded_a_retry_after_a_restart_returns_the_first_answer() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    a_retry_after_a_restart_returns_the_first_answer(log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_racing_writers_are_retried_until_each_command_lands() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    racing_writers_are_retried_until_each_command_lands(vec![log; 4]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_racing_writers_are_retried_until_each_command_lands() {
    let nats = rollcall_tests::NatsServer::start();
    let mut logs = Vec::new();
    for _ in 0..4 {
        logs.push(jetstream(&nats).await);
    }
    racing_writers_are_retried_until_each_command_lands(logs).await;
}

#[tokio::test]
async fn jetstream_concurrent_gateways_on_one_tenant_keep_one_chain() {
    let nats = rollcall_tests::NatsServer::start();
    concurrent_gateways_on_one_tenant_keep_one_chain(jetstream(&nats).await).await;
}

#[tokio::test]
async fn jetstream_a_retry_after_a_restart_returns_the_first_answer() {
    let nats = rollcall_tests::NatsServer::start();
    a_retry_after_a_restart_returns_the_first_answer(jetstream(&nats).await).await;
}

async fn jetstream(nats: &rollcall_tests::NatsServer) -> Arc<dyn EventLog> {
    Arc::new(nats.connect_log().await)
}

#[tokio::test]
async fn a_membership_reveals_nothing_about_other_tenants() {
    // The same person invited into two tenants gets a member id of each tenant's
    // own: an answer never tells one tenant that an email is a member elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    let service = CommandService::new(log.clone());
    let (t1, t2) = (fresh::tenant_id(), fresh::tenant_id());
    for (t, owner) in [(t1, "o1@z.test"), (t2, "o2@z.test")] {
        service
            .execute(t, create(t, owner), meta(None))
            .await
            .unwrap();
    }
    let first = executed(
        service
            .execute(t1, invite("Pat@Z.test"), meta(None))
            .await
            .unwrap(),
    );
    let second = executed(
        service
            .execute(t2, invite("pat@z.test"), meta(None))
            .await
            .unwrap(),
    );
    assert!(first.event.target().is_some());
    assert_ne!(first.event.target(), second.event.target());
}

#[tokio::test]
async fn rejections_are_typed_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log: Arc<dyn EventLog> = Arc::new(EmbeddedLog::open(dir.path()).unwrap());
    let service = CommandService::new(log.clone());
    let tenant = fresh::tenant_id();
    assert!(matches!(
        service
            .execute(tenant, invite("a@b.test"), meta(None))
            .await,
        Err(ServiceError::Rejected(DomainError::TenantNotFound))
    ));
    assert_eq!(log.head().await.unwrap(), 0);
}
