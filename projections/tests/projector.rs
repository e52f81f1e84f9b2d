//! The projector against a real event log: catch up, go live, read your writes,
//! poison events, stop and resume, a crash between batches, and every view read
//! through the projector. Every case runs on the embedded log and on JetStream (a
//! private nats-server per test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::{
    OWNER, TENANT, catalogs, invited, joined, tenant_created, user,
};
use rollcall_aggregates::{CheckRequest, Command, MemberStatus, Resource, check};
use rollcall_events::{Actor, RawEnvelope, TenantId};
use rollcall_events::{Permission, RoleKey};
use rollcall_log::{Appended, EmbeddedLog, EventLog, EventStream, LogError};
use rollcall_projections::testing::{History, busy_history};
use rollcall_projections::{AuditQuery, ProjectionError, Projections, WaitTimeout};
use rollcall_tests::{NatsServer, append_all, open_sled, overwrite_with_not_an_event};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);

/// Opens (or reopens, after a stop or a kill) the projections in `dir`.
fn open(dir: &TempDir) -> Projections {
    Projections::open(open_sled(dir.path())).expect("projections open")
}

/// Projections rebuilt from position 0 into a fresh directory.
async fn rebuild(log: &dyn EventLog) -> (TempDir, Projections) {
    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    p.catch_up(log).await.expect("rebuild");
    (dir, p)
}

async fn follows_live_and_reads_its_writes(log: Arc<dyn EventLog>) {
    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    let started = Instant::now();
    while !p.caught_up() {
        assert!(
            started.elapsed() < WAIT,
            "never caught up with an empty log"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    for e in joined(user(2), &["user"]) {
        h.push(TENANT, Actor::User(OWNER), e);
    }
    let head = append_all(log.as_ref(), &h.events).await;
    assert_eq!(p.wait_for(head, WAIT).await, Ok(head));
    assert_eq!(p.users(TENANT, None).expect("tenant").users.len(), 2);
    assert!(p.user(TENANT, user(2)).is_some());
    assert_eq!(p.position(), head);

    assert_eq!(
        p.wait_for(head + 1, Duration::from_millis(50)).await,
        Err(WaitTimeout {
            wanted: head + 1,
            reached: head
        })
    );

    // Only one projector per projections.
    let second = p.spawn(log.clone());
    assert!(matches!(
        second.stop().await,
        Err(ProjectionError::AlreadyRunning)
    ));
    projector.stop().await.expect("clean stop");
}

async fn catches_up_then_goes_live(log: Arc<dyn EventLog>) {
    let h = busy_history(7, 300);
    let (before, after) = h.events.split_at(200);
    append_all(log.as_ref(), before).await;

    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(200, WAIT).await.expect("caught up");
    assert!(p.caught_up());
    let head = append_all(log.as_ref(), after).await;
    p.wait_for(head, WAIT).await.expect("live");
    projector.stop().await.expect("clean stop");

    let (_fresh_dir, fresh) = rebuild(log.as_ref()).await;
    assert_eq!(fresh.position(), head);
    assert_eq!(
        p.state_hash().expect("state hash"),
        fresh.state_hash().expect("state hash")
    );
    for tenant in p.tenants() {
        assert_eq!(p.team(tenant), fresh.team(tenant));
        assert_eq!(p.team(tenant).unwrap(), h.team(tenant));
    }
}

async fn quarantines_what_it_cannot_decode(log: Arc<dyn EventLog>) {
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    // A well-chained event of a type this build does not know.
    let mut poison = h.push(
        TENANT,
        Actor::User(OWNER),
        joined(user(2), &["user"])[0].clone(),
    );
    poison.event_type = "user.teleported".to_owned();
    poison.hash = poison.compute_hash();
    h.events[1] = poison.clone();
    let next = h.push(
        TENANT,
        Actor::User(OWNER),
        joined(user(3), &["user"])[0].clone(),
    );
    let mut events = h.events.clone();
    events[2].prev_hash = poison.hash.clone();
    events[2].hash = events[2].compute_hash();
    assert_eq!(next.tenant_seq, 3);
    let head = append_all(log.as_ref(), &events).await;

    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.expect("skips past the poison");
    projector.stop().await.expect("clean stop");

    let quarantined = p.quarantined().expect("quarantined");
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].position, 2);
    assert_eq!(
        quarantined[0].event_type.as_deref(),
        Some("user.teleported")
    );
    assert!(
        quarantined[0].error.contains("user.teleported"),
        "{}",
        quarantined[0].error
    );
    // The events around it are applied.
    assert!(p.user(TENANT, user(3)).is_some());
    assert!(p.user(TENANT, user(2)).is_none());
    let audit = p
        .audit(TENANT, &AuditQuery::default())
        .unwrap()
        .expect("tenant");
    assert_eq!(
        audit.entries.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 3]
    );

    // A restart neither retries nor duplicates it.
    let hash = p.state_hash().expect("state hash");
    drop(p);
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.unwrap();
    projector.stop().await.unwrap();
    assert_eq!(p.quarantined().expect("quarantined").len(), 1);
    assert_eq!(p.state_hash().expect("state hash"), hash);
}

async fn stops_and_resumes_from_its_checkpoint(log: Arc<dyn EventLog>) {
    let h = busy_history(5, 250);
    let (first, second) = h.events.split_at(120);
    let dir = TempDir::new().unwrap();
    {
        let p = open(&dir);
        let projector = p.spawn(log.clone());
        let head = append_all(log.as_ref(), first).await;
        p.wait_for(head, WAIT).await.unwrap();
        projector.stop().await.unwrap();
    }
    let head = append_all(log.as_ref(), second).await;
    let p = open(&dir);
    assert_eq!(p.position(), 120);
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.unwrap();
    projector.stop().await.unwrap();
    let (_fresh_dir, fresh) = rebuild(log.as_ref()).await;
    assert_eq!(
        p.state_hash().expect("state hash"),
        fresh.state_hash().expect("state hash")
    );
}

/// A log whose live stream pauses every 50 events, so the projector commits many
/// small batches, and stalls for good past position `.1`, so a crash lands in
/// the middle of the run whatever the machine's load.
struct Throttled(Arc<dyn EventLog>, u64);

#[async_trait::async_trait]
impl EventLog for Throttled {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        self.0.append(tenant, expected, event).await
    }
    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        self.0.read(from).await
    }
    async fn read_tenant(&self, tenant: TenantId, from: u64) -> Result<EventStream, LogError> {
        self.0.read_tenant(tenant, from).await
    }
    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        let stream = self.0.subscribe(from).await?;
        let gate = self.1;
        Ok(stream
            .then(move |item| async move {
                if let Ok(raw) = &item {
                    if raw.position > gate {
                        std::future::pending::<()>().await;
                    }
                    if raw.position % 50 == 0 {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                item
            })
            .boxed())
    }
    async fn head(&self) -> Result<u64, LogError> {
        self.0.head().await
    }
    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        self.0.tenant_head(tenant).await
    }
}

/// Kills the projector between batches, reopens the projections from disk,
/// restarts, and compares with a rebuild from 0: nothing applied twice or skipped.
async fn survives_a_crash_between_batches(log: Arc<dyn EventLog>) {
    let h = busy_history(40, 4000);
    let head = append_all(log.as_ref(), &h.events).await;
    let dir = TempDir::new().unwrap();
    let crashed_at = {
        let p = open(&dir);
        let projector = p.spawn(Arc::new(Throttled(log.clone(), 1500)));
        let started = Instant::now();
        while p.position() < 600 {
            assert!(started.elapsed() < WAIT, "no progress");
            tokio::task::yield_now().await;
        }
        projector.kill().await;
        p.position()
    };
    assert!(
        crashed_at < head,
        "the crash came before the end: {crashed_at} of {head}"
    );
    let p = open(&dir);
    assert_eq!(
        p.position(),
        crashed_at,
        "the checkpoint is the last committed batch"
    );
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.unwrap();
    projector.stop().await.unwrap();

    let (_fresh_dir, fresh) = rebuild(log.as_ref()).await;
    assert_eq!(
        p.state_hash().expect("state hash"),
        fresh.state_hash().expect("state hash")
    );
    let mut positions = Vec::new();
    for tenant in p.tenants() {
        let mut query = AuditQuery {
            limit: Some(1000),
            ..Default::default()
        };
        loop {
            let page = p.audit(tenant, &query).unwrap().expect("tenant");
            positions.extend(page.entries.iter().map(|e| e.position));
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(p.team(tenant).unwrap(), h.team(tenant));
    }
    positions.sort();
    assert_eq!(positions, (1..=head).collect::<Vec<_>>());
}

/// Every view, fed through the projector from the log, reads as specified and is
/// byte for byte what folding the same events directly gives.
async fn every_view_through_the_projector(log: Arc<dyn EventLog>) {
    let mut h = History::new();
    let owner = Actor::User(OWNER);
    let mut catalog = catalogs::small();
    catalog.areas[1].platform = Some("projects".to_owned());
    h.push(TENANT, Actor::Operator, tenant_created(catalog));
    h.decide(
        TENANT,
        owner,
        Command::CreateRole {
            role: RoleKey::from("field"),
            label: "Field".to_owned(),
            grants: vec![
                Permission::from("contacts.*"),
                Permission::from("projects.view"),
                Permission::from("projects.edit"),
            ],
        },
    )
    .expect("custom role accepted");
    for n in 2..=4 {
        for e in joined(user(n), &["field"]) {
            h.push(TENANT, owner, e);
        }
    }
    h.push(TENANT, owner, invited(user(5), &["viewer"]));
    h.decide(
        TENANT,
        owner,
        Command::UpdateRole {
            role: RoleKey::from("field"),
            label: "Field".to_owned(),
            grants: vec![Permission::from("contacts.*")],
        },
    )
    .expect("role update accepted");
    h.decide(
        TENANT,
        owner,
        Command::DeactivateUser {
            user_id: user(4),
            reassign_to: None,
        },
    )
    .expect("deactivation accepted");
    let head = append_all(log.as_ref(), &h.events).await;

    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.unwrap();
    projector.stop().await.unwrap();

    let statuses: Vec<_> = p
        .users(TENANT, None)
        .expect("tenant")
        .users
        .into_iter()
        .map(|u| (u.user_id, u.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (OWNER, MemberStatus::Active.as_str().to_owned()),
            (user(2), MemberStatus::Active.as_str().to_owned()),
            (user(3), MemberStatus::Active.as_str().to_owned()),
            (user(4), MemberStatus::Deactivated.as_str().to_owned()),
            (user(5), MemberStatus::Invited.as_str().to_owned()),
        ]
    );
    let member = p.user(TENANT, user(2)).unwrap();
    let held: Vec<_> = member
        .effective
        .iter()
        .map(|e| e.permission.as_str())
        .collect();
    assert_eq!(
        held,
        vec!["contacts.delete", "contacts.edit", "contacts.view"]
    );
    assert_eq!(
        p.user(TENANT, user(4)).unwrap().summary.display_name,
        "User 4"
    );
    assert_eq!(p.catalog(TENANT).unwrap().tenant_roles.len(), 5);
    let updated = p
        .audit(
            TENANT,
            &AuditQuery {
                event_type: Some("role.updated".to_owned()),
                ..Default::default()
            },
        )
        .unwrap()
        .expect("tenant");
    // Three active holders lose the project permissions the role no longer grants.
    assert_eq!(updated.entries[0].access_delta.len(), 3);
    assert_eq!(
        updated.entries[0].access_delta[0].lost,
        vec!["projects.edit".to_owned(), "projects.view".to_owned()]
    );
    let by_target = p
        .audit(
            TENANT,
            &AuditQuery {
                user: Some(user(4)),
                ..Default::default()
            },
        )
        .unwrap()
        .expect("tenant");
    assert_eq!(by_target.entries.len(), 3);
    assert_eq!(
        p.platforms(TENANT).unwrap().platforms.get("projects"),
        Some(&1)
    );
    let team = h.team(TENANT);
    let request = CheckRequest {
        user_id: user(3),
        permission: Permission::from("contacts.delete"),
        resource: Resource::default(),
        source_ip: None,
    };
    assert!(p.check(TENANT, &request).unwrap().allowed);
    assert_eq!(p.check(TENANT, &request), Some(check(&team, &request)));
    assert!(p.quarantined().expect("quarantined").is_empty());

    let direct = rollcall_projections::testing::projections();
    direct.apply(h.events.clone()).unwrap();
    assert_eq!(
        p.state_hash().expect("state hash"),
        direct.state_hash().expect("state hash")
    );
}

/// Two gateways, each with its own projections on the same log: a write taken by
/// one is readable on the other once it waits for the write's position.
async fn any_gateway_reads_the_writes(log: Arc<dyn EventLog>) {
    let (dir_a, dir_b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (a, b) = (open(&dir_a), open(&dir_b));
    let (pa, pb) = (a.spawn(log.clone()), b.spawn(log.clone()));
    let mut h = History::new();
    h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    let mut last = append_all(log.as_ref(), &h.events).await;
    for n in 2..=6 {
        for e in joined(user(n), &["viewer"]) {
            h.push(TENANT, Actor::User(OWNER), e);
        }
        last = append_all(log.as_ref(), &h.events[h.events.len() - 2..]).await;
        b.wait_for(last, WAIT).await.unwrap();
        assert!(b.user(TENANT, user(n)).is_some(), "member {n} not yet on b");
    }
    a.wait_for(last, WAIT).await.unwrap();
    pa.stop().await.unwrap();
    pb.stop().await.unwrap();
    assert_eq!(
        a.state_hash().expect("state hash"),
        b.state_hash().expect("state hash")
    );
}

/// A history longer than two of the projector's batches: catching up commits
/// each batch on a thread of its own while it folds the next. Caught up that way
/// (a rebuild, and the projector reading its subscription), the projections hold
/// what they hold when every batch commits before the next is folded.
async fn commits_a_batch_while_it_folds_the_next(log: Arc<dyn EventLog>) {
    let events = 2 * rollcall_projections::MAX_BATCH as u64 + 300;
    let h = busy_history(12, events);
    let head = append_all(log.as_ref(), &h.events).await;

    let one_at_a_time = TempDir::new().unwrap();
    let stepwise = open(&one_at_a_time);
    let mut read = log.read(1).await.expect("read");
    let mut batch = Vec::new();
    while let Some(raw) = read.next().await {
        batch.push(raw.expect("an event"));
        if batch.len() == 100 {
            stepwise.apply(std::mem::take(&mut batch)).expect("applied");
        }
    }
    assert_eq!(stepwise.apply(batch).expect("applied"), head);

    let (_rebuilt_dir, rebuilt) = rebuild(log.as_ref()).await;
    assert_eq!(rebuilt.position(), head);
    assert_eq!(
        rebuilt.state_hash().expect("state hash"),
        stepwise.state_hash().expect("state hash")
    );
    // Their audit entries are stored in runs of other lengths; every query
    // reads the same pages, a cursor falling inside a run included.
    let tenant = stepwise.tenants()[3];
    let member = stepwise.users(tenant, None).expect("tenant").users[1].user_id;
    for filter in [None, Some(member)] {
        let mut query = AuditQuery {
            user: filter,
            limit: Some(7),
            ..Default::default()
        };
        let mut pages = 0;
        loop {
            let page = stepwise.audit(tenant, &query).unwrap().expect("tenant");
            assert_eq!(
                rebuilt.audit(tenant, &query).unwrap().expect("tenant"),
                page
            );
            pages += 1;
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
        }
        assert!(pages > 20, "{pages} pages");
    }

    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(head, WAIT).await.expect("caught up");
    projector.stop().await.expect("clean stop");
    assert_eq!(
        p.state_hash().expect("state hash"),
        stepwise.state_hash().expect("state hash")
    );
    let reopened = {
        drop(p);
        open(&dir)
    };
    assert_eq!(reopened.position(), head, "the last batch is committed");
}

/// A backlog of exactly one full batch, and nothing after it: the batch held to
/// commit beside the next one is committed and published before the projector
/// waits for more. Meanwhile nothing else may fold into the same projections.
async fn publishes_a_full_batch_with_nothing_after_it(log: Arc<dyn EventLog>) {
    let h = busy_history(12, rollcall_projections::MAX_BATCH as u64);
    let head = append_all(log.as_ref(), &h.events).await;
    assert_eq!(head, rollcall_projections::MAX_BATCH as u64);
    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    assert_eq!(p.wait_for(head, WAIT).await, Ok(head));
    assert!(p.caught_up());
    assert!(matches!(
        p.apply(Vec::new()),
        Err(ProjectionError::AlreadyRunning)
    ));
    assert!(matches!(
        p.catch_up(log.as_ref()).await,
        Err(ProjectionError::AlreadyRunning)
    ));
    projector.stop().await.expect("clean stop");
    assert_eq!(p.apply(Vec::new()).expect("applied once it stopped"), head);
}

/// A record at position 2 that is not an event at all (damaged, or written by
/// something else): the log reports it in its place, readers and subscribers go on
/// past it, and the projector quarantines it by position, live and on a rebuild.
async fn quarantines_records_that_are_not_events(log: Arc<dyn EventLog>) {
    // Position 2 is the garbage record; positions 1 and 3 are the tenant's.
    let expected = |items: Vec<Result<RawEnvelope, LogError>>| {
        let shape: Vec<Result<u64, u64>> = items
            .into_iter()
            .map(|item| match item {
                Ok(raw) => Ok(raw.position),
                Err(LogError::Undecodable { position, .. }) => Err(position),
                Err(e) => panic!("an error other than undecodable: {e}"),
            })
            .collect();
        assert_eq!(shape, vec![Ok(1), Err(2), Ok(3)]);
    };
    expected(log.read(1).await.unwrap().collect().await);
    let subscribed = log.subscribe(1).await.unwrap().take(3).collect().await;
    expected(subscribed);
    let tenant: Vec<u64> = log
        .read_tenant(TENANT, 1)
        .await
        .unwrap()
        .map(|e| e.expect("the tenant's own events read").tenant_seq)
        .collect()
        .await;
    assert_eq!(tenant, vec![1, 2]);

    let dir = TempDir::new().unwrap();
    let p = open(&dir);
    let projector = p.spawn(log.clone());
    p.wait_for(3, WAIT).await.expect("moves past the record");
    projector.stop().await.expect("clean stop");
    let quarantined = p.quarantined().expect("quarantined");
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert_eq!(quarantined[0].position, 2);
    assert_eq!(quarantined[0].tenant_id, None);
    assert_eq!(quarantined[0].event_type, None);
    assert!(!quarantined[0].error.is_empty());
    assert!(
        p.user(TENANT, user(2)).is_some(),
        "the event after it is applied"
    );

    let (_fresh_dir, fresh) = rebuild(log.as_ref()).await;
    assert_eq!(fresh.position(), 3);
    assert_eq!(fresh.quarantined().expect("quarantined"), quarantined);
    assert_eq!(
        fresh.state_hash().expect("state hash"),
        p.state_hash().expect("state hash")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_log_quarantines_records_that_are_not_events() {
    let dir = TempDir::new().unwrap();
    let db = sled::open(dir.path()).expect("sled");
    let log = EmbeddedLog::from_db(db.clone()).expect("log");
    let (mut h, other) = (History::new(), TenantId::from_u128(0xbad));
    let first = h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    let foreign = h.push(other, Actor::Operator, tenant_created(catalogs::small()));
    let next = h.push(TENANT, Actor::Operator, invited(user(2), &["user"]));
    append_all(&log, &[first, foreign, next]).await;
    // The record at position 2 is overwritten in the store.
    overwrite_with_not_an_event(&db, 2);
    quarantines_records_that_are_not_events(Arc::new(log)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_log_quarantines_records_that_are_not_events() {
    let backend = JetStream::new().await;
    let mut h = History::new();
    let first = h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    let next = h.push(TENANT, Actor::Operator, invited(user(2), &["user"]));
    append_all(backend.log.as_ref(), &[first]).await;
    // Something else publishes on the events subject of another tenant.
    backend
        .server
        .publish_not_an_event(TenantId::from_u128(0xbad))
        .await;
    append_all(backend.log.as_ref(), &[next]).await;
    quarantines_records_that_are_not_events(backend.log.clone()).await;
}

struct JetStream {
    server: NatsServer,
    log: Arc<dyn EventLog>,
}

impl JetStream {
    async fn new() -> JetStream {
        let server = NatsServer::start();
        let log = server.connect_log().await;
        JetStream {
            server,
            log: Arc::new(log),
        }
    }
}

struct Embedded {
    _dir: TempDir,
    log: Arc<dyn EventLog>,
}

impl Embedded {
    fn new() -> Embedded {
        let dir = TempDir::new().unwrap();
        let log = Arc::new(EmbeddedLog::open(dir.path()).expect("embedded log opens"));
        Embedded { _dir: dir, log }
    }
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = Embedded::new();
                    super::$case(backend.log.clone()).await;
                }
            )*
        }
        mod jetstream {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = JetStream::new().await;
                    super::$case(backend.log.clone()).await;
                }
            )*
        }
    };
}

cases!(
    any_gateway_reads_the_writes,
    every_view_through_the_projector,
    follows_live_and_reads_its_writes,
    catches_up_then_goes_live,
    commits_a_batch_while_it_folds_the_next,
    publishes_a_full_batch_with_nothing_after_it,
    quarantines_what_it_cannot_decode,
    stops_and_resumes_from_its_checkpoint,
    survives_a_crash_between_batches,
);
