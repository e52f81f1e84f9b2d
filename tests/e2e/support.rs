//! What every end-to-end test needs: a server, a client, and short JSON helpers.

#![allow(dead_code)] // shared by test modules; each uses a part

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use rollcall_tests::{NatsServer, RollcallServer, ServerOptions, server::OPERATOR_TOKEN};
use serde_json::Value;

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
        };
        let server = RollcallServer::start(env!("CARGO_BIN_EXE_rollcall"), options);
        Harness {
            server,
            nats,
            http: Client::new(),
        }
    }

    /// Sends `body` (if any) with `token` and returns status and JSON answer
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.server.url(), path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let bytes = response.bytes().await.expect("answer body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, json)
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
        (
            answer["tenant_id"].as_str().expect("tenant_id").to_owned(),
            answer["owner_id"].as_str().expect("owner_id").to_owned(),
        )
    }

    /// A JWT for `user` in `tenant`.
    pub fn token(&self, tenant: &str, user: &str) -> String {
        self.server.token(tenant, user, None, false)
    }
}

#[allow(unused_imports)]
pub use rollcall_tests::server::OPERATOR_TOKEN as OPERATOR;

/// Waits for the outbox to hold `count` messages and returns the token of the newest.
pub fn token_from_outbox(data_dir: &Path, count: usize) -> String {
    let outbox = data_dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut files: Vec<_> = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        if files.len() >= count {
            let text = std::fs::read_to_string(&files[count - 1]).expect("read .eml");
            let body = quoted_printable_decode(&text);
            let start = body.find("token=").expect("accept link in the message") + 6;
            return body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
        }
        assert!(Instant::now() < deadline, "no invitation in {outbox:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The message body is quoted-printable: soft line breaks end in `=`, and `=XX`
/// stands for a byte.
fn quoted_printable_decode(text: &str) -> String {
    let unfolded = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = unfolded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&unfolded[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
