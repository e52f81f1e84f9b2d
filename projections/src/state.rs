//! The persisted form of each tenant's `Team` (so memory is rebuilt on open from
//! sled alone), and the views built from a member and its effective permissions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rollcall_aggregates::{Catalog, Effective, Member, MemberStatus, Role, Team, TeamParts};
use rollcall_events::catalog::CatalogDoc;
use rollcall_events::{GENESIS_HASH, RoleKey, TenantId, Toggle};

use crate::audit::AuditEntry;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::reduce::TenantState;
use crate::store::{Store, ViewTree, decode, prefix, tenant_key};
use crate::views::{CatalogView, EffectivePermission, MemberView, RoleView, UserView};

/// The Team's own fields, written with the tenant's first event and with every
/// catalog, plan or role event. The catalog, roles and members are stored under
/// their own keys; the chain head comes from the tenant's last audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TeamHeader {
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub catalog_version: u32,
    pub plan: String,
}

impl TeamHeader {
    pub fn of(team: &Team) -> TeamHeader {
        TeamHeader {
            tenant_id: team.tenant_id,
            name: team.name.clone(),
            catalog_version: team.catalog_version,
            plan: team.plan.clone(),
        }
    }
}

/// A member's record in `team_views.v1`: the view served to readers and the
/// aggregate state it was built from (for rebuilding memory on open).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredMember<M = Member> {
    pub view: MemberView,
    pub state: M,
}

/// Only the view, for readers: the state is skipped, not parsed.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StoredView {
    pub view: MemberView,
}

/// Rebuilds every tenant's state from `team_state.v1`.
pub(crate) fn load_all(
    store: &Store,
) -> Result<HashMap<TenantId, Arc<TenantState>>, ProjectionError> {
    let mut tenants = HashMap::new();
    for kv in store.scan(ViewTree::TeamState, &[prefix::HEADER]) {
        let (key, value) = kv?;
        let header: TeamHeader = decode(ViewTree::TeamState, &key, &value)?;
        let Some(tenant) = key.get(1..17).and_then(|b| uuid::Uuid::from_slice(b).ok()) else {
            continue;
        };
        let tenant = TenantId(tenant);
        let catalog: Option<CatalogDoc> =
            store.get_json(ViewTree::TeamState, &tenant_key(prefix::CATALOG, tenant))?;
        let roles: BTreeMap<RoleKey, Role> = store
            .get_json(ViewTree::TeamState, &tenant_key(prefix::ROLES, tenant))?
            .unwrap_or_default();
        let members: Vec<StoredMember> =
            store.scan_json(ViewTree::TeamViews, &tenant_key(prefix::MEMBER, tenant))?;
        let last: Option<AuditEntry> =
            match store.scan(ViewTree::Audit, tenant.0.as_bytes()).next_back() {
                Some(kv) => {
                    let (k, v) = kv?;
                    Some(decode(ViewTree::Audit, &k, &v)?)
                }
                None => None,
            };
        let team = Team::from(TeamParts {
            tenant_id: header.tenant_id,
            name: header.name,
            catalog: catalog.map(|doc| Arc::new(Catalog::index(doc))),
            catalog_version: header.catalog_version,
            plan: header.plan,
            roles,
            members: members
                .into_iter()
                .map(|m| (m.state.user_id, m.state))
                .collect(),
            tenant_seq: last.as_ref().map_or(0, |e| e.tenant_seq),
            head_hash: last
                .as_ref()
                .map_or_else(|| GENESIS_HASH.to_owned(), |e| e.hash.clone()),
            position: last.as_ref().map_or(0, |e| e.position),
        });
        tenants.insert(tenant, Arc::new(TenantState::resolve(Arc::new(team))));
    }
    Ok(tenants)
}

pub(crate) fn user_view(member: &Member) -> UserView {
    UserView {
        user_id: member.user_id,
        email: member.email.clone(),
        display_name: member.profile.display_name.clone(),
        status: member.status,
        kind: member.kind,
        roles: member.roles.clone(),
        invitation_id: member.invitation.as_ref().map(|i| i.id),
        invited_at: member.invited_at,
        invitation_expires_at: member
            .invitation
            .as_ref()
            .filter(|_| member.status == MemberStatus::Invited)
            .map(|i| i.expires_at),
        accepted_at: member.accepted_at,
        last_login_at: member.last_login_at,
        deactivated_at: member.deactivated_at,
    }
}

pub(crate) fn member_view(member: &Member, effective: Option<&Effective>) -> MemberView {
    MemberView {
        user: user_view(member),
        overrides: member
            .overrides
            .iter()
            .filter(|(_, o)| o.state != Toggle::Inherit)
            .map(|(p, o)| (p.clone(), o.state))
            .collect(),
        scopes: effective.map(|e| e.scopes.clone()).unwrap_or_default(),
        offices: member.offices.clone(),
        networks: member.networks.clone(),
        must_change_password: member.profile.must_change_password,
        links: member.profile.links.clone(),
        reassign_to: member.reassign_to,
        effective: effective
            .map(|e| {
                e.permissions
                    .iter()
                    .map(|(p, sources)| EffectivePermission {
                        permission: p.clone(),
                        sources: sources.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The catalog page: `None` before the tenant has a catalog.
pub(crate) fn catalog_view(team: &Team) -> Option<CatalogView> {
    let catalog = team.catalog()?;
    Some(CatalogView {
        catalog: catalog.doc().clone(),
        version: team.catalog_version,
        plan: team.plan.clone(),
        roles: team
            .roles
            .values()
            .map(|r| RoleView {
                key: r.key.clone(),
                label: r.label.clone(),
                description: r.description.clone(),
                grants: r.grants.clone(),
                except: r.except.clone(),
                builtin: r.builtin,
            })
            .collect(),
    })
}
