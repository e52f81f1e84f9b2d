//! Reading the JetStream log: bounded reads and live subscriptions through ordered
//! (ephemeral, flow-controlled) pull consumers, and the look-up of one tenant
//! event by its tenant sequence.

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::{Ordered, OrderedConfig};
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use futures::StreamExt;

use super::{JetStreamLog, TenantHead, raw_message_error};
use crate::{EventStream, LogError};
use rollcall_events::RawEnvelope;
use rollcall_events::TenantId;

/// Pause before a broken subscription tries again, growing up to the maximum.
const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How often an idle subscription checks whether the client has reconnected.
const RECONNECT_CHECK: Duration = Duration::from_millis(250);
/// How long a subscription waits for its next event before asking the stream
/// whether it has one: on a cluster, the consumer lives with the stream's leader
/// and is gone with it, while the client stays connected to another node.
const STALL_CHECK: Duration = Duration::from_secs(1);

/// Parses a stored message and gives it its position.
pub(super) fn decode(payload: &[u8], position: u64) -> Result<RawEnvelope, LogError> {
    let mut event = RawEnvelope::from_json_bytes(payload).map_err(|e| LogError::Undecodable {
        position,
        error: e.to_string(),
    })?;
    event.position = position;
    Ok(event)
}

fn decode_message(message: &async_nats::jetstream::Message) -> Result<RawEnvelope, LogError> {
    let position = message
        .info()
        .map_err(|e| LogError::Store(format!("message without stream metadata: {e}")))?
        .stream_sequence;
    decode(&message.payload, position)
}

/// Where a bounded read stops.
#[derive(Clone, Copy)]
enum Until {
    Position(u64),
    TenantSeq(u64),
}

impl JetStreamLog {
    async fn ordered(&self, start: u64, filter_subject: String) -> Result<Ordered, LogError> {
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start.max(1),
                },
                filter_subject,
                ..Default::default()
            })
            .await
            .map_err(|e| LogError::Unavailable(format!("cannot create a consumer: {e}")))?;
        consumer
            .messages()
            .await
            .map_err(|e| LogError::Unavailable(format!("cannot start a consumer: {e}")))
    }

    fn connects(&self) -> u64 {
        self.client
            .statistics()
            .connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drains `messages` up to and including the event `until` names. Each message
    /// must arrive within the request timeout, so a read against a dead server ends
    /// with [`LogError::Unavailable`] instead of hanging.
    fn bounded(&self, messages: Ordered, until: Until) -> EventStream {
        let timeout = self.config.request_timeout;
        futures::stream::unfold(Some(messages), move |messages| async move {
            let mut messages = messages?;
            let item = match tokio::time::timeout(timeout, messages.next()).await {
                Err(_) => Err(LogError::Unavailable(format!(
                    "no message within {timeout:?} while reading"
                ))),
                Ok(None) => return None,
                Ok(Some(Err(e))) => Err(LogError::Unavailable(format!("reading: {e}"))),
                Ok(Some(Ok(message))) => decode_message(&message),
            };
            let done = match (&item, until) {
                (Ok(event), Until::Position(last)) => event.position >= last,
                (Ok(event), Until::TenantSeq(last)) => event.tenant_seq >= last,
                // A record that is not an event is reported in its place; the
                // read goes on after it.
                (Err(LogError::Undecodable { position, .. }), Until::Position(last)) => {
                    *position >= last
                }
                (Err(LogError::Undecodable { .. }), Until::TenantSeq(_)) => false,
                (Err(_), _) => true,
            };
            Some((item, (!done).then_some(messages)))
        })
        .boxed()
    }

    pub(super) async fn read_all(&self, from_position: u64) -> Result<EventStream, LogError> {
        let head = super::EventLog::head(self).await?;
        let start = from_position.max(1);
        if start > head {
            return Ok(futures::stream::empty().boxed());
        }
        let messages = self.ordered(start, String::new()).await?;
        Ok(self.bounded(messages, Until::Position(head)))
    }

    pub(super) async fn read_one_tenant(
        &self,
        tenant: TenantId,
        from_seq: u64,
    ) -> Result<EventStream, LogError> {
        let head = self.fetch_head(tenant).await?;
        let from_seq = from_seq.max(1);
        if from_seq > head.tenant_seq {
            return Ok(futures::stream::empty().boxed());
        }
        let start = if from_seq == 1 {
            1
        } else {
            self.find(tenant, from_seq, head)
                .await?
                .ok_or_else(|| {
                    LogError::Store(format!(
                        "tenant {tenant} is at {} but its event {from_seq} is missing",
                        head.tenant_seq
                    ))
                })?
                .position
        };
        let messages = self.ordered(start, self.subject(tenant)).await?;
        Ok(self.bounded(messages, Until::TenantSeq(head.tenant_seq)))
    }

    /// Catches up from `from_position`, then follows the stream for ever. A broken
    /// consumer (server restart, lost connection) is replaced by a new one starting
    /// right after the last event delivered, and anything at or before it is
    /// skipped, so the subscriber sees neither a gap nor a repeat.
    pub(super) fn follow(&self, from_position: u64) -> EventStream {
        struct State {
            log: JetStreamLog,
            next: u64,
            messages: Option<Ordered>,
            /// The client's connection count when the consumer was created.
            connects: u64,
            pause: Duration,
            /// How long the consumer has delivered nothing.
            idle: Duration,
        }
        let state = State {
            log: self.clone(),
            next: from_position.max(1),
            messages: None,
            connects: 0,
            pause: RETRY_MIN,
            idle: Duration::ZERO,
        };
        futures::stream::unfold(state, |mut st| async move {
            loop {
                let Some(messages) = st.messages.as_mut() else {
                    let connects = st.log.connects();
                    match st.log.ordered(st.next, String::new()).await {
                        Ok(messages) => {
                            st.messages = Some(messages);
                            st.connects = connects;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, next = st.next, "subscription waits for the log");
                            tokio::time::sleep(st.pause).await;
                            st.pause = (st.pause * 2).min(RETRY_MAX);
                        }
                    }
                    continue;
                };
                let next = tokio::select! {
                    next = messages.next() => next,
                    () = tokio::time::sleep(RECONNECT_CHECK) => {
                        // After a reconnect the server may have lost the consumer;
                        // the ordered consumer would notice only after missing
                        // heartbeats, so start a new one at once.
                        if st.log.connects() != st.connects {
                            st.messages = None;
                            continue;
                        }
                        st.idle += RECONNECT_CHECK;
                        if st.idle >= STALL_CHECK {
                            st.idle = Duration::ZERO;
                            let head = tokio::time::timeout(STALL_CHECK, super::EventLog::head(&st.log)).await;
                            if let Ok(Ok(head)) = head
                                && head >= st.next
                            {
                                tracing::warn!(next = st.next, head, "subscription stalled behind the stream; restarting its consumer");
                                st.messages = None;
                            }
                        }
                        continue;
                    }
                };
                st.idle = Duration::ZERO;
                match next {
                    Some(Ok(message)) => {
                        let item = decode_message(&message);
                        match &item {
                            Ok(event) if event.position < st.next => continue,
                            Ok(event) => st.next = event.position + 1,
                            // Unreadable: report it once and move past it.
                            Err(_) => {
                                if let Ok(info) = message.info() {
                                    st.next = st.next.max(info.stream_sequence + 1);
                                }
                            }
                        }
                        st.pause = RETRY_MIN;
                        return Some((item, st));
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, next = st.next, "subscription restarts its consumer");
                        st.messages = None;
                        tokio::time::sleep(st.pause).await;
                        st.pause = (st.pause * 2).min(RETRY_MAX);
                    }
                    None => st.messages = None,
                }
            }
        })
        .boxed()
    }

    /// The tenant's event with `tenant_seq == target`, if stored. Binary search over
    /// stream sequences: the first tenant message at or after a sequence tells on
    /// which side the target lies, so it takes O(log n) requests.
    pub(super) async fn find(
        &self,
        tenant: TenantId,
        target: u64,
        head: TenantHead,
    ) -> Result<Option<RawEnvelope>, LogError> {
        if target == 0 || target > head.tenant_seq {
            return Ok(None);
        }
        if target == head.tenant_seq {
            // The common refusal: the tenant is one step past the caller.
            let message = self
                .stream
                .get_raw_message(head.stream_seq)
                .await
                .map_err(raw_message_error)?;
            let event = decode(&message.payload, message.sequence)?;
            if event.tenant_seq == target && event.tenant_id == tenant {
                return Ok(Some(event));
            }
        }
        let subject = self.subject(tenant);
        let (mut low, mut high) = (1u64, head.stream_seq);
        while low <= high {
            let middle = low + (high - low) / 2;
            let message = match self
                .stream
                .get_first_raw_message_by_subject(&subject, middle)
                .await
            {
                Ok(message) => message,
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {
                    high = middle.saturating_sub(1);
                    continue;
                }
                Err(e) => return Err(raw_message_error(e)),
            };
            let event = decode(&message.payload, message.sequence)?;
            if event.tenant_seq == target {
                return Ok(Some(event));
            }
            if event.tenant_seq < target {
                low = message.sequence + 1;
            } else if middle == 0 {
                break;
            } else {
                high = middle - 1;
            }
        }
        Ok(None)
    }
}
