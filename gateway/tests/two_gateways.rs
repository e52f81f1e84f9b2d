//! Two gateways on one log agree on what spans requests to both: one person's
//! accounts across tenants, and an invitation issued through one gateway and
//! accepted through the other. Each gateway is the mounted router with its own
//! command service and read side; each read names the position of the other's
//! write (`min_position`), so it reflects it.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use rollcall_events::{InvitationId, TenantId, UserId};
use rollcall_gateway::invite_token::{self, InviteToken};
use serde_json::{Value, json};

/// Invites `email` to `tenant` through `gateway` as the operator: (invitee, invitation, position).
async fn invite(
    gateway: &Harness,
    tenant: TenantId,
    email: &str,
    roles: &[&str],
) -> (UserId, InvitationId, u64) {
    let a = gateway
        .send(
            Method::POST,
            &format!("/v1/tenants/{tenant}/invitations"),
            Some(OPERATOR),
            Some(json!({"email": email, "display_name": "Dee", "roles": roles})),
        )
        .await
        .expect(StatusCode::CREATED);
    (
        a.id("user_id").parse().expect("user id"),
        a.id("invitation_id").parse().expect("invitation id"),
        a.position(),
    )
}

/// Accepts with `token` through `gateway`.
async fn accept(gateway: &Harness, token: &str) -> common::Answer {
    gateway
        .send(
            Method::POST,
            "/v1/invitations/accept",
            None,
            Some(json!({"token": token})),
        )
        .await
}

/// `GET /v1/memberships` through `gateway` as of `position`.
async fn memberships(gateway: &Harness, email: &str, position: u64) -> Value {
    gateway
        .get(
            &format!("/v1/memberships?email={email}&min_position={position}"),
            OPERATOR,
        )
        .await
        .expect(StatusCode::OK)
        .body
}

/// (tenant, user, status) of each membership listed.
fn listed(answer: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = answer["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| {
            let field = |f: &str| m[f].as_str().expect("a string").to_owned();
            (field("tenant_id"), field("user_id"), field("status"))
        })
        .collect();
    found.sort();
    found
}

fn expected(entries: &[(TenantId, UserId, &str)]) -> Vec<(String, String, String)> {
    let mut e: Vec<_> = entries
        .iter()
        .map(|(t, u, s)| (t.to_string(), u.to_string(), (*s).to_owned()))
        .collect();
    e.sort();
    e
}

/// The same answer about `email` from both gateways, as of `position`, listing
/// exactly `entries`.
async fn both_answer(
    a: &Harness,
    b: &Harness,
    email: &str,
    position: u64,
    entries: &[(TenantId, UserId, &str)],
) {
    let (one, two) = (
        memberships(a, email, position).await,
        memberships(b, email, position).await,
    );
    assert_eq!(one, two, "the gateways disagree about {email}");
    assert_eq!(one["email"], json!("dee@example.com"));
    assert_eq!(listed(&one), expected(entries), "{one:#}");
}

/// Dee (one email) joins one account through the first gateway and another
/// through the second. Both gateways list the same accounts for her, each with
/// that account's own member id and status, as every step lands; inviting her
/// again where she is a member is refused on either gateway by the decider,
/// which judges the email on the tenant's state folded from the log.
async fn one_person_in_two_accounts(a: Harness, b: Harness) {
    let first = a.tenant(json!("jethub")).await;
    let second = b.tenant(json!("jethub")).await;
    let owner_email = "owner@acme.test";

    // Invited to both, through both gateways (the second time spelled otherwise).
    let (dee1, inv1, at1) = invite(&a, first.id, "dee@example.com", &[]).await;
    let (dee2, inv2, at2) = invite(&b, second.id, " Dee@Example.COM", &["billing_user"]).await;
    // Member ids are each account's own.
    assert_ne!(dee1, dee2);
    both_answer(
        &a,
        &b,
        "DEE@example.com",
        at1.max(at2),
        &[(first.id, dee1, "invited"), (second.id, dee2, "invited")],
    )
    .await;

    // She joins each account through the gateway that invited her there.
    let token1 = a.accept_token(first.id, inv1).await;
    let joined1 = accept(&a, &token1).await.expect(StatusCode::OK);
    let token2 = b.accept_token(second.id, inv2).await;
    let joined2 = accept(&b, &token2).await.expect(StatusCode::OK);
    assert_eq!(joined1.id("user_id"), dee1.to_string());
    assert_eq!(joined2.id("user_id"), dee2.to_string());
    let joined = joined1.position().max(joined2.position());
    both_answer(
        &a,
        &b,
        "dee@example.com",
        joined,
        &[(first.id, dee1, "active"), (second.id, dee2, "active")],
    )
    .await;

    // The owner's email was used for both tenants, created through both gateways.
    let owners = memberships(&a, owner_email, joined).await;
    assert_eq!(owners, memberships(&b, owner_email, joined).await);
    assert_eq!(
        listed(&owners),
        expected(&[
            (first.id, first.owner, "active"),
            (second.id, second.owner, "active")
        ])
    );

    // Where she is a member, she cannot be invited again, whichever gateway asks
    // and however the email is spelled.
    for (gateway, tenant) in [(&b, first.id), (&a, second.id)] {
        let refused = gateway
            .send(
                Method::POST,
                &format!("/v1/tenants/{tenant}/invitations"),
                Some(OPERATOR),
                Some(json!({"email": "DEE@example.com", "display_name": "Dee"})),
            )
            .await
            .problem(StatusCode::CONFLICT, "email-taken");
        assert!(
            refused.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("dee@example.com")),
            "{:#?}",
            refused.body
        );
    }

    // Deactivated in the first account through the second gateway: both see it
    // there, and only there.
    let deactivated = b
        .send(
            Method::POST,
            &format!("/v1/tenants/{}/users/{dee1}/deactivate", first.id),
            Some(OPERATOR),
            Some(json!({"reason": "left the first account"})),
        )
        .await
        .expect(StatusCode::OK);
    both_answer(
        &a,
        &b,
        "dee@example.com",
        deactivated.position(),
        &[(first.id, dee1, "deactivated"), (second.id, dee2, "active")],
    )
    .await;

    // Only the operator looks across accounts, on either gateway.
    let admin = a.jwt(second.id, second.owner, None, true);
    for gateway in [&a, &b] {
        gateway
            .get("/v1/memberships?email=dee@example.com", &admin)
            .await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_one_person_in_two_accounts_is_one_answer_on_both_gateways() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_gateways_embedded(dir.path()).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        one_person_in_two_accounts(a, b),
    )
    .await
    .expect("the walk ends within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_one_person_in_two_accounts_is_one_answer_on_both_gateways() {
    let nats = rollcall_tests::NatsServer::start();
    let (a, b) = two_gateways_on_jetstream(&nats).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        one_person_in_two_accounts(a, b),
    )
    .await
    .expect("the walk ends within a minute");
}

/// A token signed with the installation's invitation key, naming `invitee` as
/// the one who accepts `invitation` with `nonce`.
fn token_naming(
    gateway: &Harness,
    tenant: TenantId,
    invitation: InvitationId,
    invitee: UserId,
    nonce: String,
) -> String {
    invite_token::mint(
        &gateway.secrets.invite_key(),
        &InviteToken {
            tenant,
            invitation,
            invitee,
            nonce,
        },
    )
    .expect("mint")
}

/// `status` of `user` on both gateways, as of `position`.
async fn status_on_both(
    a: &Harness,
    b: &Harness,
    tenant: TenantId,
    user: UserId,
    position: u64,
) -> [String; 2] {
    let path = format!("/v1/tenants/{tenant}/users/{user}?min_position={position}");
    let mut statuses = [String::new(), String::new()];
    for (gateway, status) in [a, b].into_iter().zip(&mut statuses) {
        let member = gateway.get(&path, OPERATOR).await.expect(StatusCode::OK);
        *status = member.id("status");
    }
    statuses
}

/// An invitation issued through the first gateway is accepted through the
/// second, with the token its link carries (minted from the invitation's nonce in
/// the log, as the mailer does). A valid token naming someone other than the
/// invitation's invitee reaches the decider and is refused there, on either
/// gateway; a used or superseded token is refused on either gateway too.
async fn an_invitation_issued_on_one_gateway_is_accepted_on_the_other(a: Harness, b: Harness) {
    let t = a.tenant(json!("jtek")).await;
    let (ann, ann_inv, _) = invite(&a, t.id, "ann@acme.test", &["user"]).await;
    let (bob, bob_inv, invited) = invite(&a, t.id, "bob@acme.test", &["user"]).await;

    // Ann's link, issued through the first gateway, accepted through the second.
    let token = a.accept_token(t.id, ann_inv).await;
    let accepted = accept(&b, &token).await.expect(StatusCode::OK);
    assert_eq!(accepted.id("user_id"), ann.to_string());
    assert_eq!(accepted.id("tenant_id"), t.id.to_string());
    assert_eq!(accepted.id("invitation_id"), ann_inv.to_string());
    assert_eq!(
        status_on_both(&a, &b, t.id, ann, accepted.position()).await,
        ["active", "active"]
    );
    // Used: refused on both.
    for gateway in [&a, &b] {
        accept(gateway, &token)
            .await
            .problem(StatusCode::CONFLICT, "invitation-used");
    }

    // Bob's invitation with his current nonce, signed as the server signs, but
    // naming another invitee: Ann (a member), or an id the tenant never held.
    // The decider refuses it on both gateways and nothing is appended.
    let (invitee, nonce) = a.nonce(t.id, bob_inv).await;
    assert_eq!(invitee, bob);
    let head = a.head().await;
    for impostor in [ann, UserId::from_u128(7)] {
        let forged = token_naming(&a, t.id, bob_inv, impostor, nonce.clone());
        for gateway in [&a, &b] {
            let refused = accept(gateway, &forged)
                .await
                .problem(StatusCode::FORBIDDEN, "forbidden");
            let detail = refused.body["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("may not accept another person's invitation"),
                "{detail}"
            );
        }
    }
    assert_eq!(a.head().await, head, "a refused accept appends nothing");
    assert_eq!(
        status_on_both(&a, &b, t.id, bob, invited).await,
        ["invited", "invited"]
    );

    // Resent through the second gateway: the link sent before stops working on
    // both, the new one works through the first.
    let stale = a.accept_token(t.id, bob_inv).await;
    b.send(
        Method::POST,
        &format!("/v1/tenants/{}/invitations/{bob_inv}/resend", t.id),
        Some(OPERATOR),
        None,
    )
    .await
    .expect(StatusCode::OK);
    for gateway in [&a, &b] {
        accept(gateway, &stale)
            .await
            .problem(StatusCode::GONE, "invitation-superseded");
    }
    let fresh = b.accept_token(t.id, bob_inv).await;
    let accepted = accept(&a, &fresh).await.expect(StatusCode::OK);
    assert_eq!(accepted.id("user_id"), bob.to_string());
    assert_eq!(
        status_on_both(&a, &b, t.id, bob, accepted.position()).await,
        ["active", "active"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_an_invitation_issued_on_one_gateway_is_accepted_on_the_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_gateways_embedded(dir.path()).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        an_invitation_issued_on_one_gateway_is_accepted_on_the_other(a, b),
    )
    .await
    .expect("the walk ends within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_an_invitation_issued_on_one_gateway_is_accepted_on_the_other() {
    let nats = rollcall_tests::NatsServer::start();
    let (a, b) = two_gateways_on_jetstream(&nats).await;
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        an_invitation_issued_on_one_gateway_is_accepted_on_the_other(a, b),
    )
    .await
    .expect("the walk ends within a minute");
}
