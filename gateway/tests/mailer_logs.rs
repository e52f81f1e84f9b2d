//! What the mailer logs while it retries and sends: never the token or the link.
//! Alone in its own test binary, because a thread-local log subscriber only sees
//! everything when no other test shares the process.

mod consumer_support;
mod log_capture;

use std::time::Duration;

use consumer_support::outbox::{mac, start, wait_for};
use consumer_support::{TenantFixture, tenant_created, user_invited};
use log_capture::Captured;

#[tokio::test]
async fn neither_the_token_nor_the_link_is_logged() {
    let (captured, _guard) = Captured::start();

    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::write(&outbox, b"in the way").unwrap();
    let (_log_dir, log) = consumer_support::embedded_log();
    let mut acme = TenantFixture::new(0xac);
    acme.append(&*log, tenant_created("Acme", "jtek")).await;
    acme.append(
        &*log,
        user_invited(11, 101, "ada@example.com", "Ada", "n-ada"),
    )
    .await;
    let db = sled::open(dir.path().join("state")).unwrap();
    let running = start(log.clone(), &db, &outbox);
    // A first attempt fails (the outbox path is taken) before the way is cleared.
    for _ in 0..200 {
        if captured.text().contains("invitation message not sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(std::fs::read(&outbox).unwrap(), b"in the way");
    std::fs::remove_file(&outbox).unwrap();
    let sent = wait_for(&outbox, 1).await;
    running.stop().await;

    let (tenant, invitation, nonce) = &sent[0].token;
    let token = format!(
        "{tenant}.{invitation}.{nonce}.{}",
        mac(*tenant, *invitation, nonce)
    );
    assert_eq!(sent.len(), 1);
    let logs = captured.text();
    assert!(logs.contains("invitation message not sent"), "{logs}");
    assert!(logs.contains("invitation message sent"), "{logs}");
    assert!(!logs.contains(&token), "{logs}");
    assert!(!logs.contains(&mac(*tenant, *invitation, nonce)), "{logs}");
    assert!(!logs.contains("accept?token"), "{logs}");
}
