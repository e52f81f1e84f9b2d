//! An invitation travels end to end: the command, the mailer's `.eml` file in the
//! outbox, the accept link, and the member turning active. A resend makes the old
//! link useless; a used link cannot be used twice.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Backend, Harness};

/// Waits for the outbox to hold `count` messages and returns the token of the newest.
fn token_from_outbox(data_dir: &Path, count: usize) -> String {
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

async fn invitation_round_trip(backend: Backend) {
    let h = Harness::start(backend);
    let (tenant, owner) = h.create_tenant("jtek", None).await;
    let admin = h.token(&tenant, &owner);
    let (status, invited) = h
        .post(
            &format!("/v1/tenants/{tenant}/invitations"),
            &admin,
            json!({"email": "Vera@Example.com", "display_name": "Vera Assistant", "roles": ["user"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let invitation = invited["invitation_id"].as_str().expect("invitation_id");
    let user = invited["user_id"].as_str().expect("user_id");
    let first = token_from_outbox(h.server.data_dir(), 1);

    let (status, _) = h
        .post(
            &format!("/v1/tenants/{tenant}/invitations/{invitation}/resend"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = token_from_outbox(h.server.data_dir(), 2);
    assert_ne!(first, second);

    let (status, problem) = h
        .post("/v1/invitations/accept", "", json!({"token": first}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/invitation-superseded")),
        "{problem}"
    );

    let (status, accepted) = h
        .post("/v1/invitations/accept", "", json!({"token": second}))
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["user_id"], user);
    assert_eq!(accepted["tenant_id"], tenant.as_str());

    let (status, problem) = h
        .post("/v1/invitations/accept", "", json!({"token": second}))
        .await;
    assert_eq!(status.as_u16() / 100, 4, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/invitation-used")),
        "{problem}"
    );

    let position = accepted["position"].as_u64().expect("position");
    let (status, member) = h
        .get(
            &format!("/v1/tenants/{tenant}/users/{user}?min_position={position}"),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{member}");
    assert_eq!(member["status"], "active");
    assert_eq!(member["email"], "vera@example.com");
}

#[tokio::test]
async fn invitation_round_trip_embedded() {
    invitation_round_trip(Backend::Embedded).await;
}

#[tokio::test]
async fn invitation_round_trip_jetstream() {
    invitation_round_trip(Backend::JetStream).await;
}
