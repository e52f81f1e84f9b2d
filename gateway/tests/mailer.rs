//! The invitation mailer against a real log and a real outbox: one message per
//! owed invitation, a link whose token verifies, nothing stale, nothing twice.

mod consumer_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use consumer_support::outbox::{
    PUBLIC_URL, ReadSide, inv, mint, read_outbox, start, start_following, wait_for,
    wait_for_checkpoint, wait_until_settled,
};
use consumer_support::{
    TenantFixture, invitation_accepted, invitation_canceled, invitation_resent, tenant_created,
    user_invited,
};
use pretty_assertions::assert_eq;
use rollcall_events::TenantId;
use rollcall_gateway::mailer::{Mailer, MailerConfig};

#[tokio::test]
async fn sends_the_newest_link_of_each_open_invitation_once() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let (_log_dir, log) = consumer_support::embedded_log();
    let mut acme = TenantFixture::new(0xac);
    let tenant = acme.tenant;
    acme.append(&*log, tenant_created("Acme", "jtek")).await;
    let ada = acme
        .append(
            &*log,
            user_invited(11, 101, "ada@example.com", "Ada Lovelace", "n-ada"),
        )
        .await;
    acme.append(
        &*log,
        user_invited(12, 102, "bob@example.com", "Bob", "n-bob-1"),
    )
    .await;
    let bob_resent = acme
        .append(&*log, invitation_resent(12, 102, "n-bob-2"))
        .await;
    // Accepted or canceled before the mailer got to them: no message.
    acme.append(&*log, user_invited(13, 103, "cy@example.com", "Cy", "n-cy"))
        .await;
    acme.append(&*log, invitation_accepted(13, 103)).await;
    acme.append(&*log, user_invited(14, 104, "di@example.com", "Di", "n-di"))
        .await;
    acme.append(&*log, invitation_canceled(14, 104)).await;

    let db = sled::open(dir.path().join("state")).unwrap();
    let running = start(log.clone(), &db, &outbox);
    let sent = wait_for(&outbox, 2).await;
    let summary: Vec<_> = sent
        .iter()
        .map(|m| {
            (
                m.file.clone(),
                m.to.clone(),
                m.subject.clone(),
                m.token.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                format!("{ada:020}-{}.eml", inv(101)),
                "Ada Lovelace <ada@example.com>".to_owned(),
                "You are invited to join Acme on Jtek".to_owned(),
                (tenant, inv(101), "n-ada".to_owned()),
            ),
            (
                format!("{bob_resent:020}-{}.eml", inv(102)),
                "Bob <bob@example.com>".to_owned(),
                "Your invitation to Acme on Jtek (new link)".to_owned(),
                (tenant, inv(102), "n-bob-2".to_owned()),
            ),
        ]
    );
    assert!(sent[0].body.contains("expires at 2100-01-01 12:00 UTC"));

    // Live: a resend while the mailer runs goes out at once.
    let ada_resent = acme
        .append(&*log, invitation_resent(11, 101, "n-ada-2"))
        .await;
    let sent = wait_for(&outbox, 3).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].file, format!("{ada_resent:020}-{}.eml", inv(101)));
    assert_eq!(sent[2].token, (tenant, inv(101), "n-ada-2".to_owned()));
    running.stop().await;
    drop(db);

    // The messages sent so far are taken out of the outbox, so one sent again
    // would be back in it; an invitation arrives while the mailer is down.
    std::fs::rename(&outbox, dir.path().join("delivered")).unwrap();
    let eve = acme
        .append(
            &*log,
            user_invited(15, 105, "eve@example.com", "Eve", "n-eve"),
        )
        .await;
    // A restart resumes after its checkpoint: Eve's message is not skipped, and
    // nothing before it (the mailer goes in log order) is sent again.
    let db = sled::open(dir.path().join("state")).unwrap();
    let running = start(log.clone(), &db, &outbox);
    wait_until_settled(&db, eve).await;
    let sent = read_outbox(&outbox);
    assert_eq!(
        sent.iter().map(|m| m.file.clone()).collect::<Vec<_>>(),
        vec![format!("{eve:020}-{}.eml", inv(105))]
    );
    running.stop().await;
}

#[tokio::test]
async fn a_failing_send_is_retried_until_it_goes_out() {
    let dir = tempfile::tempdir().unwrap();
    // The outbox path is taken by a file, so every write fails until it is removed.
    let outbox = dir.path().join("outbox");
    std::fs::write(&outbox, b"in the way").unwrap();
    let (_log_dir, log) = consumer_support::embedded_log();
    let mut acme = TenantFixture::new(0xac);
    acme.append(&*log, tenant_created("Acme", "jethub")).await;
    let ada = acme
        .append(
            &*log,
            user_invited(11, 101, "ada@example.com", "Ada", "n-ada"),
        )
        .await;

    let db = sled::open(dir.path().join("state")).unwrap();
    let running = start(log.clone(), &db, &outbox);
    // The mailer knows the message is owed, cannot write it, and keeps at it.
    let state = wait_for_checkpoint(&db, ada).await;
    assert!(state.has_due(), "Ada's message is still owed");
    assert_eq!(std::fs::read(&outbox).unwrap(), b"in the way");
    assert!(!running.task.is_finished(), "the mailer keeps running");
    std::fs::remove_file(&outbox).unwrap();
    let sent = wait_for(&outbox, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "You are invited to join Acme on Jet Hub");
    running.stop().await;
}

#[tokio::test]
async fn an_invalid_smtp_url_is_refused_without_echoing_it() {
    let config = MailerConfig {
        public_url: PUBLIC_URL.to_owned(),
        smtp_url: Some("bogus://user:hunter2@mail.example.com:587".to_owned()),
        outbox_dir: PathBuf::from("unused"),
        from: "no-reply@rollcall.example.com".to_owned(),
    };
    let message = match Mailer::new(config.clone(), mint()) {
        Ok(_) => panic!("an invalid SMTP URL was accepted"),
        Err(e) => e.to_string(),
    };
    assert_eq!(message, "the SMTP URL is not valid");
    assert!(!format!("{config:?}").contains("hunter2"));
}

#[test]
fn the_message_text_names_the_team_the_product_and_the_expiry() {
    use rollcall_gateway::mailer::{OpenInvitation, TenantLabel, accept_link, render};
    let invitation = OpenInvitation {
        tenant_id: TenantId::from_u128(0xac),
        invitation_id: inv(101),
        user_id: rollcall_events::UserId::from_u128(11),
        email: "ada@example.com".to_owned(),
        display_name: "Ada Lovelace".to_owned(),
        nonce: "n-ada".to_owned(),
        expires_at: consumer_support::far_future(),
        position: 2,
        resent: false,
        due: true,
    };
    let tenant = TenantLabel {
        name: "Acme".to_owned(),
        product: "Jtek".to_owned(),
    };
    let link = accept_link(PUBLIC_URL, "tok/en+=");
    assert_eq!(
        link,
        "https://rollcall.example.com/accept?token=tok%2Fen%2B%3D"
    );
    let first = render(&invitation, Some(&tenant), &link);
    insta::assert_snapshot!(
        "invitation",
        format!("Subject: {}\n\n{}", first.subject, first.body)
    );
    let resent = OpenInvitation {
        resent: true,
        ..invitation
    };
    let again = render(&resent, None, &link);
    insta::assert_snapshot!(
        "resent_unknown_tenant",
        format!("Subject: {}\n\n{}", again.subject, again.body)
    );
}

#[tokio::test]
async fn rides_out_a_log_that_is_down_at_first() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let (_log_dir, inner) = consumer_support::embedded_log();
    let mut acme = TenantFixture::new(0xac);
    acme.append(&*inner, tenant_created("Acme", "jobtracker"))
        .await;
    acme.append(
        &*inner,
        user_invited(11, 101, "ada@example.com", "Ada", "n-ada"),
    )
    .await;
    let flaky = Arc::new(rollcall_tests::FlakySubscribe::new(inner, 0));
    // The read side has applied both events; the mailer, behind it, reads them
    // from the log, which fails three times first.
    let read_side = ReadSide::start(flaky.clone());
    read_side
        .read
        .wait_for(2, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    flaky.read_failures.store(3, Ordering::SeqCst);
    let db = sled::open(dir.path().join("state")).unwrap();
    let running = start_following(read_side.read.clone(), flaky.clone(), &db, &outbox);
    let sent = wait_for(&outbox, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        flaky.reads.load(Ordering::SeqCst),
        4,
        "three failed reads, then one that works"
    );
    running.stop().await;
    read_side.stop().await;
}
