//! `GET /v1/tenants/{t}/verify`: the tenant's chain walked now, for the console's
//! Integrity page and anyone with the team permission.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use axum::http::{Method, StatusCode};
use common::*;
use futures::{StreamExt, TryStreamExt};
use pretty_assertions::assert_eq;
use rollcall_events::{RawEnvelope, TenantId};
use rollcall_log::{Appended, EventLog, EventStream, LogError, embedded::EmbeddedLog};
use serde_json::json;

#[tokio::test]
async fn the_chain_is_walked_for_the_team_and_refused_to_others() {
    let h = Harness::embedded();
    let t = h.tenant(json!("jtek")).await;
    let ada = h.member(t.id, "ada@example.com", &["user"]).await;
    let toggled = h
        .send(
            Method::PUT,
            &format!(
                "/v1/tenants/{}/users/{ada}/permissions/contacts.delete",
                t.id
            ),
            Some(OPERATOR),
            Some(json!({"state": "deny", "reason": "audit"})),
        )
        .await
        .expect(StatusCode::OK);

    let owner = h.jwt(t.id, t.owner, None, false);
    let v = h
        .get(&format!("/v1/tenants/{}/verify", t.id), &owner)
        .await
        .expect(StatusCode::OK);
    assert_eq!(v.body["intact"], json!(true));
    assert_eq!(v.body["tenant_id"], json!(t.id.to_string()));
    // Created, invited, accepted, toggled.
    assert_eq!(v.body["events"], json!(4));
    assert_eq!(v.body["head"]["tenant_seq"], json!(4));
    assert_eq!(v.body["head"]["position"], json!(toggled.position()));
    assert_eq!(v.body["verified_through"], v.body["head"]);
    assert_eq!(v.body["problem"], json!(null));
    // This harness runs no checkpoint publisher.
    assert_eq!(v.body["checkpoint"], json!(null));
    let audit = h
        .get(&format!("/v1/tenants/{}/audit", t.id), &owner)
        .await
        .expect(StatusCode::OK);
    let last = audit.body["entries"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(v.body["head"]["hash"], last["hash"]);

    // A member without the team permission, another tenant's admin and nobody.
    let ada_token = h.jwt(t.id, ada, None, false);
    h.get(&format!("/v1/tenants/{}/verify", t.id), &ada_token)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let other = h.tenant(json!("jethub")).await;
    let other_owner = h.jwt(other.id, other.owner, None, false);
    let refused = h
        .get(&format!("/v1/tenants/{}/verify", t.id), &other_owner)
        .await;
    assert!(refused.status.is_client_error(), "{:#?}", refused.body);
    h.get(&format!("/v1/tenants/{}/verify", t.id), "")
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    h.get("/v1/tenants/not-a-tenant/verify", OPERATOR)
        .await
        .expect(StatusCode::BAD_REQUEST);
    h.get(
        "/v1/tenants/00000000-0000-0000-0000-000000000000/verify",
        OPERATOR,
    )
    .await
    .problem(StatusCode::NOT_FOUND, "not-found");
}

/// A log whose reads show one event altered once the test says so (as if someone
/// edited the stored event); the command side and the projector saw it intact.
struct TamperedLog {
    inner: Arc<dyn EventLog>,
    /// The tenant_seq whose reads are altered; 0: none.
    alter_seq: Arc<AtomicU64>,
}

impl TamperedLog {
    fn altered(&self, stream: EventStream) -> EventStream {
        let alter = self.alter_seq.clone();
        stream
            .map_ok(move |raw| {
                let seq = alter.load(Ordering::SeqCst);
                if seq != 0 && raw.tenant_seq == seq {
                    RawEnvelope {
                        reason: Some("nothing happened here".to_owned()),
                        ..raw
                    }
                } else {
                    raw
                }
            })
            .boxed()
    }
}

#[async_trait]
impl EventLog for TamperedLog {
    async fn append(
        &self,
        tenant: TenantId,
        expected: u64,
        event: &RawEnvelope,
    ) -> Result<Appended, LogError> {
        self.inner.append(tenant, expected, event).await
    }
    async fn read(&self, from: u64) -> Result<EventStream, LogError> {
        Ok(self.altered(self.inner.read(from).await?))
    }
    async fn read_tenant(&self, tenant: TenantId, from: u64) -> Result<EventStream, LogError> {
        Ok(self.altered(self.inner.read_tenant(tenant, from).await?))
    }
    async fn subscribe(&self, from: u64) -> Result<EventStream, LogError> {
        self.inner.subscribe(from).await
    }
    async fn head(&self) -> Result<u64, LogError> {
        self.inner.head().await
    }
    async fn tenant_head(&self, tenant: TenantId) -> Result<u64, LogError> {
        self.inner.tenant_head(tenant).await
    }
}

#[tokio::test]
async fn an_altered_event_is_named_and_the_chain_verifies_only_up_to_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedLog::open(&dir.path().join("log")).unwrap();
    let alter_seq = Arc::new(AtomicU64::new(0));
    let log = TamperedLog {
        inner: Arc::new(embedded),
        alter_seq: alter_seq.clone(),
    };
    let h = Harness::over(Arc::new(log), dir);
    let t = h.tenant(json!("jtek")).await;
    let _ada = h.member(t.id, "ada@example.com", &["user"]).await;
    let _bob = h.member(t.id, "bob@example.com", &["user"]).await;
    let path = format!("/v1/tenants/{}/verify", t.id);
    let intact = h.get(&path, OPERATOR).await.expect(StatusCode::OK);
    assert_eq!(intact.body["intact"], json!(true));
    assert_eq!(intact.body["events"], json!(5));

    // Ada's acceptance (event 3) now reads differently from what was hashed.
    alter_seq.store(3, Ordering::SeqCst);
    let broken = h.get(&path, OPERATOR).await.expect(StatusCode::OK);
    assert_eq!(broken.body["intact"], json!(false));
    assert_eq!(broken.body["events"], json!(5));
    assert_eq!(broken.body["verified_through"]["tenant_seq"], json!(2));
    assert_eq!(broken.body["head"]["tenant_seq"], json!(5));
    let problem = broken.body["problem"].as_str().expect("a problem");
    assert!(
        problem.contains("event 3") && problem.contains("altered"),
        "{problem}"
    );
}
