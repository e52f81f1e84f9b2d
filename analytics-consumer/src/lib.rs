//! An example consumer of Rollcall's event log, and its core: a durable JetStream
//! pull consumer on the log's stream that counts events per type and per tenant
//! (the binary is `src/main.rs`). It depends on no Rollcall crate — only on
//! what the stream carries — so it builds on its own, as a consumer of yours would.
//!
//! It reads only what JetStream puts outside the body — the type from the
//! `Rollcall-Type` header, the tenant from the subject `rollcall.events.<tenant>` —
//! which is how a consumer that does not know Rollcall's schemas routes events.
//! Being durable, the consumer's position lives on the server: a second run picks
//! up after the last message the first one acknowledged. Every ack is confirmed by
//! the server before it counts as done, so a clean stop never leads to a recount.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use futures::StreamExt;
use serde::Serialize;

/// Header naming the event's stored type, set by the JetStream log on append.
pub const TYPE_HEADER: &str = "Rollcall-Type";

/// Messages asked for in one pull request.
const BATCH: usize = 256;
/// Longest wait of one pull request, so reports and shutdown are never late.
const MAX_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsConfig {
    pub nats_url: String,
    /// The log's stream (`ROLLCALL`).
    pub stream: String,
    /// Events are on `<subject_prefix>.<tenant_id>` (`rollcall.events`).
    pub subject_prefix: String,
    /// Name of the durable consumer: its position survives restarts.
    pub durable_name: String,
    /// Stop after this many messages.
    pub max_messages: Option<u64>,
    /// Stop once no message has come for this long.
    pub idle_exit: Option<Duration>,
    /// How often `report` is called while messages flow.
    pub report_every: Duration,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            nats_url: "nats://127.0.0.1:4222".into(),
            stream: "ROLLCALL".into(),
            subject_prefix: "rollcall.events".into(),
            durable_name: "analytics".into(),
            max_messages: None,
            idle_exit: None,
            report_every: Duration::from_secs(10),
        }
    }
}

/// What one run has counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: u64,
    pub by_type: BTreeMap<String, u64>,
    pub by_tenant: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts one message from its subject and type header. A message without the
    /// header counts as type `unknown`; one outside the prefix as tenant `unknown`.
    pub fn record(&mut self, subject_prefix: &str, subject: &str, event_type: Option<&str>) {
        let tenant = subject
            .strip_prefix(subject_prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .filter(|t| !t.is_empty())
            .unwrap_or("unknown");
        self.total += 1;
        *self
            .by_type
            .entry(event_type.unwrap_or("unknown").to_owned())
            .or_default() += 1;
        *self.by_tenant.entry(tenant.to_owned()).or_default() += 1;
    }
}

#[derive(Debug)]
pub enum AnalyticsError {
    Connect(String),
    Stream { stream: String, reason: String },
    Consumer { durable: String, reason: String },
    Pull(String),
}

impl std::fmt::Display for AnalyticsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalyticsError::Connect(e) => write!(f, "cannot connect to NATS: {e}"),
            AnalyticsError::Stream { stream, reason } => {
                write!(f, "cannot open stream {stream}: {reason}")
            }
            AnalyticsError::Consumer { durable, reason } => {
                write!(f, "cannot create or open consumer {durable}: {reason}")
            }
            AnalyticsError::Pull(e) => write!(f, "pulling messages failed: {e}"),
        }
    }
}

impl std::error::Error for AnalyticsError {}

/// Consumes until `max_messages`, `idle_exit` or `shutdown`, calling `report`
/// periodically, and returns what this run counted.
pub async fn consume(
    config: &AnalyticsConfig,
    mut report: impl FnMut(&Counts),
    shutdown: impl Future<Output = ()>,
) -> Result<Counts, AnalyticsError> {
    let consumer = open_consumer(config).await?;
    let mut shutdown = std::pin::pin!(shutdown);
    let mut counts = Counts::default();
    let mut last_message = Instant::now();
    let mut last_report = Instant::now();
    loop {
        // Never ask for more than is still wanted: a message pulled but not acked
        // would wait out the ack timeout before the next run could have it.
        let want = match config.max_messages {
            Some(max) => max.saturating_sub(counts.total).min(BATCH as u64) as usize,
            None => BATCH,
        };
        if want == 0 {
            break;
        }
        let wait = config.idle_exit.map_or(MAX_WAIT, |idle| idle.min(MAX_WAIT));
        let mut batch = consumer
            .batch()
            .max_messages(want)
            .expires(wait)
            .messages()
            .await
            .map_err(|e| AnalyticsError::Pull(e.to_string()))?;
        let mut got = 0;
        loop {
            let next = tokio::select! {
                () = shutdown.as_mut() => return Ok(counts),
                next = batch.next() => next,
            };
            let Some(message) = next else { break };
            let message = message.map_err(|e| AnalyticsError::Pull(e.to_string()))?;
            let event_type = message
                .headers
                .as_ref()
                .and_then(|h| h.get(TYPE_HEADER))
                .map(|v| v.as_str());
            // Acked first, counted after: an ack the server did not confirm means
            // the message comes again, and is counted then.
            match message.double_ack().await {
                Ok(()) => {
                    counts.record(&config.subject_prefix, message.subject.as_str(), event_type);
                    got += 1;
                }
                Err(e) => {
                    eprintln!("ack not confirmed ({e}); the message will be redelivered")
                }
            }
        }
        if got > 0 {
            last_message = Instant::now();
        } else if config
            .idle_exit
            .is_some_and(|idle| last_message.elapsed() >= idle)
        {
            break;
        }
        if last_report.elapsed() >= config.report_every {
            report(&counts);
            last_report = Instant::now();
        }
    }
    Ok(counts)
}

async fn open_consumer(config: &AnalyticsConfig) -> Result<PullConsumer, AnalyticsError> {
    let client = async_nats::connect(config.nats_url.as_str())
        .await
        .map_err(|e| AnalyticsError::Connect(e.to_string()))?;
    let context = jetstream::new(client);
    let stream = context
        .get_stream(&config.stream)
        .await
        .map_err(|e| AnalyticsError::Stream {
            stream: config.stream.clone(),
            reason: e.to_string(),
        })?;
    stream
        .get_or_create_consumer(
            &config.durable_name,
            pull::Config {
                durable_name: Some(config.durable_name.clone()),
                description: Some("Rollcall example analytics consumer".into()),
                filter_subject: format!("{}.>", config.subject_prefix),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| AnalyticsError::Consumer {
            durable: config.durable_name.clone(),
            reason: e.to_string(),
        })
}
