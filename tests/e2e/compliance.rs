//! Compliance end to end: the HTTP endpoints the `replay` library answers (as-of
//! permissions, access review and diff, signed checkpoints), and the `rollcall
//! replay …` subcommands run on the data a stopped server left, on both backends,
//! including a tampered and a truncated embedded log.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Harness, OPERATOR, token_from_outbox};

/// A tenant where Vera joined as `user` and was then made `admin`.
struct Scenario {
    tenant: String,
    owner: String,
    vera: String,
    /// When Vera's acceptance occurred: she held `user` then.
    accepted_at: String,
    /// The tenant's events, oldest first.
    entries: Vec<Value>,
}

fn start(backend: Backend) -> Harness {
    Harness::start_with_env(
        backend,
        vec![(
            "ROLLCALL_CHECKPOINT_INTERVAL_MS".to_owned(),
            "200".to_owned(),
        )],
    )
}

async fn scenario(h: &Harness) -> Scenario {
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&tenant, &owner);
    let (status, invited) = h
        .post(
            &format!("/v1/tenants/{tenant}/invitations"),
            &admin,
            json!({"email": "vera@example.com", "display_name": "Vera Auditee", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let vera = invited["user_id"].as_str().expect("user_id").to_owned();
    let token = token_from_outbox(h.server.data_dir(), 1);
    let (status, accepted) = h
        .post("/v1/invitations/accept", "", json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    // As a plain `user` Vera has no team permission: her own answers only.
    let vera_token = h.token(&tenant, &vera);
    for path in [
        format!("/v1/tenants/{tenant}/access-review"),
        format!("/v1/tenants/{tenant}/access-diff?from=2026-01-01T00:00:00Z"),
        format!("/v1/tenants/{tenant}/checkpoints"),
        format!("/v1/tenants/{tenant}/users/{owner}/effective-permissions"),
    ] {
        let (status, problem) = h.get(&path, &vera_token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
        assert!(
            problem["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/forbidden")),
            "{problem}"
        );
    }
    let (status, own) = h
        .get(
            &format!("/v1/tenants/{tenant}/users/{vera}/effective-permissions"),
            &vera_token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    // Keep the change strictly after the acceptance, whatever the clock's grain.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, changed) = h
        .put(
            &format!("/v1/tenants/{tenant}/users/{vera}/roles"),
            &admin,
            json!({"roles": ["admin"], "reason": "covers for the owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let position = changed["position"].as_u64().expect("position");
    let entries = audit(h, &tenant, position).await;
    let accepted_at = entries
        .iter()
        .find(|e| e["type"] == "invitation.accepted")
        .expect("the acceptance in the audit")["occurred_at"]
        .as_str()
        .expect("occurred_at")
        .to_owned();
    Scenario {
        tenant,
        owner,
        vera,
        accepted_at,
        entries,
    }
}

/// The tenant's audit entries once the read side has reached `position`.
async fn audit(h: &Harness, tenant: &str, position: u64) -> Vec<Value> {
    let (status, page) = h
        .get(
            &format!("/v1/tenants/{tenant}/audit?limit=100&min_position={position}"),
            OPERATOR,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut entries = page["entries"].as_array().expect("entries").clone();
    entries.sort_by_key(|e| e["position"].as_u64());
    entries
}

fn permissions(answer: &Value) -> Vec<String> {
    answer["effective"]
        .as_array()
        .expect("effective")
        .iter()
        .map(|p| p["permission"].as_str().expect("permission").to_owned())
        .collect()
}

/// Waits until the newest checkpoint of the tenant signs its last event.
async fn signed_head(h: &Harness, s: &Scenario) -> Value {
    let head_hash = s.entries.last().expect("events")["hash"].clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, answer) = h
            .get(&format!("/v1/tenants/{}/checkpoints", s.tenant), OPERATOR)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        if let Some(c) = answer["checkpoints"].as_array().and_then(|c| c.first())
            && c["hash"] == head_hash
        {
            assert_eq!(c["tenant_seq"], s.entries.len() as u64);
            return c.clone();
        }
        assert!(Instant::now() < deadline, "head never signed: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rollcall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .output()
        .expect("the rollcall binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `replay <sub> --data-dir D [--nats-url U] <rest>`.
fn replay(h: &Harness, sub: &str, rest: &[&str]) -> Output {
    let dir = h.server.data_dir().to_str().expect("utf-8 path").to_owned();
    let url = h.nats.as_ref().map(|n| n.url());
    let mut args = vec!["replay", sub, "--data-dir", dir.as_str()];
    if let Some(url) = &url {
        args.extend(["--nats-url", url.as_str()]);
    }
    args.extend(rest);
    rollcall(&args)
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

async fn http_endpoints(backend: Backend) {
    let h = start(backend);
    let s = scenario(&h).await;
    let base = format!("/v1/tenants/{}", s.tenant);

    // As of the acceptance Vera held `user`; now she holds `admin`.
    let path = format!("{base}/users/{}/effective-permissions", s.vera);
    let (status, then) = h
        .get(&format!("{path}?at={}", s.accepted_at), OPERATOR)
        .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    let (status, now) = h.get(&path, OPERATOR).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(then["status"], "active");
    assert_eq!(now["status"], "active");
    assert_ne!(permissions(&then), permissions(&now));
    assert!(now["tenant_seq"].as_u64() > then["tenant_seq"].as_u64());
    let (status, user_now) = h.get(&format!("{base}/users/{}", s.vera), OPERATOR).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        permissions(&user_now),
        permissions(&now),
        "as-of now agrees with the live view"
    );
    // The member reads their own; before the tenant existed they were nobody.
    let vera = h.token(&s.tenant, &s.vera);
    let (status, own) = h.get(&path, &vera).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let (status, problem) = h
        .get(&format!("{path}?at=2001-01-01T00:00:00Z"), OPERATOR)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, problem) = h.get(&format!("{path}?at=yesterday"), OPERATOR).await;
    assert_eq!(status.as_u16(), 400, "{problem}");

    // The access review, as JSON and as CSV.
    let (status, review) = h
        .get(
            &format!("{base}/access-review?at={}", s.accepted_at),
            OPERATOR,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert_eq!(review["members"].as_array().expect("members").len(), 2);
    let response = h
        .http
        .get(format!("{}{base}/access-review", h.server.url()))
        .bearer_auth(h.token(&s.tenant, &s.owner))
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("csv review");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let csv = response.text().await.expect("csv body");
    let header = csv.lines().next().expect("header row");
    assert!(
        header.starts_with("at,user_id,display_name,email,status"),
        "{header}"
    );
    assert!(csv.contains("Vera Auditee"));

    // The diff names the role change as the cause of Vera's new permissions.
    let (status, diff) = h
        .get(
            &format!("{base}/access-diff?from={}", s.accepted_at),
            OPERATOR,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    let members = diff["members"].as_array().expect("members");
    let vera_diff = members
        .iter()
        .find(|m| m["user_id"] == s.vera.as_str())
        .expect("Vera changed");
    let granted = vera_diff["granted"].as_array().expect("granted");
    assert!(!granted.is_empty(), "{diff}");
    assert_eq!(granted[0]["cause"]["type"], "user.roles_changed");
    assert_eq!(granted[0]["cause"]["reason"], "covers for the owner");

    // Checkpoints: the head gets signed, by the installation's key.
    let checkpoint = signed_head(&h, &s).await;
    let file = h.server.data_dir().join("checkpoint.json");
    std::fs::write(&file, checkpoint.to_string()).expect("write checkpoint");
    let mut h = h;
    h.server.kill();
    let key = ok(&replay(&h, "pubkey", &[])).trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");
    assert_eq!(checkpoint["public_key"], key.as_str());
    let out = ok(&replay(
        &h,
        "verify",
        &[
            "--checkpoint",
            file.to_str().expect("utf-8"),
            "--public-key",
            &key,
        ],
    ));
    assert!(out.contains("confirmed"), "{out}");
    // A checkpoint signed by another key is refused when the key is pinned.
    let other = "11".repeat(32);
    let refused = replay(
        &h,
        "verify",
        &[
            "--checkpoint",
            file.to_str().expect("utf-8"),
            "--public-key",
            &other,
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("refused"), "{}", stderr(&refused));
}

#[tokio::test]
async fn http_compliance_endpoints_embedded() {
    http_endpoints(Backend::Embedded).await;
}

#[tokio::test]
async fn http_compliance_endpoints_jetstream() {
    http_endpoints(Backend::JetStream).await;
}

async fn cli_on_a_stopped_server(backend: Backend) {
    let mut h = start(backend);
    let s = scenario(&h).await;
    signed_head(&h, &s).await;
    h.server.kill();
    let head = s.entries.last().expect("events");
    let head_hash = head["hash"].as_str().expect("hash");

    for sub in [
        "rebuild",
        "verify",
        "export",
        "as-of",
        "access-review",
        "diff",
        "pubkey",
    ] {
        let help = ok(&rollcall(&["replay", sub, "--help"]));
        assert!(help.contains("Usage: rollcall replay"), "{help}");
    }

    let out = ok(&replay(&h, "verify", &["--stored-checkpoints"]));
    assert!(
        out.contains(&format!("tenant {}: {} events", s.tenant, s.entries.len())),
        "{out}"
    );
    assert!(out.contains(head_hash), "{out}");
    assert!(out.contains("confirmed"), "{out}");

    let csv = ok(&replay(
        &h,
        "export",
        &["--tenant", &s.tenant, "--format", "csv"],
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("position,tenant_id,tenant_seq"),
        "{csv}"
    );
    assert_eq!(lines.len(), s.entries.len() + 1, "{csv}");
    let jsonl = ok(&replay(
        &h,
        "export",
        &[
            "--tenant",
            &s.tenant,
            "--format",
            "jsonl",
            "--type",
            "user.roles_changed",
        ],
    ));
    assert_eq!(jsonl.lines().count(), 1, "{jsonl}");
    let line: Value = serde_json::from_str(jsonl.trim()).expect("json line");
    assert_eq!(line["reason"], "covers for the owner");
    let out_file = h.server.data_dir().join("trail.csv");
    ok(&replay(
        &h,
        "export",
        &[
            "--tenant",
            &s.tenant,
            "--out",
            out_file.to_str().expect("utf-8"),
        ],
    ));
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("export file"),
        csv
    );

    let then: Value = serde_json::from_str(&ok(&replay(
        &h,
        "as-of",
        &[
            "--tenant",
            &s.tenant,
            "--user",
            &s.vera,
            "--at",
            &s.accepted_at,
        ],
    )))
    .expect("json");
    let now: Value = serde_json::from_str(&ok(&replay(
        &h,
        "as-of",
        &["--tenant", &s.tenant, "--user", &s.vera],
    )))
    .expect("json");
    // The same answer as the HTTP as-of.
    let perms = |v: &Value| {
        v["effective"]
            .as_array()
            .expect("effective")
            .iter()
            .map(|p| p["permission"].clone())
            .collect::<Vec<_>>()
    };
    assert_ne!(perms(&then), perms(&now));
    assert_eq!(now["head_hash"], head_hash);

    let review = ok(&replay(&h, "access-review", &["--tenant", &s.tenant]));
    assert!(
        review.starts_with("at,user_id,display_name,email,status"),
        "{review}"
    );
    assert!(review.contains("Vera Auditee"));

    let diff: Value = serde_json::from_str(&ok(&replay(
        &h,
        "diff",
        &["--tenant", &s.tenant, "--from", &s.accepted_at],
    )))
    .expect("json");
    assert!(
        diff["members"]
            .as_array()
            .expect("members")
            .iter()
            .any(|m| m["user_id"] == s.vera.as_str()),
        "{diff}"
    );

    let rebuilt = ok(&replay(&h, "rebuild", &[]));
    let hash_line = rebuilt
        .lines()
        .find_map(|l| l.strip_prefix("state hash "))
        .expect("state hash printed");
    assert_eq!(hash_line.len(), 64, "{rebuilt}");
    let dir = h.server.data_dir();
    assert!(dir.join("projections").is_dir());
    let names: Vec<String> = std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("projections.old-")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("projections.rebuild-")),
        "{names:?}"
    );
    // The same log rebuilt twice gives the same state hash.
    let again = ok(&replay(&h, "rebuild", &[]));
    assert!(
        again.contains(&format!("state hash {hash_line}")),
        "{again}"
    );

    // A server started on the rebuilt views answers as before.
    h.server.restart();
    // The pooled connection went with the old process.
    h.http = reqwest::Client::new();
    let (status, users) = h
        .get(&format!("/v1/tenants/{}/users", s.tenant), OPERATOR)
        .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert_eq!(users["users"].as_array().expect("users").len(), 2);
    h.server.kill();
    let _ = s.owner;
}

#[tokio::test]
async fn cli_on_a_stopped_server_embedded() {
    cli_on_a_stopped_server(Backend::Embedded).await;
}

#[tokio::test]
async fn cli_on_a_stopped_server_jetstream() {
    cli_on_a_stopped_server(Backend::JetStream).await;
}

/// The embedded log's event tree, opened behind the stopped server's back.
fn events_tree(data_dir: &Path) -> (sled::Db, sled::Tree) {
    let db = sled::open(data_dir.join("log")).expect("the embedded log");
    let tree = db.open_tree("log.events").expect("events tree");
    (db, tree)
}

#[tokio::test]
async fn verify_names_the_altered_event_of_an_embedded_log() {
    let mut h = start(Backend::Embedded);
    let s = scenario(&h).await;
    h.server.kill();
    let changed = s
        .entries
        .iter()
        .find(|e| e["type"] == "user.roles_changed")
        .expect("the role change");
    let position = changed["position"].as_u64().expect("position");
    {
        let (db, tree) = events_tree(h.server.data_dir());
        let key = position.to_be_bytes();
        let stored = tree.get(key).expect("read").expect("the event is stored");
        let mut envelope: Value = serde_json::from_slice(&stored).expect("an envelope");
        envelope["reason"] = json!("nothing to see here");
        tree.insert(key, serde_json::to_vec(&envelope).expect("json"))
            .expect("write");
        db.flush().expect("flush");
    }
    let out = replay(&h, "verify", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("TAMPERED at position {position} (hash_mismatch)")),
        "{err}"
    );
    assert!(err.contains(&s.tenant), "{err}");
    let json: Value = serde_json::from_str(&stdout(&replay(&h, "verify", &["--format", "json"])))
        .expect("json report");
    assert_eq!(json["intact"], false);
    assert_eq!(json["tampering"][0]["position"], position);
    assert_eq!(json["tampering"][0]["kind"], "hash_mismatch");
}

#[tokio::test]
async fn a_checkpoint_catches_the_removal_of_the_newest_events() {
    let mut h = start(Backend::Embedded);
    let s = scenario(&h).await;
    let checkpoint = signed_head(&h, &s).await;
    let file = h.server.data_dir().join("pinned-checkpoint.json");
    std::fs::write(&file, json!({"checkpoints": [checkpoint]}).to_string()).expect("write");
    h.server.kill();
    let last = s.entries.last().expect("events")["position"]
        .as_u64()
        .expect("position");
    {
        let (db, tree) = events_tree(h.server.data_dir());
        tree.remove(last.to_be_bytes()).expect("remove");
        let index = db.open_tree("log.tenants").expect("tenant index");
        if let Some((key, _)) = index.last().expect("index") {
            index.remove(key).expect("remove index entry");
        }
        db.flush().expect("flush");
    }
    // Without the checkpoint the shorter chain is valid: that is the gap it closes.
    ok(&replay(&h, "verify", &[]));
    let file = file.to_str().expect("utf-8");
    let out = replay(&h, "verify", &["--checkpoint", file]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("(truncated)"), "{err}");
    assert!(
        err.contains(&format!(
            "ends at event {} but a checkpoint signed event {}",
            s.entries.len() - 1,
            s.entries.len()
        )),
        "{err}"
    );
}
