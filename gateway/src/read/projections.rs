//! The read model backed by `rollcall-projections`: sled views folded by the
//! projector, and the check served from its memory. This file only maps the
//! projections' views into the HTTP contract's shapes.

use std::time::Duration;

use async_trait::async_trait;
use rollcall_aggregates::{CheckOutcome, CheckRequest, MemberStatus};
use rollcall_events::{TenantId, UserId};
use rollcall_projections::{ProjectionError, Projections};

use crate::read::{ReadError, ReadModel};
use crate::views::{
    AuditPage, AuditQuery, CatalogAnswer, Membership, PlatformsAnswer, UserDetail, UserList,
    UserSummary,
};

pub struct ProjectionsRead {
    projections: Projections,
}

impl ProjectionsRead {
    pub fn new(projections: Projections) -> ProjectionsRead {
        ProjectionsRead { projections }
    }

    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    fn known(&self, tenant: TenantId) -> bool {
        self.projections
            .team(tenant)
            .is_some_and(|t| t.tenant_id.is_some())
    }
}

fn read_error(e: ProjectionError) -> ReadError {
    match e {
        ProjectionError::InvalidLimit { .. } | ProjectionError::InvalidCursor { .. } => {
            ReadError::Invalid(e.to_string())
        }
        ProjectionError::Log(rollcall_events::LogError::Unavailable(m)) => {
            ReadError::Unavailable(m)
        }
        other => ReadError::Store(other.to_string()),
    }
}

#[async_trait]
impl ReadModel for ProjectionsRead {
    fn position(&self) -> u64 {
        self.projections.position()
    }

    fn caught_up(&self) -> bool {
        self.projections.caught_up()
    }

    fn quarantined(&self) -> u64 {
        self.projections.quarantined().len() as u64
    }

    async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        self.projections.wait_for(position, timeout).await.is_ok()
    }

    async fn users(
        &self,
        tenant: TenantId,
        status: Option<MemberStatus>,
    ) -> Result<Option<UserList>, ReadError> {
        if !self.known(tenant) {
            return Ok(None);
        }
        let users = self
            .projections
            .users(tenant, status)
            .into_iter()
            .map(UserSummary::from)
            .collect();
        Ok(Some(UserList { users }))
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<Option<UserDetail>, ReadError> {
        Ok(self.projections.user(tenant, user).map(UserDetail::from))
    }

    async fn catalog(&self, tenant: TenantId) -> Result<Option<CatalogAnswer>, ReadError> {
        Ok(self.projections.catalog(tenant).map(CatalogAnswer::from))
    }

    async fn platforms(&self, tenant: TenantId) -> Result<Option<PlatformsAnswer>, ReadError> {
        if !self.known(tenant) {
            return Ok(None);
        }
        Ok(Some(PlatformsAnswer {
            platforms: self.projections.platforms(tenant),
        }))
    }

    async fn check(
        &self,
        tenant: TenantId,
        request: &CheckRequest,
    ) -> Result<Option<CheckOutcome>, ReadError> {
        if !self.known(tenant) {
            return Ok(None);
        }
        Ok(Some(self.projections.check(tenant, request)))
    }

    async fn audit(
        &self,
        tenant: TenantId,
        query: &AuditQuery,
    ) -> Result<Option<AuditPage>, ReadError> {
        if !self.known(tenant) {
            return Ok(None);
        }
        let q = rollcall_projections::AuditQuery {
            user: query.user,
            actor: query.actor,
            event_type: query.event_type.clone(),
            from: query.from,
            to: query.to,
            cursor: query.cursor.clone(),
            limit: query.limit,
        };
        let page = self.projections.audit(tenant, &q).map_err(read_error)?;
        // The projections' audit entry is already the contract's shape; it passes
        // through serde so the gateway's schema type stays the one documented.
        let value = serde_json::to_value(page).map_err(|e| ReadError::Store(e.to_string()))?;
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| ReadError::Store(e.to_string()))
    }

    async fn memberships(&self, email: &str) -> Result<Vec<Membership>, ReadError> {
        Ok(self
            .projections
            .tenants()
            .into_iter()
            .filter_map(|tenant| {
                let team = self.projections.team(tenant)?;
                let member = team.member_by_email(email)?;
                Some(Membership {
                    tenant_id: tenant,
                    tenant_name: team.name.clone(),
                    user_id: member.user_id,
                    display_name: member.profile.display_name.clone(),
                    status: member.status.as_str().to_owned(),
                })
            })
            .collect())
    }
}
