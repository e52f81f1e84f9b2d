//! The HTTP API: state, router, and the layers every answer passes through
//! (problem+json for every error, `X-Rollcall-Position`, body limit, timeout, trace).

mod commands;
mod compliance;
pub mod dto;
mod extract;
mod later;
pub mod openapi;
mod ops;
mod pages;
mod queries;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use metrics_exporter_prometheus::PrometheusHandle;
use rollcall_events::TenantId;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use extract::parse_json;

use crate::auth::{Access, Principal, Secrets, admit};
use crate::problem::{ApiError, PROBLEM_JSON};
use crate::read::ReadModel;
use crate::service::CommandService;

/// Header carrying the read side's position on every answer.
pub const POSITION_HEADER: &str = "x-rollcall-position";

/// Tunables of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Longest a query waits for `min_position` before answering 503.
    pub query_wait: Duration,
    pub request_timeout: Duration,
    pub body_limit: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            query_wait: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            body_limit: 256 * 1024,
        }
    }
}

struct Inner {
    service: Arc<CommandService>,
    read: Arc<dyn ReadModel>,
    secrets: Secrets,
    invite_key: Vec<u8>,
    config: HttpConfig,
    metrics: PrometheusHandle,
    compliance: std::sync::OnceLock<Compliance>,
}

/// What the compliance endpoints read: as-of answers over the log, and the
/// checkpoint store the publisher writes.
#[derive(Clone)]
pub struct Compliance {
    pub history: rollcall_replay::TeamHistory,
    pub checkpoints: Option<rollcall_replay::CheckpointStore>,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    pub fn new(
        service: Arc<CommandService>,
        read: Arc<dyn ReadModel>,
        secrets: Secrets,
        config: HttpConfig,
    ) -> AppState {
        AppState(Arc::new(Inner {
            service,
            read,
            invite_key: secrets.invite_key(),
            secrets,
            config,
            metrics: crate::telemetry::prometheus(),
            compliance: std::sync::OnceLock::new(),
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

    pub fn service(&self) -> &CommandService {
        &self.0.service
    }

    pub fn read(&self) -> &dyn ReadModel {
        self.0.read.as_ref()
    }

    /// Admits the caller to `tenant`, judged on the tenant's state in the log (not
    /// the read side), so a deactivation takes effect with the very next request.
    pub async fn admit(&self, principal: Principal, tenant: TenantId) -> Result<Access, ApiError> {
        if principal == Principal::Operator {
            return admit(principal, tenant, &Default::default());
        }
        self.0
            .service
            .with_team(tenant, |team| admit(principal, tenant, team))
            .await?
    }

    /// Waits for the read side to reach `min_position`, bounded; 503 when it does not.
    pub async fn wait_for(&self, min_position: Option<u64>) -> Result<(), ApiError> {
        let Some(position) = min_position else {
            return Ok(());
        };
        if self
            .0
            .read
            .wait_for(position, self.0.config.query_wait)
            .await
        {
            Ok(())
        } else {
            Err(ApiError::unavailable(format!(
                "the read side has not reached position {position} yet"
            )))
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let config = state.0.config.clone();
    let v1 = Router::new()
        .route("/tenants", post(commands::create_tenant))
        .route(
            "/tenants/{t}/catalog",
            get(queries::catalog).put(commands::define_catalog),
        )
        .route("/tenants/{t}/plan", put(commands::change_plan))
        .route("/tenants/{t}/roles", post(commands::create_role))
        .route(
            "/tenants/{t}/roles/{role}",
            put(commands::update_role).delete(commands::delete_role),
        )
        .route("/tenants/{t}/invitations", post(commands::invite))
        .route(
            "/tenants/{t}/invitations/{id}/resend",
            post(commands::resend_invitation),
        )
        .route(
            "/tenants/{t}/invitations/{id}/cancel",
            post(commands::cancel_invitation),
        )
        .route("/invitations/accept", post(commands::accept_invitation))
        .route("/tenants/{t}/users", get(queries::users))
        .route("/tenants/{t}/users/{u}", get(queries::user))
        .route("/tenants/{t}/users/{u}/roles", put(commands::change_roles))
        .route(
            "/tenants/{t}/users/{u}/permissions/{perm}",
            put(commands::toggle_permission),
        )
        .route(
            "/tenants/{t}/users/{u}/scopes/{area}",
            put(commands::set_scope),
        )
        .route("/tenants/{t}/users/{u}/offices", put(commands::set_offices))
        .route(
            "/tenants/{t}/users/{u}/networks",
            put(commands::set_networks),
        )
        .route(
            "/tenants/{t}/users/{u}/profile",
            put(commands::update_profile),
        )
        .route(
            "/tenants/{t}/users/{u}/deactivate",
            post(commands::deactivate),
        )
        .route(
            "/tenants/{t}/users/{u}/reactivate",
            post(commands::reactivate),
        )
        .route(
            "/tenants/{t}/users/{u}/logins",
            post(commands::record_login),
        )
        .route("/tenants/{t}/platforms", get(queries::platforms))
        .route("/tenants/{t}/check", post(queries::check))
        .route(
            "/tenants/{t}/users/{u}/effective-permissions",
            get(compliance::effective_permissions_as_of),
        )
        .route("/tenants/{t}/audit", get(queries::audit))
        .route("/tenants/{t}/access-review", get(compliance::access_review))
        .route("/tenants/{t}/access-diff", get(compliance::access_diff))
        .route("/tenants/{t}/events", get(later::event_stream))
        .route("/tenants/{t}/checkpoints", get(compliance::checkpoints));
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi));
    Router::new()
        .nest("/v1", v1.merge(ops.clone()))
        .merge(ops)
        .merge(pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        // A bug that panics in a handler answers a 500 problem instead of dropping
        // the connection.
        .layer(CatchPanicLayer::new())
        .layer(middleware::map_response(problems_only))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            position_header,
        ))
        .layer(
            // Method, path and status only: headers (and so tokens) are never logged.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                // Server errors are logged once, by the problem answer, at the
                // level their cause deserves.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .with_state(state)
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

/// Any error answer that is not already a problem (a framework's bodiless 408,
/// say) is turned into one, so clients only ever parse one error format.
async fn problems_only(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        response
    } else {
        ApiError::from_status(status).into_response()
    }
}

async fn position_header(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let position = state.read().position();
    metrics::gauge!("rollcall_projection_position").set(position as f64);
    response
        .headers_mut()
        .insert(POSITION_HEADER, HeaderValue::from(position));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn answer(app: Router, path: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        let request = Request::builder().uri(path).body(Body::empty());
        let Ok(request) = request else {
            panic!("request")
        };
        let Ok(response) = app.oneshot(request).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or_default();
        (status, content_type, body)
    }

    async fn bug() -> StatusCode {
        panic!("a bug")
    }

    #[tokio::test]
    async fn bodiless_errors_and_panics_become_problems() {
        let app = Router::new()
            .route("/slow", get(|| async { StatusCode::REQUEST_TIMEOUT }))
            .route("/bug", get(bug))
            .layer(CatchPanicLayer::new())
            .layer(middleware::map_response(problems_only));
        let (status, content_type, body) = answer(app.clone(), "/slow").await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
        assert_eq!(body["type"], "https://rollcall.dev/problems/timeout");
        let (status, content_type, body) = answer(app, "/bug").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
        assert_eq!(body["type"], "https://rollcall.dev/problems/internal");
    }
}
