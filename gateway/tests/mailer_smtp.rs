//! The mailer over SMTP, against a small fake relay on 127.0.0.1: the message
//! arrives with the link, a relay that asks to try later is retried, and a relay
//! that refuses one recipient for good does not hold up the next.

mod consumer_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use consumer_support::outbox::{
    PUBLIC_URL, ReadSide, mint, read_outbox, verify, wait_until_settled,
};
use consumer_support::{TenantFixture, tenant_created, user_invited};
use pretty_assertions::assert_eq;
use rollcall_gateway::mailer::{Backoff, Mailer, MailerConfig};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the fake relay saw and how it should answer.
#[derive(Default)]
struct Relay {
    /// `MAIL FROM` answers `421` this many more times.
    busy: usize,
    /// Recipients answered `550`.
    refuse: Vec<String>,
    /// Each accepted message: recipients and the raw DATA.
    delivered: Vec<(Vec<String>, String)>,
    /// `AUTH` lines received.
    auth: Vec<String>,
}

async fn fake_relay(relay: Arc<Mutex<Relay>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let relay = relay.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut rcpt = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer: String = if upper.starts_with("EHLO") {
                        "250-fake\r\n250 AUTH PLAIN LOGIN\r\n".into()
                    } else if upper.starts_with("AUTH") {
                        relay.lock().unwrap().auth.push(line.clone());
                        "235 ok\r\n".into()
                    } else if upper.starts_with("MAIL FROM") {
                        let mut r = relay.lock().unwrap();
                        rcpt.clear();
                        if r.busy > 0 {
                            r.busy -= 1;
                            "421 busy, try later\r\n".into()
                        } else {
                            "250 ok\r\n".into()
                        }
                    } else if upper.starts_with("RCPT TO") {
                        let to = line[8..].trim().trim_matches(['<', '>']).to_owned();
                        if relay.lock().unwrap().refuse.contains(&to) {
                            "550 no such user\r\n".into()
                        } else {
                            rcpt.push(to);
                            "250 ok\r\n".into()
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        relay.lock().unwrap().delivered.push((rcpt.clone(), data));
                        "250 queued\r\n".into()
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        "250 ok\r\n".into()
                    };
                    if write.write_all(answer.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn sends_by_smtp_retrying_a_busy_relay_and_skipping_a_refused_recipient() {
    let relay = Arc::new(Mutex::new(Relay {
        busy: 2,
        refuse: vec!["gone@example.com".into()],
        ..Default::default()
    }));
    let port = fake_relay(relay.clone()).await;

    let (_log_dir, log) = consumer_support::embedded_log();
    let mut acme = TenantFixture::new(0xac);
    acme.append(&*log, tenant_created("Acme", "jtek")).await;
    acme.append(
        &*log,
        user_invited(11, 101, "gone@example.com", "Gone", "n-gone"),
    )
    .await;
    let ada = acme
        .append(
            &*log,
            user_invited(12, 102, "ada@example.com", "Ada", "n-ada"),
        )
        .await;

    let dir = tempfile::tempdir().unwrap();
    let config = MailerConfig {
        public_url: PUBLIC_URL.to_owned(),
        smtp_url: Some(format!("smtp://mailer:s3cret@127.0.0.1:{port}")),
        outbox_dir: dir.path().join("outbox"),
        from: "Rollcall <no-reply@rollcall.example.com>".to_owned(),
    };
    let mailer = Mailer::new(config, mint()).unwrap().with_backoff(Backoff {
        min: Duration::from_millis(20),
        max: Duration::from_millis(100),
    });
    let db = sled::open(dir.path().join("state")).unwrap();
    let tree = db.open_tree("mailer.v1").unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let read_side = ReadSide::start(log.clone());
    let task = tokio::spawn(mailer.run(read_side.read.clone(), log, tree, async move {
        let _ = stopped.await;
    }));

    // Both owed messages are settled: Ada's delivered, Gone's refused for good.
    wait_until_settled(&db, ada).await;
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    read_side.stop().await;

    // With a relay configured nothing goes to the outbox.
    assert!(read_outbox(&dir.path().join("outbox")).is_empty());
    let relay = relay.lock().unwrap();
    assert_eq!(relay.busy, 0, "the busy answers were retried through");
    assert_eq!(relay.delivered.len(), 1, "only Ada's message is accepted");
    let (rcpt, data) = &relay.delivered[0];
    assert_eq!(rcpt, &vec!["ada@example.com".to_owned()]);
    let message = mail_parser::MessageParser::default()
        .parse(data.as_bytes())
        .unwrap();
    let body = message.body_text(0).unwrap();
    let token = body
        .lines()
        .find_map(|l| l.strip_prefix("https://rollcall.example.com/accept?token="))
        .unwrap();
    let (_, invitation, nonce) = verify(token).unwrap();
    assert_eq!(
        (invitation.as_uuid().as_u128(), nonce.as_str()),
        (102, "n-ada")
    );
    // Credentials from the URL went to the relay (AUTH PLAIN "\0mailer\0s3cret").
    assert!(
        relay
            .auth
            .iter()
            .any(|l| l.contains("AG1haWxlcgBzM2NyZXQ=")),
        "{:?}",
        relay.auth
    );
}
