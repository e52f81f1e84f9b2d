//! Runs the event log's conformance suite against both backends, plus the cases
//! only JetStream has: a server that dies and comes back, retries older than the
//! server's duplicate window, an unfit existing stream, and the message format.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use pretty_assertions::assert_eq;
use rollcall_events::{EventId, GENESIS_HASH, TenantId};
use rollcall_log::{EmbeddedLog, EventLog, JetStreamConfig, JetStreamLog, LogError};
use rollcall_tests::NatsServer;
use rollcall_tests::log_conformance::{self as suite, Backend, Log};
use tempfile::TempDir;

struct Embedded {
    dir: TempDir,
}

impl Embedded {
    fn new() -> Self {
        Embedded {
            dir: TempDir::new().expect("temp dir"),
        }
    }
}

impl Backend for Embedded {
    fn open(&self) -> BoxFuture<'_, Log> {
        Box::pin(async move {
            let db = rollcall_tests::open_sled(self.dir.path());
            let log = EmbeddedLog::from_db(db).expect("open embedded log");
            Arc::new(log) as Log
        })
    }
}

struct JetStream {
    server: NatsServer,
}

impl JetStream {
    fn new() -> Self {
        JetStream {
            server: NatsServer::start(),
        }
    }

    fn config(&self) -> JetStreamConfig {
        JetStreamConfig {
            url: self.server.url(),
            request_timeout: Duration::from_secs(2),
            ..JetStreamConfig::default()
        }
    }
}

impl Backend for JetStream {
    fn open(&self) -> BoxFuture<'_, Log> {
        Box::pin(async move {
            let log = JetStreamLog::connect(self.config())
                .await
                .expect("connect to JetStream");
            Arc::new(log) as Log
        })
    }
}

macro_rules! conformance {
    (log: [$($case:ident),* $(,)?], backend: [$($bcase:ident),* $(,)?] $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = Embedded::new();
                    suite::$case(backend.open().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $bcase() {
                    suite::$bcase(&Embedded::new()).await;
                }
            )*
        }
        mod jetstream {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let backend = JetStream::new();
                    suite::$case(backend.open().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $bcase() {
                    suite::$bcase(&JetStream::new()).await;
                }
            )*
        }
    };
}

conformance!(
    log: [
        append_and_read_back,
        conflict_reports_expected_and_actual,
        racing_appenders_keep_one_chain,
        retry_is_idempotent,
        concurrent_retries_store_once,
        positions_order_all_tenants,
        read_tenant_from_a_sequence,
        subscribe_catches_up_then_goes_live,
        long_reads_and_subscriptions_keep_order,
    ],
    backend: [reopen_sees_everything],
);

/// Retries an append the way a gateway would, until the log is back.
async fn append_until_back(
    log: &Log,
    tenant: TenantId,
    expected: u64,
    event: &rollcall_events::RawEnvelope,
) -> rollcall_log::Appended {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match log.append(tenant, expected, event).await {
            Ok(appended) => return appended,
            Err(LogError::Unavailable(_) | LogError::OutcomeUnknown(_))
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("append after restart: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_survives_a_server_restart() {
    let mut backend = JetStream::new();
    let log = backend.open().await;
    let tenant = suite::new_tenant();
    let before = suite::append_chain(&log, tenant, 3).await;
    let mut subscription = log.subscribe(1).await.expect("subscribe");
    for expected in &before {
        let got = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
        assert_eq!(
            got.ok().flatten().map(|r| r.expect("event")),
            Some(expected.clone())
        );
    }

    backend.server.kill();
    let during = suite::sealed(tenant, 4, &before[2].hash, "during outage");
    let started = Instant::now();
    let answer = log.append(tenant, 3, &during).await;
    // Refused before sending once the client knows it is cut off; sent into the
    // client's buffer (and never confirmed) if it does not know yet.
    assert!(
        matches!(
            answer,
            Err(LogError::Unavailable(_) | LogError::OutcomeUnknown(_))
        ),
        "append to a dead server: {answer:?}"
    );
    assert!(
        started.elapsed() < backend.config().request_timeout + Duration::from_secs(2),
        "an append to a dead server took {:?}",
        started.elapsed()
    );
    assert!(matches!(log.head().await, Err(LogError::Unavailable(_))));

    backend.server.restart();
    // The append that timed out may still have landed once the client reconnected;
    // retrying the same event is safe either way.
    let appended = append_until_back(&log, tenant, 3, &during).await;
    assert_eq!(appended.position, 4);
    let next = suite::sealed(tenant, 5, &during.hash, "after outage");
    let appended = append_until_back(&log, tenant, 4, &next).await;
    assert_eq!(
        appended,
        rollcall_log::Appended {
            position: 5,
            duplicate: false
        }
    );

    for position in 4..=5 {
        // Well within the ordered consumer's own missed-heartbeat recovery: the
        // subscription restarts as soon as the client has reconnected.
        let got = tokio::time::timeout(Duration::from_secs(5), subscription.next())
            .await
            .expect("the subscription resumed")
            .expect("the subscription is open")
            .expect("event");
        assert_eq!(got.position, position);
    }
    let all = suite::collect(log.read_tenant(tenant, 0).await.expect("read")).await;
    assert_eq!(all.len(), 5);
    suite::assert_chain(&all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_retry_beyond_the_duplicate_window_is_still_idempotent() {
    let backend = JetStream::new();
    let config = backend.config();
    // The stream exists already, with a duplicate window short enough to outlive.
    let client = async_nats::connect(config.url.as_str())
        .await
        .expect("connect");
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            duplicate_window: Duration::from_millis(200),
            deny_delete: true,
            deny_purge: true,
            ..Default::default()
        })
        .await
        .expect("create stream");
    let log = backend.open().await;
    let tenant = suite::new_tenant();
    let neighbour = suite::new_tenant();
    // Interleaved with another tenant, so the look-up has to search.
    let mut stored = Vec::new();
    for round in 0..4 {
        suite::append_chain(&log, neighbour, round + 1).await;
        stored.extend(suite::append_chain(&log, tenant, 1).await);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;

    for (expected, event) in stored.iter().enumerate() {
        let retry = log
            .append(tenant, expected as u64, event)
            .await
            .expect("retry");
        assert_eq!(
            retry,
            rollcall_log::Appended {
                position: event.position,
                duplicate: true
            }
        );
    }
    // A fresh connection has no cache: the look-up goes to the server.
    let fresh = backend.open().await;
    let retry = fresh.append(tenant, 0, &stored[0]).await.expect("retry");
    assert_eq!(retry.position, stored[0].position);
    assert!(retry.duplicate);
    let fresh = backend.open().await;
    let retry = fresh.append(tenant, 1, &stored[1]).await.expect("retry");
    assert_eq!(retry.position, stored[1].position);
    assert!(retry.duplicate);
    let rival = suite::sealed(tenant, 2, &stored[0].hash, "rival");
    assert_eq!(
        fresh.append(tenant, 1, &rival).await,
        Err(LogError::Conflict {
            tenant,
            expected: 1,
            actual: 4
        })
    );
    assert_eq!(log.head().await.expect("head"), 14);
    assert_eq!(fresh.tenant_head(tenant).await.expect("tenant head"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_refuses_an_unfit_existing_stream() {
    let backend = JetStream::new();
    let config = backend.config();
    let client = async_nats::connect(config.url.as_str())
        .await
        .expect("connect");
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: config.stream.clone(),
            subjects: vec!["elsewhere.>".into()],
            storage: async_nats::jetstream::stream::StorageType::Memory,
            ..Default::default()
        })
        .await
        .expect("create stream");
    match JetStreamLog::connect(config).await {
        Err(LogError::Store(message)) => {
            assert!(message.contains("elsewhere.>"), "{message}");
            assert!(message.contains("rollcall.events.>"), "{message}");
        }
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("connected to a stream with the wrong subjects"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_connect_to_a_dead_server_is_unavailable() {
    let mut backend = JetStream::new();
    backend.server.kill();
    let started = Instant::now();
    let answer = JetStreamLog::connect(backend.config()).await;
    assert!(matches!(answer, Err(LogError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_message_format() {
    let backend = JetStream::new();
    let config = backend.config();
    let log = JetStreamLog::connect(config.clone())
        .await
        .expect("connect");
    let tenant = TenantId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let event = suite::sealed_with_id(EventId::from_u128(42), tenant, 1, GENESIS_HASH, "wire");
    let appended = log.append(tenant, 0, &event).await.expect("append");

    let stream = log
        .jetstream()
        .get_stream(&config.stream)
        .await
        .expect("stream");
    let message = stream
        .get_raw_message(appended.position)
        .await
        .expect("stored message");
    assert_eq!(message.payload.as_ref(), event.to_json_bytes().as_slice());
    let mut headers: Vec<(String, String)> = message
        .headers
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| (name.to_string(), v.as_str().to_owned()))
        })
        .collect();
    headers.sort();
    let payload: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
    insta::assert_json_snapshot!(serde_json::json!({
        "subject": message.subject.as_str(),
        "headers": headers,
        "payload": payload,
    }));

    let info = stream.get_info().await.expect("info");
    assert_eq!(info.config.subjects, vec!["rollcall.events.>".to_owned()]);
    assert!(info.config.deny_delete && info.config.deny_purge);
    assert_eq!(
        info.config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_log_shares_its_database_with_other_trees() {
    let dir = TempDir::new().expect("temp dir");
    let db = sled::open(dir.path()).expect("sled");
    let other = db.open_tree("projections.v1").expect("tree");
    other.insert("k", "v").expect("insert");
    let log: Log = Arc::new(EmbeddedLog::from_db(db.clone()).expect("log"));
    let stored = suite::append_chain(&log, suite::new_tenant(), 2).await;
    assert_eq!(stored[1].position, 2);
    assert_eq!(other.get("k").expect("get").as_deref(), Some(&b"v"[..]));
    let names: Vec<String> = db
        .tree_names()
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    for tree in [
        "log.events",
        "log.tenants",
        "log.event_ids",
        "projections.v1",
    ] {
        assert!(names.contains(&tree.to_owned()), "{names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_acknowledged_appends_survive_a_kill() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = TempDir::new().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall-log-writer"))
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the writer");
    let stdout = child.stdout.take().expect("writer stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("writer output");
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 4, "{line}");
        acked.push((
            fields[0].parse::<TenantId>().expect("tenant"),
            fields[1].parse::<u64>().expect("seq"),
            fields[2].parse::<u64>().expect("position"),
            fields[3].parse::<EventId>().expect("event id"),
        ));
        if acked.len() >= 300 {
            break;
        }
    }
    // SIGKILL: no destructor runs, nothing buffered in the process gets written.
    child.kill().expect("kill the writer");
    child.wait().expect("reap the writer");
    assert!(acked.len() >= 300, "the writer stopped early");

    let log: Log = Arc::new(EmbeddedLog::open(dir.path()).expect("reopen"));
    let stored = suite::collect(log.read(0).await.expect("read")).await;
    let by_position: std::collections::HashMap<u64, _> =
        stored.iter().map(|e| (e.position, e)).collect();
    for (tenant, seq, position, event_id) in &acked {
        let event = by_position
            .get(position)
            .unwrap_or_else(|| panic!("acknowledged position {position} was lost"));
        assert_eq!(
            (event.tenant_id, event.tenant_seq, event.event_id),
            (*tenant, *seq, *event_id)
        );
    }
    let positions: Vec<u64> = stored.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=stored.len() as u64).collect::<Vec<_>>());
}
