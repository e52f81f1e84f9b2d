//! What a newcomer meets in the first hour, run against the real binary: a data
//! dir refuses a log it was not built from, a start that fails leaves nothing
//! behind, checkpoints of several gateways verify against the installation's
//! keys, read-only commands never invent keys or tenants, instants read as
//! written, and an invitation link can be had without a mailbox.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rollcall_tests::NatsServer;
use rollcall_tests::server::{JWT_SECRET, OPERATOR_TOKEN, free_port};
use serde_json::json;

use crate::support::{Backend, Harness, OPERATOR, call_at, invitation_token, position};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rollcall")
}

/// `rollcall <args>` with the test secrets, to completion.
fn rollcall(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("ROLLCALL_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("ROLLCALL_JWT_SECRET", JWT_SECRET)
        .env_remove("ROLLCALL_DATA_DIR")
        .env_remove("ROLLCALL_NATS_URL")
        .output()
        .expect("the rollcall binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn refused(o: &Output, says: &[&str]) -> String {
    let err = text(&o.stderr);
    assert!(
        !o.status.success(),
        "should have been refused\nstdout: {}\nstderr: {err}",
        text(&o.stdout)
    );
    for s in says {
        assert!(err.contains(s), "stderr lacks {s:?}: {err}");
    }
    err
}

#[track_caller]
fn succeeded(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// A `rollcall serve` on `data_dir` with extra arguments, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        let port = free_port();
        let mut command = Command::new(bin());
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .args(args)
            .env("ROLLCALL_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("ROLLCALL_JWT_SECRET", JWT_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start rollcall serve");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("rollcall serve exited before it was ready: {status}");
            }
            if ready(&url) {
                return Serve { child, url };
            }
            assert!(Instant::now() < deadline, "rollcall serve never got ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and wait: the clean stop signs a last checkpoint.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Readiness without an async runtime: one HTTP/1.0 GET of `/readyz`.
fn ready(url: &str) -> bool {
    use std::io::Write;
    let Some(addr) = url.strip_prefix("http://") else {
        return false;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// Runs `serve` on `data_dir` expecting it to refuse; answers its stderr.
fn serve_refused(data_dir: &Path, args: &[&str]) -> String {
    let port = free_port().to_string();
    let dir = data_dir.to_str().expect("utf-8 path");
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec!["serve", "--listen", &listen, "--data-dir", dir];
    all.extend(args);
    let o = rollcall(&all);
    assert!(!o.status.success(), "serve should have refused");
    text(&o.stderr)
}

async fn create_tenant(url: &str) -> (String, String, u64) {
    let http = reqwest::Client::new();
    let (status, _, answer) = call_at(
        &http,
        url,
        Method::POST,
        "/v1/tenants",
        OPERATOR,
        Some(json!({"name": "Acme", "catalog": "jtek",
            "owner": {"email": "olive@acme.test", "display_name": "Olive Owner"}})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    (
        answer["tenant_id"].as_str().expect("tenant_id").to_owned(),
        answer["owner_id"].as_str().expect("owner_id").to_owned(),
        position(&answer),
    )
}

#[tokio::test]
async fn an_embedded_data_dir_refuses_a_jetstream_log_until_rebuilt_from_it() {
    let mut h = Harness::start(Backend::Embedded);
    h.create_tenant("jtek", None).await;
    h.server.kill();
    let dir = h.server.data_dir().to_owned();
    let nats = NatsServer::start();
    let err = serve_refused(&dir, &["--nats-url", &nats.url()]);
    assert!(err.contains("was built from the embedded log"), "{err}");
    assert!(err.contains("the JetStream log at --nats-url"), "{err}");
    assert!(err.contains("rollcall replay rebuild"), "{err}");
    assert!(err.contains("another --data-dir"), "{err}");

    // Rebuilt from the stream, the data dir follows it, and its old tenants are gone.
    let d = dir.to_str().expect("utf-8 path");
    let out = succeeded(&rollcall(&[
        "replay",
        "rebuild",
        "--data-dir",
        d,
        "--nats-url",
        &nats.url(),
    ]));
    assert!(
        out.contains("the data dir now follows the JetStream stream ROLLCALL created"),
        "{out}"
    );
    assert!(out.contains("it followed the embedded log"), "{out}");
    let server = Serve::start(&dir, &["--nats-url", &nats.url()], &[]);
    let (tenant, _, at) = create_tenant(&server.url).await;
    let http = reqwest::Client::new();
    let (status, _, users) = call_at(
        &http,
        &server.url,
        Method::GET,
        &format!("/v1/tenants/{tenant}/users?min_position={at}"),
        OPERATOR,
        None,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    drop(server);
    // …and now refuses the embedded log it came from.
    let err = serve_refused(&dir, &[]);
    assert!(
        err.contains("was built from the JetStream stream ROLLCALL created"),
        "{err}"
    );
    assert!(
        err.contains("but this start uses the embedded log"),
        "{err}"
    );
}

#[tokio::test]
async fn a_jetstream_data_dir_refuses_the_embedded_log_and_another_stream() {
    let mut h = Harness::start(Backend::JetStream);
    h.create_tenant("jtek", None).await;
    h.server.kill();
    let dir = h.server.data_dir().to_owned();
    let err = serve_refused(&dir, &[]);
    assert!(
        err.contains("was built from the JetStream stream ROLLCALL created 20"),
        "{err}"
    );
    assert!(
        err.contains("but this start uses the embedded log"),
        "{err}"
    );
    assert!(
        !dir.join("log").exists(),
        "the refused start made no embedded log"
    );

    // Another server holds another stream of the same name: refused, both named.
    let other = NatsServer::start();
    let err = serve_refused(&dir, &["--nats-url", &other.url()]);
    let created: Vec<&str> = err
        .match_indices("created ")
        .map(|(i, _)| &err[i..])
        .collect();
    assert_eq!(created.len(), 2, "{err}");
    assert!(err.contains("rollcall replay rebuild"), "{err}");

    // The stream it was built from is still fine.
    let nats = h.nats.as_ref().expect("nats").url();
    drop(Serve::start(&dir, &["--nats-url", &nats], &[]));
}

#[test]
fn a_replica_count_other_than_the_streams_is_refused() {
    let nats = NatsServer::start();
    let first = tempfile::tempdir().expect("temp dir");
    drop(Serve::start(
        first.path(),
        &["--nats-url", &nats.url(), "--nats-replicas", "1"],
        &[],
    ));
    let second = tempfile::tempdir().expect("temp dir");
    let err = serve_refused(
        second.path(),
        &["--nats-url", &nats.url(), "--nats-replicas", "3"],
    );
    assert!(
        err.contains("stream ROLLCALL exists with 1 replica(s), not the 3 asked for"),
        "{err}"
    );
    // Without the flag the stream is taken as it is.
    drop(Serve::start(
        second.path(),
        &["--nats-url", &nats.url()],
        &[],
    ));
}

#[test]
fn a_start_that_fails_prints_no_token_and_writes_nothing() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = taken.local_addr().expect("addr").to_string();
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = parent.path().join("data");
    let o = Command::new(bin())
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(&dir)
        .env_remove("ROLLCALL_OPERATOR_TOKEN")
        .env_remove("ROLLCALL_JWT_SECRET")
        .output()
        .expect("run serve");
    refused(&o, &["cannot listen on"]);
    assert_eq!(text(&o.stdout), "", "no token printed");
    assert!(!dir.exists(), "no data dir created");
    drop(taken);

    // A start that works prints the token once, and logs without colours to a pipe.
    let port = free_port();
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&dir)
        .env_remove("ROLLCALL_OPERATOR_TOKEN")
        .env_remove("ROLLCALL_JWT_SECRET")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(&format!("http://127.0.0.1:{port}")) {
        assert!(Instant::now() < deadline, "serve never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    let token = std::fs::read_to_string(dir.join("operator-token")).expect("token file");
    assert_eq!(
        out,
        format!(
            "operator token (shown once, also in {}): {}\n",
            dir.join("operator-token").display(),
            token.trim()
        )
    );
    assert!(err.contains("rollcall listening"), "{err}");
    assert!(!err.contains('\u{1b}'), "colours in a piped log: {err}");
}

#[test]
fn gateways_sign_checkpoints_with_the_installations_key_and_verify_trusts_a_set() {
    let nats = NatsServer::start();
    let url = nats.url();
    let fast = [("ROLLCALL_CHECKPOINT_INTERVAL_MS", "100")];
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let a_dir = tempfile::tempdir().expect("temp dir");
    let b_dir = tempfile::tempdir().expect("temp dir");
    let key_file = a_dir.path().join("checkpoint.key");
    let a = |dir: &Path| dir.to_str().expect("utf-8 path").to_owned();

    // Gateway A creates the installation's key; B is given the same key file.
    let gateway_a = Serve::start(a_dir.path(), &["--nats-url", &url], &fast);
    let key_path = a(&key_file);
    let gateway_b = Serve::start(
        b_dir.path(),
        &["--nats-url", &url, "--checkpoint-key-file", &key_path],
        &fast,
    );
    assert!(
        !b_dir.path().join("checkpoint.key").exists(),
        "B made no key of its own"
    );
    runtime.block_on(create_tenant(&gateway_a.url));
    runtime.block_on(create_tenant(&gateway_b.url));
    gateway_a.stop();
    gateway_b.stop();
    let key = succeeded(&rollcall(&[
        "replay",
        "pubkey",
        "--data-dir",
        &a(a_dir.path()),
    ]));
    let key = key.trim();
    let same = succeeded(&rollcall(&[
        "replay",
        "pubkey",
        "--checkpoint-key-file",
        &key_path,
    ]));
    assert_eq!(same.trim(), key);
    let verify = |keys: &[&str]| {
        let mut args = vec![
            "replay",
            "verify",
            "--nats-url",
            url.as_str(),
            "--stored-checkpoints",
        ];
        for k in keys {
            args.extend(["--public-key", k]);
        }
        rollcall(&args)
    };
    let out = succeeded(&verify(&[key]));
    assert_eq!(out.matches(": confirmed").count(), 2, "{out}");

    // A gateway with a key of its own signs what the installation's key does not
    // cover: refused against that key alone, accepted when both are trusted.
    let c_dir = tempfile::tempdir().expect("temp dir");
    let gateway_c = Serve::start(c_dir.path(), &["--nats-url", &url], &fast);
    runtime.block_on(create_tenant(&gateway_c.url));
    gateway_c.stop();
    let other = succeeded(&rollcall(&[
        "replay",
        "pubkey",
        "--data-dir",
        &a(c_dir.path()),
    ]));
    let other = other.trim();
    assert_ne!(other, key);
    refused(&verify(&[key]), &["refused", "not by a trusted key"]);
    let out = succeeded(&verify(&[key, other]));
    assert_eq!(out.matches(": confirmed").count(), 3, "{out}");

    // A configured key file must exist: a gateway never makes up a key.
    let missing = b_dir.path().join("no-such.key");
    let err = serve_refused(
        b_dir.path(),
        &["--nats-url", &url, "--checkpoint-key-file", &a(&missing)],
    );
    assert!(err.contains("no checkpoint key at"), "{err}");
    assert!(!missing.exists());
    // …and so does a signer-less gateway need none.
    drop(Serve::start(
        b_dir.path(),
        &[
            "--nats-url",
            &url,
            "--no-checkpoint-signer",
            "--checkpoint-key-file",
            &a(&missing),
        ],
        &[],
    ));
}

#[test]
fn pubkey_refuses_a_directory_with_no_installation_and_writes_nothing() {
    let parent = tempfile::tempdir().expect("temp dir");
    for dir in [parent.path().to_owned(), parent.path().join("typo")] {
        let d = dir.to_str().expect("utf-8 path");
        let err = refused(
            &rollcall(&["replay", "pubkey", "--data-dir", d]),
            &[
                "no checkpoint key at",
                "is not the data dir of a Rollcall installation",
            ],
        );
        assert!(err.contains(d), "{err}");
    }
    let left: Vec<PathBuf> = std::fs::read_dir(parent.path())
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "pubkey wrote {left:?}");
}

#[tokio::test]
async fn unknown_tenants_and_unreadable_instants_are_refused() {
    let mut h = Harness::start(Backend::Embedded);
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    h.server.kill();
    let d = h.server.data_dir().to_str().expect("utf-8 path").to_owned();
    let unknown = "0193a4c2-1111-7000-8000-000000000001";
    let replay = |rest: &[&str]| {
        let mut args = vec!["replay"];
        args.extend(rest);
        args.extend(["--data-dir", d.as_str()]);
        rollcall(&args)
    };
    let no_such = format!("no such tenant {unknown}");
    for sub in [
        vec!["verify", "--tenant", unknown],
        vec!["export", "--tenant", unknown],
        vec!["access-review", "--tenant", unknown],
        vec!["as-of", "--tenant", unknown, "--user", &owner],
        vec![
            "as-of",
            "--tenant",
            unknown,
            "--permission",
            "contacts.view",
        ],
        vec!["diff", "--tenant", unknown, "--from", "2026-01-01"],
    ] {
        let o = replay(&sub);
        refused(&o, &[&no_such]);
        assert_eq!(o.status.code(), Some(2), "{sub:?}");
        assert_eq!(text(&o.stdout), "", "{sub:?}");
    }
    let out = succeeded(&replay(&["verify", "--tenant", &tenant]));
    assert!(out.contains("ok: 1 tenants intact"), "{out}");

    // A plain date is that day's 00:00 UTC; anything else is named as unreadable.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let review = succeeded(&replay(&[
        "access-review",
        "--tenant",
        &tenant,
        "--at",
        &tomorrow,
    ]));
    assert!(
        review.contains(&format!("{tomorrow}T00:00:00Z")),
        "{review}"
    );
    refused(
        &replay(&["access-review", "--tenant", &tenant, "--at", "2020-01-01"]),
        &[&format!(
            "tenant {tenant} did not exist yet at 2020-01-01T00:00:00+00:00"
        )],
    );
    refused(
        &replay(&[
            "as-of",
            "--tenant",
            &tenant,
            "--user",
            &owner,
            "--at",
            "yesterday",
        ]),
        &["`yesterday` is not an instant", "or a date (2026-12-02"],
    );
    succeeded(&replay(&[
        "export",
        "--tenant",
        &tenant,
        "--from",
        "2026-01-01",
        "--to",
        "2100-01-01T00:00:00+02:00",
    ]));
}

#[tokio::test]
async fn invitation_link_prints_the_link_the_mailer_sent() {
    let mut h = Harness::start(Backend::Embedded);
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&tenant, &owner);
    let (_, invitation) = h
        .invite(
            &tenant,
            &admin,
            "vera@acme.test",
            json!({"roles": ["user"]}),
        )
        .await;
    let mailed = invitation_token(h.server.data_dir(), &invitation, 1);
    h.server.kill();
    let d = h.server.data_dir().to_str().expect("utf-8 path").to_owned();
    let link = |extra: &[&str]| {
        let mut args = vec![
            "invitation-link",
            "--tenant",
            &tenant,
            "--invitation",
            &invitation,
            "--data-dir",
            &d,
        ];
        args.extend(extra);
        rollcall(&args)
    };
    let out = succeeded(&link(&["--public-url", "https://team.example"]));
    assert_eq!(out, format!("https://team.example/accept?token={mailed}\n"));

    // The link works: accepted through it, it has no link any more.
    h.server.restart();
    // A fresh client: the pooled connection died with the first server.
    h.http = reqwest::Client::new();
    let (status, accepted) = h
        .post("/v1/invitations/accept", "", json!({"token": mailed}))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    h.server.kill();
    let err = refused(&link(&[]), &["is accepted; it has no link that works"]);
    assert!(!err.contains(&mailed), "the token never goes to stderr");
    refused(
        &rollcall(&[
            "invitation-link",
            "--tenant",
            &tenant,
            "--invitation",
            &owner,
            "--data-dir",
            &d,
        ]),
        &[&format!("tenant {tenant} has no invitation {owner}")],
    );
}
