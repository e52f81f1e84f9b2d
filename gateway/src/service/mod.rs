//! The command service: load a tenant's Team from the log, decide, seal, append,
//! retry on conflict. The only writer of the log in the gateway.
//!
//! Each tenant's state is cached behind its own lock, so commands on one tenant
//! are serialised inside one gateway (no self-inflicted conflicts) while tenants
//! never wait on each other. Other gateways writing the same tenant are met by the
//! log's optimistic concurrency: on a conflict the service folds what it missed and
//! decides again, which is safe because `decide` is pure.

mod error;
mod health;
mod idempotency;
mod tenant;

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use rollcall_aggregates::{Command, Context, DomainError, Member, decide};
use rollcall_events::{
    Actor, CommandUnchanged, Event, EventId, EventMeta, RawEnvelope, TenantId, UserId,
};
use rollcall_log::{EventLog, LogError};
use tokio::sync::Mutex;
use uuid::Uuid;

pub use error::ServiceError;

use health::LogHealth;
pub use idempotency::{KEY_TTL, tenant_id_for_key};
use idempotency::{StoredKey, fingerprint};
use tenant::TenantState;

pub use health::{PROBE_INTERVAL, PROBE_TIMEOUT};

/// How many times a command is decided at most when it keeps losing races to
/// other writers.
const MAX_ATTEMPTS: u32 = 16;
/// First pause after a lost race; it doubles with every further loss.
const CONFLICT_BACKOFF: Duration = Duration::from_millis(5);
/// Longest pause between two attempts.
const CONFLICT_BACKOFF_MAX: Duration = Duration::from_millis(200);
/// Longest a command spends pausing between attempts, in all.
const CONFLICT_BUDGET: Duration = Duration::from_secs(2);

/// Everything about a command that is not the command: who, when, why, and the
/// fresh ids of its event.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMeta {
    pub actor: Actor,
    pub mfa: bool,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    pub correlation_id: Uuid,
    pub now: DateTime<Utc>,
    pub event_id: EventId,
}

/// A command that produced its event (now, or the first time its idempotency key
/// was used).
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub tenant: TenantId,
    pub position: u64,
    pub event_id: EventId,
    pub event: Event,
    pub tenant_seq: u64,
}

impl Executed {
    /// Whether this is the record of a keyed command that changed nothing.
    pub fn is_unchanged(&self) -> bool {
        matches!(self.event, Event::CommandUnchanged(_))
    }
}

/// The result of a command that was not refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The event was appended by this call.
    Executed(Executed),
    /// The idempotency key was seen before: this is the first answer, nothing
    /// appended. The first answer may be a recorded no-op
    /// ([`Executed::is_unchanged`]).
    Replayed(Executed),
    /// Nothing would change. Without a key nothing is appended and `position` is
    /// the tenant's current one; with a key, `position` is the `command.unchanged`
    /// event that records the key.
    Unchanged { position: u64 },
}

impl Outcome {
    fn name(&self) -> &'static str {
        match self {
            Outcome::Executed(_) => "executed",
            Outcome::Replayed(_) => "replayed",
            Outcome::Unchanged { .. } => "unchanged",
        }
    }
}

/// Another fold of the same log (a gateway's read side), asked for some members
/// of a tenant. The command side swaps its own copy of a member for an equal one
/// held there, so each member is resident once; it never decides on what it
/// finds.
pub type SharedMembers = Arc<dyn Fn(TenantId, &[UserId]) -> Held + Send + Sync>;

/// What another fold holds of the members asked for.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The tenant's sequence that fold has reached (0 when it has none).
    pub tenant_seq: u64,
    /// For each member asked for, in order, the member as that fold holds it.
    pub members: Vec<Option<Arc<Member>>>,
}

pub struct CommandService {
    log: Arc<dyn EventLog>,
    tenants: SyncMutex<HashMap<TenantId, Arc<Mutex<TenantState>>>>,
    health: LogHealth,
    shared: Option<SharedMembers>,
}

impl CommandService {
    pub fn new(log: Arc<dyn EventLog>) -> CommandService {
        CommandService {
            log,
            tenants: SyncMutex::new(HashMap::new()),
            health: LogHealth::default(),
            shared: None,
        }
    }

    /// Shares members with `shared` (see [`SharedMembers`]).
    pub fn sharing_members(mut self, shared: SharedMembers) -> CommandService {
        self.shared = Some(shared);
        self
    }

    /// Why the log is known down right now (commands then answer 503 at once).
    pub fn log_down(&self) -> Option<String> {
        self.health.down(self.log.as_ref())
    }

    /// Refuses at once while the log is known down.
    fn check_log(&self) -> Result<(), ServiceError> {
        match self.log_down() {
            Some(why) => Err(ServiceError::Unavailable(why)),
            None => Ok(()),
        }
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// How many tenants' states this service keeps (only tenants the log holds).
    pub fn cached_tenants(&self) -> usize {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn slot(&self, tenant: TenantId) -> Arc<Mutex<TenantState>> {
        // A poisoned lock only means another request panicked while inserting; the
        // map itself is still consistent.
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(tenant).or_default().clone()
    }

    /// Folds the tenant's events appended since the state was last brought up to date.
    async fn catch_up(
        &self,
        tenant: TenantId,
        state: &mut TenantState,
    ) -> Result<(), ServiceError> {
        // Asking for the head is one cheap request on every backend; opening a read
        // is not (a JetStream consumer), and most of the time nothing is new.
        let head = self.log.tenant_head(tenant).await?;
        self.catch_up_to(tenant, state, head).await
    }

    /// Folds the tenant's events if the state is behind `head`.
    async fn catch_up_to(
        &self,
        tenant: TenantId,
        state: &mut TenantState,
        head: u64,
    ) -> Result<(), ServiceError> {
        if head <= state.team.tenant_seq {
            return Ok(());
        }
        let mut stream = self
            .log
            .read_tenant(tenant, state.team.tenant_seq + 1)
            .await?;
        while let Some(raw) = stream.try_next().await? {
            if raw.tenant_seq <= state.team.tenant_seq {
                continue;
            }
            let envelope = raw.decode().map_err(|e| {
                ServiceError::Store(format!(
                    "tenant {tenant} event at position {} cannot be decoded: {e}",
                    raw.position
                ))
            })?;
            state.fold(tenant, &envelope);
        }
        Ok(())
    }

    /// Decides and appends one command. `CreateTenant` must name `tenant`.
    pub async fn execute(
        &self,
        tenant: TenantId,
        command: Command,
        meta: CommandMeta,
    ) -> Result<Outcome, ServiceError> {
        let name = command.name();
        let result = match self.check_log() {
            Ok(()) => self.execute_on(tenant, command, meta).await,
            Err(e) => Err(e),
        };
        if let Err(ServiceError::Unavailable(cause) | ServiceError::OutcomeUnknown(cause)) = &result
        {
            self.health.mark_down(self.log.clone(), cause);
        }
        let outcome = match &result {
            Ok(o) => o.name(),
            Err(e) => e.outcome(),
        };
        metrics::counter!("rollcall_commands_total", "command" => name, "outcome" => outcome)
            .increment(1);
        result
    }

    async fn execute_on(
        &self,
        tenant: TenantId,
        command: Command,
        meta: CommandMeta,
    ) -> Result<Outcome, ServiceError> {
        // Only a keyed command is fingerprinted: the fingerprint tells a retry of
        // the key from another request under the same key.
        let keyed = match meta.idempotency_key.as_deref() {
            Some(key) => {
                let fp =
                    fingerprint(meta.actor, &command, meta.reason.as_deref()).map_err(|e| {
                        ServiceError::Store(format!("cannot fingerprint the command: {e}"))
                    })?;
                Some((StoredKey::format(&fp, key), fp))
            }
            None => None,
        };
        let stored_key = keyed.as_ref().map(|(stored, _)| stored.clone());
        let ctx = Context {
            now: meta.now,
            actor: meta.actor,
            mfa: meta.mfa,
            reason: meta.reason.clone(),
        };

        let slot = self.slot(tenant);
        let mut state = slot.lock().await;
        // The log may have gone down while this command waited for the lock.
        self.check_log()?;
        if let Some(shared) = &self.shared {
            state.share(tenant, shared);
        }
        let mut paused = Duration::ZERO;
        // A tenant this gateway has folded is decided on its cached state at once:
        // an append on a stale state is refused by the log (the tenant moved on)
        // and decided again after catching up, so a write costs one round trip.
        // A refusal is only answered once the state is known to be the log's. A
        // key first used through another gateway is found the same way: whatever
        // the stale state decides either appends (refused, then caught up) or is
        // refused (caught up before answering), since even a keyed no-op appends.
        let mut fresh = false;
        for attempt in 0..MAX_ATTEMPTS {
            if !fresh && state.team.tenant_seq == 0 {
                self.catch_up(tenant, &mut state).await?;
                fresh = true;
            }
            if let (Some(key), Some((_, fp))) = (meta.idempotency_key.as_deref(), &keyed)
                && let Some(first) = state.answer_for(key, meta.now)
            {
                return replay(first, fp);
            }
            let (event, unchanged) = match decide(&state.team, &command, &ctx) {
                Ok(event) => (event, false),
                Err(_) if !fresh => {
                    self.catch_up(tenant, &mut state).await?;
                    fresh = true;
                    continue;
                }
                // A keyed no-op is recorded, so that a retry of its key answers
                // "unchanged" again instead of executing on a state that moved on.
                Err(DomainError::Unchanged { .. }) if stored_key.is_some() => {
                    let marker = Event::CommandUnchanged(CommandUnchanged {
                        command: command.name().to_owned(),
                    });
                    (marker, true)
                }
                Err(DomainError::Unchanged { .. }) => {
                    return Ok(Outcome::Unchanged {
                        position: state.team.position,
                    });
                }
                Err(e) => return Err(ServiceError::Rejected(e)),
            };
            let expected = state.team.tenant_seq;
            let raw = RawEnvelope::seal(
                EventMeta {
                    event_id: meta.event_id,
                    tenant_id: tenant,
                    tenant_seq: expected + 1,
                    occurred_at: meta.now,
                    actor: meta.actor,
                    reason: meta.reason.clone(),
                    correlation_id: meta.correlation_id,
                    idempotency_key: stored_key.clone(),
                },
                state.head_hash(),
                &event,
            );
            let started = Instant::now();
            let appended = self.log.append(tenant, expected, &raw).await;
            metrics::histogram!("rollcall_append_seconds").record(started.elapsed().as_secs_f64());
            match appended {
                Ok(a) if !a.duplicate => {
                    let mut stored = raw;
                    stored.position = a.position;
                    let envelope = stored
                        .decode()
                        .map_err(|e| ServiceError::Store(format!("own event undecodable: {e}")))?;
                    state.fold(tenant, &envelope);
                    return Ok(executed(
                        tenant,
                        a.position,
                        &meta,
                        event,
                        expected + 1,
                        unchanged,
                    ));
                }
                // The same event id was already stored (a retried append that had
                // in fact gone through): fold from the log and answer with it.
                Ok(a) => {
                    self.catch_up(tenant, &mut state).await?;
                    return Ok(executed(
                        tenant,
                        a.position,
                        &meta,
                        event,
                        expected + 1,
                        unchanged,
                    ));
                }
                Err(LogError::Conflict { .. }) => {
                    tracing::debug!(%tenant, expected, "append conflict; deciding again");
                    // Writers that collided once would collide again in lockstep:
                    // each pauses a random while, longer after every loss.
                    let pause = backoff(attempt).min(CONFLICT_BUDGET.saturating_sub(paused));
                    if attempt + 1 < MAX_ATTEMPTS && !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                        paused += pause;
                    }
                    self.catch_up(tenant, &mut state).await?;
                    fresh = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Conflict {
            tenant,
            attempts: MAX_ATTEMPTS,
        })
    }
}

/// A random pause before attempt `attempt + 1` ("full jitter"): up to
/// [`CONFLICT_BACKOFF`] doubled per lost race, at most [`CONFLICT_BACKOFF_MAX`].
fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = CONFLICT_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(CONFLICT_BACKOFF_MAX);
    let micros = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::thread_rng().gen_range(0..=micros))
}

/// The answer to an event this call appended: a recorded no-op answers unchanged.
fn executed(
    tenant: TenantId,
    position: u64,
    meta: &CommandMeta,
    event: Event,
    tenant_seq: u64,
    unchanged: bool,
) -> Outcome {
    if unchanged {
        return Outcome::Unchanged { position };
    }
    Outcome::Executed(Executed {
        tenant,
        position,
        event_id: meta.event_id,
        event,
        tenant_seq,
    })
}

/// The first answer for a key, or a refusal if the key came with another request.
fn replay(first: &idempotency::Remembered, fp: &str) -> Result<Outcome, ServiceError> {
    match first.fingerprint.as_deref() {
        Some(stored) if stored != fp => Err(ServiceError::IdempotencyKeyReused),
        _ => Ok(Outcome::Replayed(first.executed.clone())),
    }
}
