//! Following the log as the read side applied it (`Projections::follow`): from a
//! position in the past it reads the log, then takes the read side's batches; a
//! follower that lags behind those batches reads the log again; a record that is
//! not an event, or an event that cannot be decoded, comes in its place. No
//! position is skipped or repeated. Every case runs on the embedded log and on
//! JetStream (a private nats-server per test).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use pretty_assertions::assert_eq;
use rollcall_aggregates::testing::{
    OWNER, TENANT, catalogs, invited, joined, tenant_created, user,
};
use rollcall_events::{Actor, RawEnvelope, TenantId};
use rollcall_log::{EmbeddedLog, EventLog, LogError};
use rollcall_projections::testing::{History, busy_history};
use rollcall_projections::{FollowStream, Projections};
use rollcall_tests::{
    FlakySubscribe, NatsServer, append_all, open_sled, overwrite_with_not_an_event,
};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);

/// More committed batches than the read side keeps for slow followers.
const PAST_THE_BACKLOG: usize = 1100;

/// A record as a follower saw it: `Ok(position)` for an event (with whether it
/// decoded), `Err(position)` for a record that is not an event.
type Seen = Result<(u64, bool), u64>;

/// The next `n` records the follower yields, each within [`WAIT`].
async fn take(follow: &mut FollowStream, n: usize) -> Vec<Seen> {
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        let next = tokio::time::timeout(WAIT, follow.next())
            .await
            .unwrap_or_else(|_| panic!("no record after {seen:?}"))
            .expect("a follower does not end");
        seen.push(match next {
            Ok(record) => Ok((record.raw.position, record.envelope().is_some())),
            Err(LogError::Undecodable { position, .. }) => Err(position),
            Err(e) => panic!("an error other than undecodable: {e}"),
        });
    }
    seen
}

/// `Ok((p, true))` for each position of `range`: decoded events, in order.
fn events(range: std::ops::RangeInclusive<u64>) -> Vec<Seen> {
    range.map(|p| Ok((p, true))).collect()
}

/// Nothing more is ready to be yielded.
fn quiet(follow: &mut FollowStream) {
    assert!(
        follow.next().now_or_never().is_none(),
        "nothing more should be ready"
    );
}

fn open() -> (TempDir, Projections) {
    let dir = TempDir::new().unwrap();
    let p = Projections::open(open_sled(dir.path())).expect("projections open");
    (dir, p)
}

/// The log's records from `from` to its head.
async fn read_all(log: &dyn EventLog, from: u64) -> Vec<RawEnvelope> {
    log.read(from)
        .await
        .expect("read")
        .map(|r| r.expect("an event"))
        .collect()
        .await
}

/// From a position in the past: what the read side applied comes from one read
/// of the log, the rest from the read side as its projector applies it.
async fn reads_the_past_then_goes_live(log: Arc<dyn EventLog>) {
    let h = busy_history(3, 60);
    let (before, after) = h.events.split_at(40);
    let reached = append_all(log.as_ref(), before).await;
    let log = Arc::new(FlakySubscribe::new(log, 0));
    let (_dir, p) = open();
    let projector = p.spawn(log.clone());
    p.wait_for(reached, WAIT).await.expect("caught up");

    let mut follow = p.follow(log.clone(), 5);
    assert_eq!(take(&mut follow, 36).await, events(5..=reached));
    assert_eq!(log.reads.load(Ordering::SeqCst), 1, "the past is read once");
    quiet(&mut follow);

    let head = append_all(log.as_ref(), after).await;
    let live = take(&mut follow, (head - reached) as usize).await;
    assert_eq!(live, events(reached + 1..=head));
    assert_eq!(
        log.reads.load(Ordering::SeqCst),
        1,
        "live records are not read from the log"
    );
    p.wait_for(head, WAIT).await.expect("applied");
    quiet(&mut follow);

    // Ahead of the read side: nothing until it gets there.
    let mut ahead = p.follow(log.clone(), head + 1);
    quiet(&mut ahead);
    projector.stop().await.expect("clean stop");
}

/// A follower that lets more batches pass than the read side keeps reads the log
/// again from after its last record, and goes live after that.
async fn reads_the_log_again_after_lagging(log: Arc<dyn EventLog>) {
    let h = busy_history(2, (PAST_THE_BACKLOG + 20) as u64);
    let total = h.events.len();
    assert!(total > PAST_THE_BACKLOG + 10, "{total} events");
    append_all(log.as_ref(), &h.events).await;
    let log = Arc::new(FlakySubscribe::new(log, 0));
    let raws = read_all(log.as_ref(), 1).await;
    let reads = log.reads.load(Ordering::SeqCst);
    let (_dir, p) = open();
    // Applied by hand, one batch per event, so the batches outnumber the backlog.
    p.apply(raws[..10].to_vec()).expect("applied");

    let mut follow = p.follow(log.clone(), 1);
    assert_eq!(take(&mut follow, 10).await, events(1..=10));
    assert_eq!(log.reads.load(Ordering::SeqCst), reads + 1);
    quiet(&mut follow);
    let lagged = 10 + PAST_THE_BACKLOG;
    for raw in &raws[10..lagged] {
        p.apply(vec![raw.clone()]).expect("applied");
    }
    assert_eq!(
        take(&mut follow, PAST_THE_BACKLOG).await,
        events(11..=lagged as u64)
    );
    assert_eq!(
        log.reads.load(Ordering::SeqCst),
        reads + 2,
        "the lag is made up from the log"
    );
    quiet(&mut follow);

    // Live again: a batch of several events.
    p.apply(raws[lagged..].to_vec()).expect("applied");
    assert_eq!(
        take(&mut follow, total - lagged).await,
        events(lagged as u64 + 1..=total as u64)
    );
    assert_eq!(log.reads.load(Ordering::SeqCst), reads + 2);
    quiet(&mut follow);
}

/// Position 2 is a record that is not an event (another tenant's, damaged),
/// position 4 an event of a type this build does not know. A follower gets both
/// in their place, whether it reads them from the log or takes them live; a
/// tenant's follower gets only that tenant's events.
async fn passes_on_what_cannot_be_decoded(backend: &dyn Backend) {
    let log = backend.log();
    let mut h = History::new();
    let first = h.push(TENANT, Actor::Operator, tenant_created(catalogs::small()));
    backend.append_garbage_after(&first).await;
    let invited = h.push(TENANT, Actor::Operator, invited(user(2), &["user"]));
    let mut poison = h.push(
        TENANT,
        Actor::User(OWNER),
        joined(user(3), &["user"])[0].clone(),
    );
    poison.event_type = "user.teleported".to_owned();
    poison.hash = poison.compute_hash();
    assert_eq!(append_all(log.as_ref(), &[invited, poison]).await, 4);
    let expected = vec![Ok((1, true)), Err(2), Ok((3, true)), Ok((4, false))];
    let tenants = vec![Ok((1, true)), Ok((3, true)), Ok((4, false))];

    // Live: the followers subscribe before the read side applies anything.
    let (_dir, read) = open();
    let mut all = read.follow(log.clone(), 1);
    let mut tenant = read.follow_tenant(log.clone(), TENANT, 1);
    quiet(&mut all);
    quiet(&mut tenant);
    assert_eq!(read.catch_up(log.as_ref()).await.expect("applied"), 4);
    assert_eq!(take(&mut all, 4).await, expected);
    assert_eq!(take(&mut tenant, 3).await, tenants);
    quiet(&mut all);
    quiet(&mut tenant);

    // From the log: the read side applied it all before the followers started.
    let mut all = read.follow(log.clone(), 1);
    assert_eq!(take(&mut all, 4).await, expected);
    quiet(&mut all);
    let mut tenant = read.follow_tenant(log.clone(), TENANT, 1);
    assert_eq!(take(&mut tenant, 3).await, tenants);
    quiet(&mut tenant);
    // From right after the record that is not an event.
    let mut after = read.follow(log.clone(), 3);
    assert_eq!(take(&mut after, 2).await, expected[2..].to_vec());
    quiet(&mut after);
}

#[async_trait]
trait Backend {
    fn log(&self) -> Arc<dyn EventLog>;
    /// Appends `first` at position 1, then a record that is not an event at 2.
    async fn append_garbage_after(&self, first: &RawEnvelope);
}

struct Embedded {
    _dir: TempDir,
    db: sled::Db,
    log: Arc<dyn EventLog>,
}

impl Embedded {
    fn new() -> Embedded {
        let dir = TempDir::new().unwrap();
        let db = sled::open(dir.path()).expect("sled");
        let log = Arc::new(EmbeddedLog::from_db(db.clone()).expect("log"));
        Embedded { _dir: dir, db, log }
    }
}

#[async_trait]
impl Backend for Embedded {
    fn log(&self) -> Arc<dyn EventLog> {
        self.log.clone()
    }

    async fn append_garbage_after(&self, first: &RawEnvelope) {
        let mut other = History::new();
        let foreign = other.push(
            TenantId::from_u128(0xbad),
            Actor::Operator,
            tenant_created(catalogs::small()),
        );
        append_all(self.log.as_ref(), &[first.clone(), foreign]).await;
        // The record at position 2 is overwritten in the store.
        overwrite_with_not_an_event(&self.db, 2);
    }
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

#[async_trait]
impl Backend for JetStream {
    fn log(&self) -> Arc<dyn EventLog> {
        self.log.clone()
    }

    async fn append_garbage_after(&self, first: &RawEnvelope) {
        append_all(self.log.as_ref(), std::slice::from_ref(first)).await;
        // Something else publishes on the events subject of another tenant.
        self.server
            .publish_not_an_event(TenantId::from_u128(0xbad))
            .await;
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
                    super::$case(backend.log()).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn passes_on_what_cannot_be_decoded() {
                super::passes_on_what_cannot_be_decoded(&Embedded::new()).await;
            }
        }
        mod jetstream {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = JetStream::new().await;
                    super::$case(backend.log()).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn passes_on_what_cannot_be_decoded() {
                super::passes_on_what_cannot_be_decoded(&JetStream::new().await).await;
            }
        }
    };
}

cases!(
    reads_the_past_then_goes_live,
    reads_the_log_again_after_lagging
);
