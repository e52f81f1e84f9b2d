//! Test harness: the router over an embedded log in a temp dir, driven with
//! tower's `oneshot`; a log wrapper that fails on demand; helpers for the usual
//! setup (a tenant, a member who accepted an invitation, tokens).
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use futures::TryStreamExt;
use http_body_util::BodyExt;
use rollcall_events::{Event, InvitationId, RawEnvelope, TenantId, UserId};
use rollcall_gateway::auth::{MintOptions, Secrets, mint_jwt};
use rollcall_gateway::http::{App, AppState, HttpConfig, router};
use rollcall_gateway::invite_token;
use rollcall_gateway::service::CommandService;
use rollcall_log::{Appended, EventLog, EventStream, LogError, embedded::EmbeddedLog};
use rollcall_projections::{Projections, ProjectorHandle};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

pub const OPERATOR: &str = "test-operator-token-0123456789abcdef";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789";
pub const INVITE_KEY: &str = "test-invite-key-0123456789abcdef0123456789";

/// A log that answers `Unavailable` while switched off, or stores appends and
/// loses their acknowledgement; it counts the appends that reach it.
pub struct FlakyLog {
    inner: Arc<dyn EventLog>,
    appends_down: AtomicBool,
    all_down: AtomicBool,
    acks_lost: AtomicBool,
    appends: AtomicUsize,
}

impl FlakyLog {
    pub fn new(inner: Arc<dyn EventLog>) -> FlakyLog {
        FlakyLog {
            inner,
            appends_down: AtomicBool::new(false),
            all_down: AtomicBool::new(false),
            acks_lost: AtomicBool::new(false),
            appends: AtomicUsize::new(0),
        }
    }

    /// Appends are stored but answered `OutcomeUnknown`, as when the log's
    /// acknowledgement times out.
    pub fn lose_acks(&self, lost: bool) {
        self.acks_lost.store(lost, Ordering::SeqCst);
    }

    /// Appends that reached this log (refused ones included).
    pub fn appends(&self) -> usize {
        self.appends.load(Ordering::SeqCst)
    }

    pub fn fail_appends(&self, down: bool) {
        self.appends_down.store(down, Ordering::SeqCst);
    }

    pub fn fail_everything(&self, down: bool) {
        self.all_down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), LogError> {
        if self.all_down.load(Ordering::SeqCst) {
            Err(LogError::Unavailable("switched off by the test".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl EventLog for FlakyLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        if self.appends_down.load(Ordering::SeqCst) {
            return Err(LogError::Unavailable(
                "appends switched off by the test".into(),
            ));
        }
        let appended = self.inner.append(tenant, expected, event).await?;
        if self.acks_lost.load(Ordering::SeqCst) {
            return Err(LogError::OutcomeUnknown(
                "publish: timed out (acknowledgement lost by the test)".into(),
            ));
        }
        Ok(appended)
    }
    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        self.check()?;
        self.inner.read(from).await
    }
    async fn read_tenant(&self, tenant: TenantId, from: u64) -> Result<EventStream, LogError> {
        self.check()?;
        self.inner.read_tenant(tenant, from).await
    }
    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        self.inner.subscribe(from).await
    }
    async fn head(&self) -> Result<u64, LogError> {
        self.check()?;
        self.inner.head().await
    }
    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        self.check()?;
        self.inner.tenant_head(tenant).await
    }
}

/// An answer, body parsed as JSON when it is JSON (text otherwise, as a string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn slug(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("")
    }

    pub fn position(&self) -> u64 {
        self.body["position"].as_u64().unwrap_or(0)
    }

    pub fn id(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_owned()
    }

    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Answer {
        assert_eq!(self.status, status, "unexpected answer: {:#?}", self.body);
        self
    }

    /// Asserts a problem+json answer with this status and slug.
    #[track_caller]
    pub fn problem(self, status: StatusCode, slug: &str) -> Answer {
        assert_eq!(self.status, status, "unexpected answer: {:#?}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem: {:#?}",
            self.body
        );
        assert_eq!(self.slug(), slug, "unexpected problem: {:#?}", self.body);
        assert_eq!(self.body["status"], json!(status.as_u16()));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        self
    }
}

pub struct Tenant {
    pub id: TenantId,
    pub owner: UserId,
    pub position: u64,
}

pub struct Harness {
    pub app: App,
    pub state: AppState,
    pub log: Arc<FlakyLog>,
    pub read: Projections,
    pub secrets: Secrets,
    _projector: ProjectorHandle,
    _dir: TempDir,
}

pub fn secrets() -> Secrets {
    Secrets {
        operator_token: OPERATOR.to_owned(),
        jwt_secret: JWT_SECRET.to_owned(),
        invite_key: INVITE_KEY.as_bytes().to_vec(),
    }
}

impl Harness {
    /// The router over an embedded log in a fresh temp dir.
    pub fn embedded() -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = EmbeddedLog::open(&dir.path().join("log")).expect("embedded log");
        Harness::over(Arc::new(log), dir)
    }

    /// The router over `log`, with projections in `dir`.
    pub fn over(log: Arc<dyn EventLog>, dir: TempDir) -> Harness {
        Harness::with_config(
            log,
            dir,
            HttpConfig {
                query_wait: Duration::from_millis(1500),
                ..HttpConfig::default()
            },
        )
    }

    /// The router over `log` with these HTTP settings.
    pub fn with_config(log: Arc<dyn EventLog>, dir: TempDir, config: HttpConfig) -> Harness {
        let log = Arc::new(FlakyLog::new(log));
        let db = sled::open(dir.path().join("projections")).expect("projections db");
        let projections = Projections::open(db).expect("projections");
        let projector = projections.spawn(log.clone());
        let read = projections;
        let service = Arc::new(CommandService::new(log.clone()));
        let state = AppState::new(service, read.clone(), secrets(), config);
        Harness {
            app: router(state.clone()),
            state,
            log,
            read,
            secrets: secrets(),
            _projector: projector,
            _dir: dir,
        }
    }

    /// Opens a streaming answer (SSE) and reads only its head and first frame,
    /// bounded in time: (status, content type, first frame's text).
    pub async fn open_stream(&self, path: &str, token: &str) -> (StatusCode, String, String) {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request");
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut body = response.into_body();
        let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("the stream sends a first frame in time");
        let text = first
            .and_then(|f| f.ok())
            .and_then(|f| f.into_data().ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        (status, content_type, text)
    }

    pub async fn raw(&self, request: Request<Body>) -> Answer {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            builder = builder.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                builder = builder.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&b).expect("json"))
            }
            None => Body::empty(),
        };
        self.raw(builder.body(body).expect("request")).await
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.send_with(method, path, token, body, &[]).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, path, Some(token), None).await
    }

    /// A JWT living `ttl`.
    pub fn jwt_for(
        &self,
        tenant: TenantId,
        user: UserId,
        scope: Option<&str>,
        ttl: Duration,
    ) -> String {
        mint_jwt(
            JWT_SECRET,
            tenant,
            user,
            &MintOptions {
                scope: scope.map(str::to_owned),
                ..MintOptions::default()
            },
            ttl,
        )
        .expect("jwt")
    }

    pub fn jwt(&self, tenant: TenantId, user: UserId, scope: Option<&str>, mfa: bool) -> String {
        mint_jwt(
            JWT_SECRET,
            tenant,
            user,
            &MintOptions {
                scope: scope.map(str::to_owned),
                mfa,
                ..MintOptions::default()
            },
            Duration::from_secs(3600),
        )
        .expect("jwt")
    }

    /// A tenant on a seed catalog (or a catalog document), created by the operator.
    pub async fn tenant(&self, catalog: Value) -> Tenant {
        let a = self
            .send(
                Method::POST,
                "/v1/tenants",
                Some(OPERATOR),
                Some(json!({
                    "name": "Acme",
                    "catalog": catalog,
                    "owner": {"email": "owner@acme.test", "display_name": "Olive Owner"},
                })),
            )
            .await
            .expect(StatusCode::CREATED);
        Tenant {
            id: a.id("tenant_id").parse().expect("tenant id"),
            owner: a.id("owner_id").parse().expect("owner id"),
            position: a.position(),
        }
    }

    /// The invitee and latest nonce of an invitation, read from the log as the
    /// mailer would.
    pub async fn nonce(&self, tenant: TenantId, invitation: InvitationId) -> (UserId, String) {
        let stream = self.log.read_tenant(tenant, 1).await.expect("read");
        let events: Vec<RawEnvelope> = stream.try_collect().await.expect("events");
        let mut found = None;
        for raw in events {
            match raw.decode().expect("decode").event {
                Event::UserInvited(e) if e.invitation_id == invitation => {
                    found = Some((e.user_id, e.nonce))
                }
                Event::InvitationResent(e) if e.invitation_id == invitation => {
                    found = Some((e.user_id, e.nonce))
                }
                _ => {}
            }
        }
        found.expect("the invitation is in the log")
    }

    pub async fn accept_token(&self, tenant: TenantId, invitation: InvitationId) -> String {
        let (invitee, nonce) = self.nonce(tenant, invitation).await;
        invite_token::mint(
            &self.secrets.invite_key(),
            &invite_token::InviteToken {
                tenant,
                invitation,
                invitee,
                nonce,
            },
        )
        .expect("mint")
    }

    /// Invites (as the operator) and accepts; returns the new active member.
    pub async fn member(&self, tenant: TenantId, email: &str, roles: &[&str]) -> UserId {
        let invited = self
            .send(
                Method::POST,
                &format!("/v1/tenants/{tenant}/invitations"),
                Some(OPERATOR),
                Some(json!({"email": email, "display_name": email, "roles": roles})),
            )
            .await
            .expect(StatusCode::CREATED);
        let invitation: InvitationId = invited.id("invitation_id").parse().expect("id");
        let token = self.accept_token(tenant, invitation).await;
        let accepted = self
            .send(
                Method::POST,
                "/v1/invitations/accept",
                None,
                Some(json!({"token": token})),
            )
            .await
            .expect(StatusCode::OK);
        accepted.id("user_id").parse().expect("user id")
    }

    pub async fn head(&self) -> u64 {
        self.log.head().await.expect("head")
    }

    /// Sends a command the way the retry rule says: a 503 is retried after its
    /// `Retry-After` (here a tenth of it), up to 50 times.
    pub async fn send_retrying(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        for _ in 0..50 {
            let answer = self
                .send_with(method.clone(), path, token, body.clone(), headers)
                .await;
            if answer.status != StatusCode::SERVICE_UNAVAILABLE {
                return answer;
            }
            assert!(answer.header("retry-after").is_some(), "{:#?}", answer.body);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{method} {path} still answers 503 after 50 retries");
    }
}

impl Harness {
    /// Waits for the in-memory read model to reach `position`.
    pub async fn read_wait(&self, position: u64) -> bool {
        self.read
            .wait_for(position, Duration::from_secs(5))
            .await
            .is_ok()
    }
}

/// Two gateways over one log, each with its own read side.
pub async fn two_gateways(log: impl Fn() -> Arc<dyn EventLog>) -> (Harness, Harness) {
    let dir = || tempfile::tempdir().expect("temp dir");
    (Harness::over(log(), dir()), Harness::over(log(), dir()))
}

/// Two gateways over one embedded log in `dir`.
pub async fn two_gateways_embedded(dir: &std::path::Path) -> (Harness, Harness) {
    let log = EmbeddedLog::open(dir).expect("embedded log");
    two_gateways(|| Arc::new(log.clone())).await
}

/// Two gateways on one JetStream stream of `nats`, each with a connection of its
/// own, as two processes would have.
pub async fn two_gateways_on_jetstream(nats: &rollcall_tests::NatsServer) -> (Harness, Harness) {
    let (first, second) = (jetstream(nats).await, jetstream(nats).await);
    let logs = std::sync::Mutex::new(vec![second, first]);
    two_gateways(|| logs.lock().expect("logs").pop().expect("a log")).await
}

/// A JetStream log on `nats`.
pub async fn jetstream(nats: &rollcall_tests::NatsServer) -> Arc<dyn EventLog> {
    let log =
        rollcall_log::jetstream::JetStreamLog::connect(rollcall_log::jetstream::JetStreamConfig {
            url: nats.url(),
            ..Default::default()
        })
        .await
        .expect("JetStream log");
    Arc::new(log)
}

/// A read with `min_position` past the log's head is refused with 409
/// `position-ahead` (it names no event yet), and one at the head is served.
pub async fn min_position_past_the_head_is_refused(h: &Harness) {
    let t = h.tenant(json!("jtek")).await;
    let head = h.head().await;
    let users = format!("/v1/tenants/{}/users", t.id);
    for position in [head + 1, u64::MAX] {
        let refused = h
            .get(&format!("{users}?min_position={position}"), OPERATOR)
            .await
            .expect(StatusCode::CONFLICT);
        assert_eq!(
            refused.body["type"],
            json!("https://rollcall.dev/problems/position-ahead")
        );
        let detail = refused.body["detail"].as_str().expect("a detail");
        assert!(
            detail.contains(&format!("past the log's head ({head})")),
            "{detail}"
        );
    }
    h.get(&format!("{users}?min_position={head}"), OPERATOR)
        .await
        .expect(StatusCode::OK);
}
