//! A read model kept in memory, folded from the log by a background task with the
//! domain core's own `evolve`, `effective` and `check`.
//!
//! It serves the gateway when no persistent projections are wired in (tests, a
//! laptop run) and is the reference the persistent projections must agree with.
//! It holds every tenant's Team and audit trail, so it is meant for modest logs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use rollcall_aggregates::{CheckOutcome, CheckRequest, MemberStatus, Team, check, evolve};
use rollcall_events::{Envelope, EventLog, TenantId, UserId};
use serde_json::Value;
use tokio::sync::watch;

use crate::read::{ReadError, ReadModel};
use crate::views::{
    AuditEntry, AuditPage, AuditQuery, CatalogView, UserDetail, UserList, UserSummary,
};

#[derive(Default)]
struct TenantView {
    team: Team,
    audit: Vec<AuditEntry>,
}

pub struct MemoryReadModel {
    tenants: RwLock<HashMap<TenantId, TenantView>>,
    position: watch::Sender<u64>,
}

impl MemoryReadModel {
    /// Starts following the log from its beginning.
    pub fn spawn(log: Arc<dyn EventLog>) -> Arc<MemoryReadModel> {
        let model = Arc::new(MemoryReadModel {
            tenants: RwLock::new(HashMap::new()),
            position: watch::channel(0).0,
        });
        let weak = Arc::downgrade(&model);
        tokio::spawn(async move {
            let mut next = 1;
            loop {
                match log.subscribe(next).await {
                    Ok(mut stream) => {
                        while let Some(item) = stream.next().await {
                            let Some(model) = weak.upgrade() else { return };
                            match item {
                                Ok(raw) => {
                                    next = raw.position + 1;
                                    match raw.decode() {
                                        Ok(envelope) => model.apply(&envelope),
                                        Err(e) => tracing::warn!(
                                            position = raw.position,
                                            error = %e,
                                            "skipping an event this build cannot decode"
                                        ),
                                    }
                                    model.position.send_replace(raw.position);
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "log subscription failed");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot subscribe to the log"),
                }
                if weak.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        model
    }

    fn apply(&self, envelope: &Envelope) {
        let mut tenants = self.tenants.write().unwrap_or_else(|p| p.into_inner());
        let view = tenants.entry(envelope.tenant_id).or_default();
        if envelope.tenant_seq <= view.team.tenant_seq {
            return;
        }
        view.audit.push(audit_entry(envelope));
        let team = std::mem::take(&mut view.team);
        view.team = evolve(team, envelope);
        metrics::gauge!("rollcall_projection_position").set(envelope.position as f64);
    }

    fn with_team<T>(&self, tenant: TenantId, f: impl FnOnce(&TenantView) -> T) -> Option<T> {
        let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
        tenants
            .get(&tenant)
            .filter(|v| v.team.tenant_id.is_some())
            .map(f)
    }
}

/// Before and after as the event tells them: `from`/`to` where a value changed,
/// `was` for a deletion, the event's data otherwise. Nonces are left out: the
/// trail is read by people who must not be able to accept an invitation.
fn audit_entry(envelope: &Envelope) -> AuditEntry {
    let data = match serde_json::to_value(&envelope.event) {
        Ok(Value::Object(mut map)) => map.remove("data").unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let (before, after) = match &data {
        Value::Object(map) if map.contains_key("from") || map.contains_key("to") => (
            map.get("from").cloned().unwrap_or(Value::Null),
            map.get("to").cloned().unwrap_or(Value::Null),
        ),
        Value::Object(map) if map.contains_key("was") => {
            (map.get("was").cloned().unwrap_or(Value::Null), Value::Null)
        }
        Value::Object(map) => {
            let mut after = map.clone();
            after.remove("nonce");
            (Value::Null, Value::Object(after))
        }
        other => (Value::Null, other.clone()),
    };
    AuditEntry {
        position: envelope.position,
        tenant_seq: envelope.tenant_seq,
        event_type: envelope.type_name().to_owned(),
        event_id: envelope.event_id,
        actor: envelope.actor,
        target: envelope.target(),
        occurred_at: envelope.occurred_at,
        reason: envelope.reason.clone(),
        before,
        after,
        hash: envelope.hash.clone(),
    }
}

#[async_trait]
impl ReadModel for MemoryReadModel {
    fn position(&self) -> u64 {
        *self.position.borrow()
    }

    async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        matches!(reached, Ok(Ok(_)))
    }

    async fn users(
        &self,
        tenant: TenantId,
        status: Option<MemberStatus>,
    ) -> Result<Option<UserList>, ReadError> {
        Ok(self.with_team(tenant, |v| UserList {
            users: v
                .team
                .members
                .values()
                .filter(|m| status.is_none_or(|s| m.status == s))
                .map(UserSummary::of)
                .collect(),
        }))
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserDetail>, ReadError> {
        Ok(self
            .with_team(tenant, |v| {
                v.team.member(user).map(|m| UserDetail::of(&v.team, m))
            })
            .flatten())
    }

    async fn catalog(&self, tenant: TenantId) -> Result<Option<CatalogView>, ReadError> {
        Ok(self
            .with_team(tenant, |v| {
                v.team.catalog().map(|c| CatalogView {
                    catalog: c.doc().clone(),
                    version: v.team.catalog_version,
                    plan: v.team.plan.clone(),
                })
            })
            .flatten())
    }

    async fn check(
        &self,
        tenant: TenantId,
        request: &CheckRequest,
    ) -> Result<Option<CheckOutcome>, ReadError> {
        Ok(self.with_team(tenant, |v| check(&v.team, request)))
    }

    async fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Option<AuditPage>, ReadError> {
        Ok(self.with_team(tenant, |v| {
            let limit = query.limit.max(1);
            let mut matching = v.audit.iter().filter(|e| {
                query.after.is_none_or(|a| e.position > a)
                    && query.user.is_none_or(|u| e.target == Some(u))
                    && query.actor.is_none_or(|a| e.actor == a)
                    && query
                        .event_type
                        .as_deref()
                        .is_none_or(|t| e.event_type == t)
                    && query.from.is_none_or(|f| e.occurred_at >= f)
                    && query.to.is_none_or(|t| e.occurred_at < t)
            });
            let entries: Vec<AuditEntry> = matching.by_ref().take(limit).cloned().collect();
            let more = matching.next().is_some();
            AuditPage {
                next_cursor: entries
                    .last()
                    .filter(|_| more)
                    .map(|e| e.position.to_string()),
                entries,
            }
        }))
    }
}
