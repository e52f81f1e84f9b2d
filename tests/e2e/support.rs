//! What every end-to-end test needs: a server, a client, and short JSON helpers.

#![allow(dead_code)] // shared by test modules; each uses a part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use rollcall_tests::{NatsServer, RollcallServer, ServerOptions, server::OPERATOR_TOKEN};
use serde_json::{Value, json};

/// The log under the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    JetStream,
}

/// A running server, the NATS server under it if any, and an HTTP client.
pub struct Harness {
    pub server: RollcallServer,
    pub nats: Option<NatsServer>,
    pub http: Client,
}

impl Harness {
    pub fn start(backend: Backend) -> Harness {
        Harness::start_with_env(backend, Vec::new())
    }

    /// [`Harness::start`] with extra environment variables for the server.
    pub fn start_with_env(backend: Backend, env: Vec<(String, String)>) -> Harness {
        let nats = match backend {
            Backend::Embedded => None,
            Backend::JetStream => Some(NatsServer::start()),
        };
        let options = ServerOptions {
            nats_url: nats.as_ref().map(|n| n.url()),
            env,
            ..ServerOptions::default()
        };
        let server = RollcallServer::start(env!("CARGO_BIN_EXE_rollcall"), options);
        Harness {
            server,
            nats,
            http: Client::new(),
        }
    }

    /// Sends `body` (if any) with `token` (none when empty) and returns status and
    /// JSON answer (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, json) = self.call_with(method, path, token, body, &[]).await;
        (status, json)
    }

    /// Like [`Harness::call`] with extra request headers; also returns the answer's headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        call_at(
            &self.http,
            &self.server.url(),
            method,
            path,
            token,
            body,
            headers,
        )
        .await
    }

    /// Invites `email` with `roles` and accepts through the `.eml` link (the
    /// `nth` message of the outbox, counting from 1); returns the member's id once
    /// the projections show the member.
    pub async fn add_member(
        &self,
        tenant: &str,
        admin: &str,
        email: &str,
        roles: &[&str],
        nth: usize,
    ) -> String {
        let (status, invited) = self
            .post(
                &format!("/v1/tenants/{tenant}/invitations"),
                admin,
                json!({"email": email, "display_name": email, "roles": roles}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "invite: {invited}");
        let user = invited["user_id"].as_str().expect("user_id").to_owned();
        let token = token_from_outbox(self.server.data_dir(), nth);
        let (status, accepted) = self
            .post("/v1/invitations/accept", "", json!({"token": token}))
            .await;
        assert_eq!(status, StatusCode::OK, "accept: {accepted}");
        // Read your writes: the projections have the member before this returns.
        let (status, _) = self
            .get(
                &format!(
                    "/v1/tenants/{tenant}/users/{user}?min_position={}",
                    accepted["position"]
                ),
                OPERATOR_TOKEN,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        user
    }

    /// Every audit entry of `tenant` (follows `next_cursor`).
    pub async fn audit(&self, tenant: &str, query: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/tenants/{tenant}/audit?limit=500{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, answer) = self.get(&path, OPERATOR_TOKEN).await;
            assert_eq!(status, StatusCode::OK, "audit: {answer}");
            entries.extend(
                answer["entries"]
                    .as_array()
                    .expect("entries")
                    .iter()
                    .cloned(),
            );
            match answer["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => return entries,
            }
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    /// Creates a tenant from a seed catalog; returns (tenant_id, owner_id).
    pub async fn create_tenant(&self, catalog: &str, plan: Option<&str>) -> (String, String) {
        let mut body = serde_json::json!({
            "name": format!("{catalog} test"),
            "catalog": catalog,
            "owner": {"email": "owner@example.com", "display_name": "Olive Owner"},
        });
        if let Some(plan) = plan {
            body["plan"] = Value::String(plan.to_owned());
        }
        let (status, answer) = self.post("/v1/tenants", OPERATOR_TOKEN, body).await;
        assert_eq!(status, StatusCode::CREATED, "create tenant: {answer}");
        let tenant = answer["tenant_id"].as_str().expect("tenant_id").to_owned();
        // Read your writes: the tests' first queries find the tenant.
        let position = position(&answer);
        let (status, catalog) = self
            .get(
                &format!("/v1/tenants/{tenant}/catalog?min_position={position}"),
                OPERATOR_TOKEN,
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "catalog of the new tenant: {catalog}"
        );
        (
            tenant,
            answer["owner_id"].as_str().expect("owner_id").to_owned(),
        )
    }

    /// A JWT for `user` in `tenant`.
    pub fn token(&self, tenant: &str, user: &str) -> String {
        self.server.token(tenant, user, None, false)
    }
}

/// Sends one request to the server at `base`; returns status, headers and JSON.
pub async fn call_at(
    http: &Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut request = http.request(method, format!("{base}{path}"));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("answer body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, headers, json)
}

/// The stable slug of a problem answer: the last path segment of its `type`.
pub fn slug(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("")
}

/// Waits for the outbox to hold `count` messages and returns the token of the newest.
pub fn token_from_outbox(data_dir: &Path, count: usize) -> String {
    outbox_token(data_dir, "", count)
}

/// Waits for the outbox to hold `count` messages for `invitation` and returns the
/// token of the newest.
pub fn invitation_token(data_dir: &Path, invitation: &str, count: usize) -> String {
    outbox_token(data_dir, invitation, count)
}

/// Waits for a message for `invitation` sent for an event at `position` or later
/// (a resend, say) and returns its token. A mailer that lags folds an invitation
/// and its resend into one message, so counting messages would not do here.
pub fn invitation_token_since(data_dir: &Path, invitation: &str, position: u64) -> String {
    wait_for_message(data_dir, |files| {
        files.iter().rev().find(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                n.contains(invitation)
                    && n.split('-')
                        .next()
                        .and_then(|at| at.parse::<u64>().ok())
                        .is_some_and(|at| at >= position)
            })
        })
    })
}

fn outbox_token(data_dir: &Path, invitation: &str, count: usize) -> String {
    wait_for_message(data_dir, |files| {
        let mine: Vec<&PathBuf> = files
            .iter()
            .filter(|p| p.to_string_lossy().contains(invitation))
            .collect();
        count.checked_sub(1).and_then(|i| mine.get(i)).copied()
    })
}

/// Polls the outbox (its `.eml` files sorted by name, that is by position) until
/// `pick` chooses one, and returns the accept token of that message.
fn wait_for_message(data_dir: &Path, pick: impl Fn(&[PathBuf]) -> Option<&PathBuf>) -> String {
    let outbox = data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if let Some(file) = pick(&files) {
            // Read raw, as `grep` would: the link is on one line, not encoded.
            let body = std::fs::read_to_string(file).expect("read .eml");
            let start = body.find("token=").expect("accept link in the message") + 6;
            return body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "no such invitation message in {outbox:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[allow(unused_imports)]
pub use rollcall_tests::server::OPERATOR_TOKEN as OPERATOR;

impl Harness {
    /// Invites `email` with `body`'s roles/permissions/kind (merged over defaults)
    /// using `admin`, and answers (user_id, invitation_id).
    pub async fn invite(
        &self,
        tenant: &str,
        admin: &str,
        email: &str,
        extra: Value,
    ) -> (String, String) {
        let mut body = serde_json::json!({"email": email, "display_name": email.split('@').next().unwrap_or(email)});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        let (status, answer) = self
            .post(&format!("/v1/tenants/{tenant}/invitations"), admin, body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "invite {email}: {answer}");
        (
            answer["user_id"].as_str().expect("user_id").to_owned(),
            answer["invitation_id"]
                .as_str()
                .expect("invitation_id")
                .to_owned(),
        )
    }

    /// Accepts the newest invitation mail for `invitation`; answers the position.
    pub async fn accept(&self, invitation: &str) -> u64 {
        let token = invitation_token(self.server.data_dir(), invitation, 1);
        let (status, answer) = self
            .post(
                "/v1/invitations/accept",
                "",
                serde_json::json!({"token": token}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "accept: {answer}");
        position(&answer)
    }

    /// Invites and accepts; answers the new member's user_id and the position.
    pub async fn join(
        &self,
        tenant: &str,
        admin: &str,
        email: &str,
        extra: Value,
    ) -> (String, u64) {
        let (user, invitation) = self.invite(tenant, admin, email, extra).await;
        let position = self.accept(&invitation).await;
        (user, position)
    }

    /// The member view (with effective permissions), read at or after `position`.
    pub async fn member(&self, tenant: &str, token: &str, user: &str, position: u64) -> Value {
        let (status, answer) = self
            .get(
                &format!("/v1/tenants/{tenant}/users/{user}?min_position={position}"),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "member {user}: {answer}");
        answer
    }

    /// The team list, read at or after `position`.
    pub async fn team(&self, tenant: &str, token: &str, position: u64) -> Vec<Value> {
        let (status, answer) = self
            .get(
                &format!("/v1/tenants/{tenant}/users?min_position={position}"),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "team: {answer}");
        answer["users"].as_array().expect("users").clone()
    }

    /// `POST /check`, read at or after `position`; answers the whole check answer.
    pub async fn check(&self, tenant: &str, token: &str, position: u64, body: Value) -> Value {
        let (status, answer) = self
            .post(
                &format!("/v1/tenants/{tenant}/check?min_position={position}"),
                token,
                body,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "check: {answer}");
        answer
    }

    /// Whether `user` may do `permission` (no resource, no source address).
    pub async fn may(
        &self,
        tenant: &str,
        token: &str,
        position: u64,
        user: &str,
        permission: &str,
    ) -> bool {
        let answer = self
            .check(
                tenant,
                token,
                position,
                serde_json::json!({"user_id": user, "permission": permission}),
            )
            .await;
        answer["allowed"].as_bool().expect("allowed")
    }
}

/// The permissions of a member view's `effective` list, sorted.
pub fn effective(member: &Value) -> Vec<String> {
    let mut out: Vec<String> = member["effective"]
        .as_array()
        .expect("effective")
        .iter()
        .map(|e| e["permission"].as_str().expect("permission").to_owned())
        .collect();
    out.sort();
    out
}

/// The position of a command answer.
pub fn position(answer: &Value) -> u64 {
    answer["position"].as_u64().expect("position")
}

/// Helpers of the product scenarios (Jtek, Jetbuilt).
impl Harness {
    /// Sets `permission` to `state` for `user`; returns status and answer.
    pub async fn toggle(
        &self,
        tenant: &str,
        token: &str,
        user: &str,
        permission: &str,
        state: &str,
    ) -> (StatusCode, Value) {
        self.put(
            &format!("/v1/tenants/{tenant}/users/{user}/permissions/{permission}"),
            token,
            json!({"state": state}),
        )
        .await
    }
}
