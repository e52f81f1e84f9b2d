//! What every answer passes through, in one service around the whole router: the
//! body limit, the request's span and its log line, the request timeout, a
//! handler's panic turned into a 500, every error answered as a problem, and
//! `X-Rollcall-Position`.
//!
//! One hand-written service rather than a stack of layers on the router: a
//! router's layers wrap every route, and each request then clones the boxed stack
//! of its route and boxes each middleware's future. Here a request costs one
//! boxed future.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tower::Service;
use tracing::Instrument;

use super::{AppState, POSITION_HEADER};
use crate::problem::{ApiError, PROBLEM_JSON};

/// The edge around `inner` (the routes), answering for `state`'s gateway.
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    state: AppState,
    timeout: Duration,
    body_limit: DefaultBodyLimit,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Edge<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("routes", &self.inner)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<S> Edge<S> {
    pub fn new(inner: S, state: AppState) -> Edge<S> {
        let timeout = state.config().request_timeout;
        let body_limit = DefaultBodyLimit::max(state.config().body_limit);
        Edge {
            inner,
            state,
            timeout,
            body_limit,
        }
    }
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // What a body extractor reads at most.
        self.body_limit.apply(&mut request);
        // The ready service takes the request; its clone waits for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        let timeout = self.timeout;
        // Method and path only: neither headers nor the query (the accept link
        // carries its token in `?token=`) are ever logged.
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
        );
        let answer = async move {
            let started = Instant::now();
            let handled = AssertUnwindSafe(tokio::time::timeout(timeout, inner.call(request)))
                .catch_unwind()
                .await;
            let response = match handled {
                Ok(Ok(Ok(response))) => problems_only(response),
                Ok(Ok(Err(never))) => match never {},
                Ok(Err(_elapsed)) => {
                    ApiError::from_status(StatusCode::REQUEST_TIMEOUT).into_response()
                }
                // A bug that panics in a handler answers a 500 problem instead of
                // dropping the connection.
                Err(_panic) => {
                    tracing::error!("a handler panicked");
                    ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR).into_response()
                }
            };
            let response = with_position(&state, response);
            tracing::info!(
                status = response.status().as_u16(),
                latency_us = started.elapsed().as_micros() as u64,
                "finished processing request"
            );
            Ok(response)
        };
        Box::pin(answer.instrument(span))
    }
}

/// Any error answer that is not already a problem (a framework's bodiless 405,
/// say) is turned into one, so clients only ever parse one error format.
pub(super) fn problems_only(response: Response) -> Response {
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

/// The read side's position on the answer; an unauthenticated caller learns
/// nothing, not even how far the log is.
fn with_position(state: &AppState, mut response: Response) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        return response;
    }
    let position = state.read().position();
    state.metrics_handles().position.set(position as f64);
    response
        .headers_mut()
        .insert(POSITION_HEADER, HeaderValue::from(position));
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use rollcall_log::EmbeddedLog;
    use rollcall_projections::Projections;
    use tower::ServiceExt;

    use super::*;
    use crate::auth::Secrets;
    use crate::http::HttpConfig;
    use crate::service::CommandService;

    /// A gateway's state over an empty embedded log, with `timeout` per request.
    fn state(dir: &std::path::Path, timeout: Duration) -> AppState {
        let log = EmbeddedLog::open(&dir.join("log")).expect("embedded log");
        let db = sled::open(dir.join("projections")).expect("projections db");
        let read = Projections::open(db).expect("projections");
        let secrets = Secrets {
            operator_token: "operator".to_owned(),
            jwt_secret: "a secret of at least thirty-two bytes".to_owned(),
            invite_key: b"an invitation key of thirty-two bytes".to_vec(),
        };
        let config = HttpConfig {
            request_timeout: timeout,
            ..HttpConfig::default()
        };
        AppState::new(
            Arc::new(CommandService::new(Arc::new(log))),
            read,
            secrets,
            config,
        )
    }

    async fn answer(app: &Edge<Router>, path: &str) -> (StatusCode, Response) {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let Ok(response) = app.clone().oneshot(request).await;
        (response.status(), response)
    }

    async fn problem(response: Response) -> (Option<String>, serde_json::Value) {
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes).expect("a JSON body");
        (content_type, body)
    }

    async fn bug() -> StatusCode {
        panic!("a bug")
    }

    #[tokio::test]
    async fn bodiless_errors_panics_and_timeouts_become_problems_with_the_position() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = state(dir.path(), Duration::from_millis(50));
        let routes = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
            .route("/unauthorized", get(|| async { StatusCode::UNAUTHORIZED }))
            .route("/bug", get(bug))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "too late"
                }),
            );
        let app = Edge::new(routes, state);

        let (status, response) = answer(&app, "/ok").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get(POSITION_HEADER)
                .map(|v| v.as_bytes()),
            Some(&b"0"[..])
        );

        for (path, status, kind) in [
            ("/teapot", StatusCode::IM_A_TEAPOT, "bad-request"),
            ("/bug", StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ("/slow", StatusCode::REQUEST_TIMEOUT, "timeout"),
        ] {
            let (answered, response) = answer(&app, path).await;
            assert_eq!(answered, status, "{path}");
            assert!(response.headers().contains_key(POSITION_HEADER), "{path}");
            let (content_type, body) = problem(response).await;
            assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON), "{path}");
            assert_eq!(
                body["type"],
                format!("https://rollcall.dev/problems/{kind}"),
                "{path}"
            );
        }

        // An unauthenticated caller learns nothing, not even the position.
        let (status, response) = answer(&app, "/unauthorized").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!response.headers().contains_key(POSITION_HEADER));
        let (content_type, _) = problem(response).await;
        assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
    }
}
