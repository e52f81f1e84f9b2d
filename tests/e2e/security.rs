//! The server's defences against the network, on the real binary: slow and
//! surplus connections, secrets too short to trust, files only the server's user
//! may read, and a login's address taken from the connection (or a trusted
//! proxy), never from the member.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, Harness, position, slug};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn connect(h: &Harness) -> TcpStream {
    let addr = h.server.url().trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
}

/// Reads until the server closes the connection; how long that took.
fn closed_after(mut stream: TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let h = Harness::start_with_env(
        Backend::Embedded,
        env(&[("ROLLCALL_HEADER_TIMEOUT_SECS", "1")]),
    );
    let mut slow = connect(&h);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: rollcall\r\n")
        .expect("partial request");
    let waited = closed_after(slow);
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    // An idle kept-alive connection is closed the same way.
    let idle = connect(&h);
    let waited = closed_after(idle);
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    // The server still answers.
    let (status, _) = h.get("/healthz", "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let h = Harness::start_with_env(
        Backend::Embedded,
        env(&[
            ("ROLLCALL_MAX_CONNECTIONS", "3"),
            ("ROLLCALL_HEADER_TIMEOUT_SECS", "30"),
        ]),
    );
    // Three connections the server has served (so each holds its place): the
    // harness's own client may have held a place for a while, so a connection
    // that was refused is replaced until three are held.
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..20 {
        if held.len() == 3 {
            break;
        }
        let mut c = connect(&h);
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: rollcall\r\n\r\n")
            .expect("request");
        let mut buf = [0u8; 512];
        if matches!(c.read(&mut buf), Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200")) {
            held.push(c);
        }
    }
    assert_eq!(held.len(), 3, "the server did not serve three connections");
    let surplus = connect(&h);
    let waited = closed_after(surplus);
    assert!(waited < Duration::from_secs(2), "closed after {waited:?}");
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let mut fresh = connect(&h);
    fresh
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: rollcall\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    fresh.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_short_secret_is_refused_at_start() {
    for (name, value) in [
        ("ROLLCALL_JWT_SECRET", "s"),
        ("ROLLCALL_OPERATOR_TOKEN", "short-token"),
        ("ROLLCALL_INVITE_KEY", "0123456789"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("ROLLCALL_JWT_SECRET", "j".repeat(40))
            .env("ROLLCALL_OPERATOR_TOKEN", "o".repeat(40))
            .env("ROLLCALL_INVITE_KEY", "i".repeat(40))
            .env(name, value)
            .env("RUST_LOG", "error")
            .output()
            .expect("run rollcall");
        assert!(!output.status.success(), "{name}: started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("at least 32 bytes"), "{name}: {stderr}");
        assert!(
            !stderr.contains(value) || value.len() < 3,
            "{name}: the secret was echoed"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_its_secrets_are_the_servers_alone() {
    use std::os::unix::fs::PermissionsExt;
    // No secrets in the environment: the server generates them.
    let h = Harness::start_with_env(
        Backend::Embedded,
        env(&[("ROLLCALL_OPERATOR_TOKEN", ""), ("ROLLCALL_JWT_SECRET", "")]),
    );
    let dir = h.server.data_dir();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    for file in ["operator-token", "jwt-secret", "invite-key"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    // The outbox holds live invitation links.
    let operator = std::fs::read_to_string(dir.join("operator-token")).unwrap();
    let (status, created) = h
        .post(
            "/v1/tenants",
            operator.trim(),
            json!({"name": "Acme", "catalog": "jtek", "owner": {"email": "o@acme.test", "display_name": "O"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let t = created["tenant_id"].as_str().unwrap();
    let (status, invited) = h
        .post(
            &format!("/v1/tenants/{t}/invitations"),
            operator.trim(),
            json!({"email": "v@acme.test", "display_name": "V", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let outbox = dir.join("outbox");
    let deadline = Instant::now() + Duration::from_secs(10);
    let message = loop {
        let found = std::fs::read_dir(&outbox).ok().and_then(|mut d| {
            d.find_map(|e| {
                e.ok()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            })
        });
        if let Some(path) = found {
            break path;
        }
        assert!(Instant::now() < deadline, "no message in the outbox");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(mode(&outbox), 0o700);
    assert_eq!(mode(&message), 0o600);
}

#[tokio::test]
async fn a_logins_address_comes_from_the_connection_or_a_trusted_proxy() {
    let h = Harness::start_with_env(
        Backend::Embedded,
        env(&[("ROLLCALL_TRUSTED_PROXIES", "127.0.0.1/32")]),
    );
    let (t, owner) = h.create_tenant("jobtracker", None).await;
    let admin = h.token(&t, &owner);
    let user = h
        .add_member(&t, &admin, "lee@example.com", &["administrator"], 1)
        .await;
    let (status, answer) = h
        .put(
            &format!("/v1/tenants/{t}/users/{user}/networks"),
            &admin,
            json!({"cidrs": ["198.51.100.0/24"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let _ = position(&answer);
    let logins = format!("/v1/tenants/{t}/users/{user}/logins");
    let own = h.token(&t, &user);
    let login = |forwarded: &'static str| {
        let (h, logins, own) = (&h, logins.clone(), own.clone());
        async move {
            let headers = if forwarded.is_empty() {
                vec![]
            } else {
                vec![("x-forwarded-for", forwarded)]
            };
            h.call_with(
                reqwest::Method::POST,
                &logins,
                &own,
                Some(json!({})),
                &headers,
            )
            .await
        }
    };
    // Through the trusted proxy, from the office: allowed.
    let (status, _, answer) = login("198.51.100.7").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // From elsewhere, or straight from the proxy's own address: refused.
    for forwarded in ["203.0.113.5", ""] {
        let (status, _, answer) = login(forwarded).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{forwarded}: {answer}");
        assert_eq!(slug(&answer), "network-not-allowed", "{answer}");
    }
    // A client that is not a trusted proxy cannot name another address.
    let plain = Harness::start(Backend::Embedded);
    let (t, owner) = plain.create_tenant("jobtracker", None).await;
    let admin = plain.token(&t, &owner);
    let user = plain
        .add_member(&t, &admin, "lee@example.com", &["administrator"], 1)
        .await;
    plain
        .put(
            &format!("/v1/tenants/{t}/users/{user}/networks"),
            &admin,
            json!({"cidrs": ["198.51.100.0/24"]}),
        )
        .await;
    let (status, _, answer) = plain
        .call_with(
            reqwest::Method::POST,
            &format!("/v1/tenants/{t}/users/{user}/logins"),
            &plain.token(&t, &user),
            Some(json!({})),
            &[("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(slug(&answer), "network-not-allowed", "{answer}");
}
