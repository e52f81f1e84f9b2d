//! The JetStream event log: how Rollcall grows past one machine.
//!
//! One stream (`ROLLCALL`, file storage, delete and purge denied) holds every event
//! as one message on `rollcall.events.<tenant_id>`; a message's stream sequence is
//! the event's position. The server is the arbiter of both rules of `append`:
//! `Nats-Expected-Last-Subject-Sequence` makes it refuse an append when the tenant
//! moved on, and `Nats-Msg-Id` (the event id) makes it drop a retry inside its
//! duplicate window. Beyond that window a refused append still finds its first
//! answer: the event, if stored, can only sit at the tenant sequence it was built
//! for, so the log looks there before calling it a conflict.
//!
//! The stream sequence of each tenant's newest message is cached so an append
//! costs one publish; a miss or a refusal refreshes it from the server.

mod read;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::ErrorCode;
use async_nats::jetstream::context::{
    ContextBuilder, CreateStreamErrorKind, GetStreamErrorKind, PublishErrorKind,
};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, LastRawMessageErrorKind, StorageType};
use async_nats::jetstream::{self, context::PublishError};
use async_trait::async_trait;
use bytes::Bytes;

use crate::{Appended, EventLog, EventStream, LogError, check_fits};
use rollcall_events::RawEnvelope;
use rollcall_events::TenantId;

/// Header naming the event's stored type, so consumers can route without parsing.
pub const TYPE_HEADER: &str = "Rollcall-Type";
/// Header carrying the event's schema version.
pub const SCHEMA_VERSION_HEADER: &str = "Rollcall-Schema-Version";

/// How long the server remembers message ids; retries later than this are caught by
/// the look-up at the event's own tenant sequence instead.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Tenants whose newest position is cached; beyond this the cache starts over.
const MAX_CACHED_TENANTS: usize = 100_000;
/// Publishes retried when the cache turns out stale but the tenant has not moved.
const STALE_RETRIES: usize = 3;

/// Where the log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamConfig {
    /// `nats://host:port`; several comma-separated URLs name a cluster.
    pub url: String,
    /// Stream name.
    pub stream: String,
    /// Events go to `<subject_prefix>.<tenant_id>`.
    pub subject_prefix: String,
    /// Stream replicas: 1 on a single server, 3 on a cluster. `Some(n)` creates the
    /// stream with `n` and refuses an existing stream with another count; `None`
    /// creates it with 1 and takes an existing stream as it is.
    pub replicas: Option<usize>,
    /// Bound on every request and publish acknowledgement; past it the log answers
    /// [`LogError::Unavailable`].
    pub request_timeout: Duration,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            url: "nats://127.0.0.1:4222".into(),
            stream: "ROLLCALL".into(),
            subject_prefix: "rollcall.events".into(),
            replicas: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// The tenant's newest event: its tenant sequence and its stream sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct TenantHead {
    tenant_seq: u64,
    stream_seq: u64,
}

/// The JetStream-backed [`EventLog`]. Cheap to clone.
#[derive(Clone)]
pub struct JetStreamLog {
    client: async_nats::Client,
    context: jetstream::Context,
    stream: stream::Stream,
    config: JetStreamConfig,
    heads: Arc<Mutex<HashMap<TenantId, TenantHead>>>,
}

impl JetStreamLog {
    /// Connects, then creates the stream or checks that the existing one is fit to
    /// be the log. The client reconnects by itself whenever the server comes back.
    pub async fn connect(config: JetStreamConfig) -> Result<Self, LogError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(config.request_timeout)
            .request_timeout(Some(config.request_timeout))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((attempts as u64).saturating_mul(100).min(1_000))
            })
            // The client takes a cluster as a list; the flag names it as one
            // comma-separated string.
            .connect(server_list(&config.url))
            .await
            // The URL may carry credentials; it stays out of the message.
            .map_err(|e| LogError::Unavailable(format!("cannot connect to NATS: {e}")))?;
        let context = ContextBuilder::new()
            .timeout(config.request_timeout)
            .build(client.clone());
        let stream = ensure_stream(&context, &config).await?;
        Ok(JetStreamLog {
            client,
            context,
            stream,
            config,
            heads: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The NATS connection, for other publishers (checkpoints, notifications).
    pub fn client(&self) -> async_nats::Client {
        self.client.clone()
    }

    /// The JetStream context the log publishes through.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.context
    }

    pub fn config(&self) -> &JetStreamConfig {
        &self.config
    }

    /// When the server created the stream (RFC 3339, as the server reports it): with
    /// the stream's name, what tells this stream apart from one deleted and created
    /// anew under the same name. Read straight from the stream info API, so the
    /// answer does not depend on which date type the client library was built with.
    pub async fn stream_created(&self) -> Result<String, LogError> {
        let info: serde_json::Value = self
            .context
            .request(
                format!("STREAM.INFO.{}", self.config.stream),
                &serde_json::json!({}),
            )
            .await
            .map_err(|e| LogError::Unavailable(format!("stream info: {e}")))?;
        info.get("created")
            .and_then(|c| c.as_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                LogError::Store(format!(
                    "stream {} info has no creation time: {info}",
                    self.config.stream
                ))
            })
    }

    fn subject(&self, tenant: TenantId) -> String {
        format!("{}.{tenant}", self.config.subject_prefix)
    }

    fn cached_head(&self, tenant: TenantId) -> Option<TenantHead> {
        self.heads.lock().ok()?.get(&tenant).copied()
    }

    /// Records a head learnt from the server; never moves a tenant backwards, since
    /// a concurrent append may already have recorded a newer one.
    fn remember(&self, tenant: TenantId, head: TenantHead) {
        if let Ok(mut heads) = self.heads.lock() {
            if heads.len() >= MAX_CACHED_TENANTS && !heads.contains_key(&tenant) {
                heads.clear();
            }
            let entry = heads.entry(tenant).or_default();
            if head.tenant_seq >= entry.tenant_seq {
                *entry = head;
            }
        }
    }

    fn forget(&self, tenant: TenantId) {
        if let Ok(mut heads) = self.heads.lock() {
            heads.remove(&tenant);
        }
    }

    /// The tenant's newest event as the server has it.
    async fn fetch_head(&self, tenant: TenantId) -> Result<TenantHead, LogError> {
        let head = match self
            .stream
            .get_last_raw_message_by_subject(&self.subject(tenant))
            .await
        {
            Ok(message) => {
                let event = read::decode(&message.payload, message.sequence)?;
                TenantHead {
                    tenant_seq: event.tenant_seq,
                    stream_seq: message.sequence,
                }
            }
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => TenantHead::default(),
            Err(e) => return Err(raw_message_error(e)),
        };
        self.remember(tenant, head);
        Ok(head)
    }

    async fn publish(
        &self,
        tenant: TenantId,
        after: TenantHead,
        event: &RawEnvelope,
    ) -> Result<async_nats::jetstream::publish::PublishAck, PublishError> {
        // The position is only known once stored, so the stored copy carries none.
        let payload = if event.position == 0 {
            event.to_json_bytes()
        } else {
            RawEnvelope {
                position: 0,
                ..event.clone()
            }
            .to_json_bytes()
        };
        let message = PublishMessage::build()
            .payload(Bytes::from(payload))
            .message_id(event.event_id.to_string())
            .expected_last_subject_sequence(after.stream_seq)
            .header(TYPE_HEADER, event.event_type.as_str())
            .header(SCHEMA_VERSION_HEADER, event.schema_version.to_string());
        self.context
            .send_publish(self.subject(tenant), message)
            .await?
            .await
    }

    /// The answer when the tenant is not where the append expected it: the event's
    /// own first answer if it is already stored, else a conflict.
    async fn settle_mismatch(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
        head: TenantHead,
    ) -> Result<Appended, LogError> {
        if head.tenant_seq > expected {
            let stored = self.find(tenant, expected + 1, head).await?;
            if let Some(stored) = stored.filter(|s| s.event_id == event.event_id) {
                return Ok(Appended {
                    position: stored.position,
                    duplicate: true,
                });
            }
        }
        Err(LogError::Conflict {
            tenant,
            expected,
            actual: head.tenant_seq,
        })
    }
}

#[async_trait]
impl EventLog for JetStreamLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected_tenant_seq: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        check_fits(tenant, expected_tenant_seq, event)?;
        // Cut off from the server, a publish would wait in the client's buffer and
        // might land long after its caller was told it failed: refuse it unsent.
        if let Some(why) = self.unreachable() {
            return Err(LogError::Unavailable(why));
        }
        let mut head = match self.cached_head(tenant) {
            Some(head) if head.tenant_seq == expected_tenant_seq => head,
            // A new tenant needs no look-up: "no message yet" is what the server
            // checks, and it refuses the publish if the tenant does exist.
            None if expected_tenant_seq == 0 => TenantHead::default(),
            // Unknown, or the cache disagrees with the caller: the server decides.
            _ => self.fetch_head(tenant).await?,
        };
        for _ in 0..STALE_RETRIES {
            if head.tenant_seq != expected_tenant_seq {
                return self
                    .settle_mismatch(tenant, expected_tenant_seq, event, head)
                    .await;
            }
            match self.publish(tenant, head, event).await {
                Ok(ack) if ack.duplicate => {
                    // Stored before, so this tenant's cached head is behind.
                    self.forget(tenant);
                    return Ok(Appended {
                        position: ack.sequence,
                        duplicate: true,
                    });
                }
                Ok(ack) => {
                    self.remember(
                        tenant,
                        TenantHead {
                            tenant_seq: event.tenant_seq,
                            stream_seq: ack.sequence,
                        },
                    );
                    return Ok(Appended {
                        position: ack.sequence,
                        duplicate: false,
                    });
                }
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    self.forget(tenant);
                    head = self.fetch_head(tenant).await?;
                }
                Err(e) => {
                    // The message may still land (it can sit in the client's buffer
                    // until a reconnect), so what we knew of this tenant is void.
                    self.forget(tenant);
                    return Err(publish_error(e));
                }
            }
        }
        Err(LogError::Unavailable(format!(
            "tenant {tenant}'s position kept changing under the append"
        )))
    }

    async fn read(&self, from_position: u64) -> Result<EventStream, LogError> {
        self.read_all(from_position).await
    }

    async fn read_tenant(&self, tenant: TenantId, from_seq: u64) -> Result<EventStream, LogError> {
        self.read_one_tenant(tenant, from_seq).await
    }

    async fn subscribe(&self, from_position: u64) -> Result<EventStream, LogError> {
        Ok(self.follow(from_position))
    }

    async fn head(&self) -> Result<u64, LogError> {
        let info = self
            .stream
            .get_info()
            .await
            .map_err(|e| LogError::Unavailable(format!("stream info: {e}")))?;
        Ok(info.state.last_sequence)
    }

    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        Ok(self.fetch_head(tenant).await?.tenant_seq)
    }

    fn unreachable(&self) -> Option<String> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => None,
            _ => Some("not connected to NATS (reconnecting)".to_owned()),
        }
    }
}

/// Creates the stream, or checks that an existing one has the log's subjects and
/// file storage (anything else would lose events or mix in foreign messages).
async fn ensure_stream(
    context: &jetstream::Context,
    config: &JetStreamConfig,
) -> Result<stream::Stream, LogError> {
    let subjects = vec![format!("{}.>", config.subject_prefix)];
    match context.get_stream(&config.stream).await {
        Ok(mut existing) => {
            let info = existing
                .info()
                .await
                .map_err(|e| LogError::Unavailable(format!("stream info: {e}")))?;
            check_stream(&info.config, &subjects, config.replicas)?;
            return Ok(existing);
        }
        Err(e) => match e.kind() {
            GetStreamErrorKind::JetStream(api)
                if api.error_code() == ErrorCode::STREAM_NOT_FOUND => {}
            GetStreamErrorKind::JetStream(api) => {
                return Err(LogError::Store(format!("stream {}: {api}", config.stream)));
            }
            _ => {
                return Err(LogError::Unavailable(format!(
                    "stream {}: {e}",
                    config.stream
                )));
            }
        },
    }
    let wanted = stream::Config {
        name: config.stream.clone(),
        subjects: subjects.clone(),
        storage: StorageType::File,
        num_replicas: config.replicas.unwrap_or(1).max(1),
        deny_delete: true,
        deny_purge: true,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    };
    match context.create_stream(wanted).await {
        Ok(created) => Ok(created),
        // Another gateway created it first: use theirs if it fits.
        Err(e)
            if matches!(e.kind(), CreateStreamErrorKind::JetStream(api)
                if api.error_code() == ErrorCode::STREAM_NAME_EXIST) =>
        {
            let mut existing = context
                .get_stream(&config.stream)
                .await
                .map_err(|e| LogError::Unavailable(format!("stream {}: {e}", config.stream)))?;
            let info = existing
                .info()
                .await
                .map_err(|e| LogError::Unavailable(format!("stream info: {e}")))?;
            check_stream(&info.config, &subjects, config.replicas)?;
            Ok(existing)
        }
        Err(e) => match e.kind() {
            CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable => Err(
                LogError::Unavailable(format!("cannot create stream {}: {e}", config.stream)),
            ),
            _ => Err(LogError::Store(format!(
                "cannot create stream {}: {e}",
                config.stream
            ))),
        },
    }
}

fn check_stream(
    config: &stream::Config,
    subjects: &[String],
    replicas: Option<usize>,
) -> Result<(), LogError> {
    if config.subjects != subjects {
        return Err(LogError::Store(format!(
            "stream {} exists with subjects {:?}; the event log needs exactly {:?}",
            config.name, config.subjects, subjects
        )));
    }
    if config.storage != StorageType::File {
        return Err(LogError::Store(format!(
            "stream {} exists with {:?} storage; the event log needs file storage",
            config.name, config.storage
        )));
    }
    if let Some(wanted) = replicas
        && config.num_replicas.max(1) != wanted.max(1)
    {
        return Err(LogError::Store(format!(
            "stream {} exists with {} replica(s), not the {} asked for; start with \
             --nats-replicas {} (or without the flag), or change the stream's replicas \
             with the NATS tools first (`nats stream edit {} --replicas {}`)",
            config.name,
            config.num_replicas.max(1),
            wanted,
            config.num_replicas.max(1),
            config.name,
            wanted
        )));
    }
    if !config.deny_delete || !config.deny_purge {
        tracing::warn!(
            stream = %config.name,
            "the event stream allows deleting or purging messages; positions may get gaps"
        );
    }
    Ok(())
}

/// `nats://a:4222,nats://b:4222` as the list of servers it names.
fn server_list(url: &str) -> Vec<&str> {
    url.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect()
}

fn publish_error(e: PublishError) -> LogError {
    match e.kind() {
        // Sent, never acknowledged: the server may have stored it, or may still
        // (the message can sit in the client's buffer until a reconnect).
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
            LogError::OutcomeUnknown(format!("publish: {e}"))
        }
        PublishErrorKind::MaxAckPending
        // No responders: the stream has no leader right now (election, restart).
        | PublishErrorKind::StreamNotFound => LogError::Unavailable(format!("publish: {e}")),
        PublishErrorKind::MaxPayloadExceeded => LogError::Invalid(format!("publish: {e}")),
        _ => LogError::Store(format!("publish: {e}")),
    }
}

fn raw_message_error(e: stream::LastRawMessageError) -> LogError {
    match e.kind() {
        LastRawMessageErrorKind::JetStream(api) => LogError::Store(format!("message get: {api}")),
        LastRawMessageErrorKind::InvalidSubject => LogError::Invalid(format!("message get: {e}")),
        _ => LogError::Unavailable(format!("message get: {e}")),
    }
}
