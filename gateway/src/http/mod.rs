//! The HTTP API: state, router, and the layers every answer passes through
//! (problem+json for every error, `X-Rollcall-Position`, body limit, timeout, trace).

mod commands;
mod compliance;
mod console;
pub mod dto;
mod edge;
mod events;
mod extract;
pub mod openapi;
mod ops;
mod pages;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use metrics_exporter_prometheus::PrometheusHandle;
use rollcall_events::TenantId;

pub use edge::Edge;
pub use extract::parse_json;

use rollcall_projections::Projections;

use crate::auth::{Access, Need, Principal, Secrets, TokenPolicy, admit, screen};
use crate::limits::{RateLimit, RateLimits, StreamSlots};
use crate::problem::ApiError;
use crate::service::CommandService;

/// The member a token names (none for the operator).
fn principal_user(principal: &Principal) -> rollcall_events::UserId {
    match principal {
        Principal::Token { user, .. } => *user,
        Principal::Operator => rollcall_events::UserId::from_u128(0),
    }
}

/// How long a read behind its `min_position` waits for the log's head, to tell a
/// position that is coming from one that does not exist.
const HEAD_WAIT: Duration = Duration::from_millis(500);

/// Header carrying the read side's position on every answer.
pub const POSITION_HEADER: &str = "x-rollcall-position";

/// Tunables of the HTTP layer; every limit is here, with its default.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Longest a query waits for `min_position` before answering 503.
    pub query_wait: Duration,
    pub request_timeout: Duration,
    pub body_limit: usize,
    /// What a member token must carry beyond a valid signature.
    pub tokens: TokenPolicy,
    /// Event streams one member may hold open at once.
    pub streams_per_member: usize,
    /// Event streams one tenant may have open at once.
    pub streams_per_tenant: usize,
    /// Interval of a stream's keep-alive comments (and of its re-admission when
    /// no event flows).
    pub stream_keep_alive: Duration,
    /// Commands (logins included) one member may send.
    pub commands_per_member: RateLimit,
    /// Commands (logins included) one client address may send.
    pub commands_per_ip: RateLimit,
    /// Proxies whose `X-Forwarded-For` names the client; without, the client is
    /// the connection's peer.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve `/metrics` without the operator token (when it is on a listener of
    /// its own that only the scraper reaches).
    pub metrics_public: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            query_wait: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            body_limit: 256 * 1024,
            tokens: TokenPolicy::default(),
            streams_per_member: 4,
            streams_per_tenant: 64,
            stream_keep_alive: Duration::from_secs(15),
            commands_per_member: RateLimit {
                per_second: 20,
                burst: 40,
            },
            commands_per_ip: RateLimit {
                per_second: 200,
                burst: 400,
            },
            trusted_proxies: Vec::new(),
            metrics_public: false,
        }
    }
}

struct Inner {
    service: Arc<CommandService>,
    read: Projections,
    secrets: Secrets,
    verified: crate::auth::VerifiedTokens,
    config: HttpConfig,
    metrics: PrometheusHandle,
    handles: MetricHandles,
    compliance: std::sync::OnceLock<Compliance>,
    installation_key: std::sync::OnceLock<Option<String>>,
    rates: RateLimits,
    streams: StreamSlots,
    /// Turns true when the server begins to shut down; open streams end then.
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// What the compliance endpoints read: as-of answers over the log, and the
/// checkpoint store the publisher writes.
#[derive(Clone)]
pub struct Compliance {
    pub history: rollcall_replay::TeamHistory,
    pub checkpoints: Option<rollcall_replay::CheckpointStore>,
}

/// The metrics every request touches, resolved once rather than looked up by
/// name and labels on each request.
pub struct MetricHandles {
    /// `rollcall_projection_position`.
    pub position: metrics::Gauge,
    /// `rollcall_checks_total{outcome="allowed"}`.
    pub checks_allowed: metrics::Counter,
    /// `rollcall_checks_total{outcome="denied"}`.
    pub checks_denied: metrics::Counter,
}

impl MetricHandles {
    fn resolve() -> MetricHandles {
        MetricHandles {
            position: metrics::gauge!("rollcall_projection_position"),
            checks_allowed: metrics::counter!("rollcall_checks_total", "outcome" => "allowed"),
            checks_denied: metrics::counter!("rollcall_checks_total", "outcome" => "denied"),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        service: Arc<CommandService>,
        read: Projections,
        secrets: Secrets,
        config: HttpConfig,
    ) -> AppState {
        // The recorder first: the handles are resolved against it.
        let metrics = crate::telemetry::prometheus();
        AppState(Arc::new(Inner {
            service,
            read,
            secrets,
            verified: crate::auth::VerifiedTokens::new(),
            rates: RateLimits::new(config.commands_per_member, config.commands_per_ip),
            streams: StreamSlots::new(config.streams_per_member, config.streams_per_tenant),
            shutdown: tokio::sync::watch::Sender::new(false),
            config,
            metrics,
            handles: MetricHandles::resolve(),
            compliance: std::sync::OnceLock::new(),
            installation_key: std::sync::OnceLock::new(),
        }))
    }

    /// Serves the compliance endpoints from `history` and `checkpoints` (without,
    /// as-of answers fold the service's log and checkpoints answer 503).
    pub fn with_compliance(
        self,
        history: rollcall_replay::TeamHistory,
        checkpoints: rollcall_replay::CheckpointStore,
    ) -> AppState {
        let _ = self.0.compliance.set(Compliance {
            history,
            checkpoints: Some(checkpoints),
        });
        self
    }

    /// The checkpoint key (hex) this gateway signs with, so `verify` can say
    /// whether the newest checkpoint was signed with it.
    pub fn with_installation_key(self, key: Option<String>) -> AppState {
        let _ = self.0.installation_key.set(key);
        self
    }

    /// See [`AppState::with_installation_key`]; `None` when this gateway does not sign.
    pub fn installation_key(&self) -> Option<&str> {
        self.0.installation_key.get().and_then(|k| k.as_deref())
    }

    pub fn compliance(&self) -> Compliance {
        self.0
            .compliance
            .get_or_init(|| Compliance {
                history: rollcall_replay::TeamHistory::new(self.0.service.log().clone(), None),
                checkpoints: None,
            })
            .clone()
    }

    pub fn secrets(&self) -> &Secrets {
        &self.0.secrets
    }

    pub fn verified_tokens(&self) -> &crate::auth::VerifiedTokens {
        &self.0.verified
    }

    pub fn token_policy(&self) -> &TokenPolicy {
        &self.0.config.tokens
    }

    pub fn config(&self) -> &HttpConfig {
        &self.0.config
    }

    pub fn metrics_handles(&self) -> &MetricHandles {
        &self.0.handles
    }

    pub fn rates(&self) -> &RateLimits {
        &self.0.rates
    }

    pub fn streams(&self) -> &StreamSlots {
        &self.0.streams
    }

    /// Watches for the start of shutdown.
    pub fn shutdown_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.shutdown.subscribe()
    }

    /// Begins shutdown: open event streams send their last event and end.
    pub fn begin_shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    pub fn service(&self) -> &CommandService {
        &self.0.service
    }

    /// The read side: the access index and the views.
    pub fn read(&self) -> &Projections {
        &self.0.read
    }

    /// Admits the caller to `tenant` for what a route `need`s: first the token's
    /// own tenant and scope (nothing about the tenant is looked up for a token of
    /// another tenant), then its member, from the read side's index — no call into
    /// the command side. A gateway answers a command only once its own read side
    /// has applied the event, so on one gateway a deactivation takes effect with
    /// the very next request; another gateway sees it within its projector's lag,
    /// or at once with `min_position` or `consistency=full`.
    pub async fn admit(
        &self,
        principal: Principal,
        tenant: TenantId,
        need: Need,
    ) -> Result<Access, ApiError> {
        screen(&principal, tenant, need)?;
        let view = self.0.read.view();
        // A tenant whose catalog does not compile answers nothing; only the
        // operator's commands (defining a catalog that does) go through.
        let repair = matches!(principal, Principal::Operator) && need == Need::Admin;
        if let Some(reason) = view.tenant(tenant).and_then(|i| i.unavailable.as_deref())
            && !repair
        {
            return Err(ApiError::unavailable(reason));
        }
        let member = view.admission(tenant, principal_user(&principal));
        admit(principal, member)
    }

    /// Settles how fresh a read must be: at least `min_position`, and with
    /// `consistency=full` the log's head (one round trip to the log).
    pub async fn settle(
        &self,
        min_position: Option<u64>,
        consistency: Option<dto::Consistency>,
    ) -> Result<(), ApiError> {
        let head = match consistency {
            Some(dto::Consistency::Full) => {
                Some(self.0.service.log().head().await.map_err(|e| {
                    ApiError::unavailable(format!("the log's head cannot be read: {e}"))
                })?)
            }
            None => None,
        };
        self.wait_for(min_position.max(head)).await
    }

    /// Waits for the read side to reach `min_position`, bounded; 503 when it does
    /// not. A position past the log's head is refused at once with 409
    /// `position-ahead`, without holding the request for the wait: it names no
    /// event yet, so waiting would only turn a client's mistake into an outage.
    pub async fn wait_for(&self, min_position: Option<u64>) -> Result<(), ApiError> {
        let Some(position) = min_position else {
            return Ok(());
        };
        if self.0.read.position() >= position {
            return Ok(());
        }
        let head = tokio::time::timeout(HEAD_WAIT, self.0.service.log().head()).await;
        if let Ok(Ok(head)) = head
            && position > head
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "position-ahead",
                format!(
                    "min_position {position} is past the log's head ({head}): no such event yet"
                ),
            ));
        }
        match self
            .0
            .read
            .wait_for(position, self.0.config.query_wait)
            .await
        {
            Ok(_) => Ok(()),
            Err(_) => Err(ApiError::unavailable(format!(
                "the read side has not reached position {position} yet"
            ))),
        }
    }
}

/// The whole API, as served: the routes inside the [`Edge`] every answer
/// passes through.
pub type App = Edge<Router>;

/// The whole API.
pub fn router(state: AppState) -> App {
    // The API's routes come with their document; the health, metrics and
    // document routes also answer under /v1.
    let (api, _) = openapi::api();
    let (ops, _) = openapi::ops().split_for_parts();
    let routes = Router::new()
        .merge(api)
        .nest("/v1", ops)
        .merge(pages::routes())
        .merge(console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    Edge::new(routes, state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this resource does not accept that method",
    )
}
