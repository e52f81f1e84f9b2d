//! Tenant-wide commands: creating a tenant, redefining its catalog, changing its plan.

use std::collections::BTreeSet;

use rollcall_events::catalog::CatalogDoc;
use rollcall_events::{Actor, CatalogDefined, Event, PlanChanged, RoleKey, TenantCreated, UserId};

use crate::catalog::Catalog;
use crate::limits;
use crate::team::evolve::apply;
use crate::team::{Context, DomainError, Team};

use super::{Decider, Decision, fold_meta, valid_email};

#[allow(clippy::too_many_arguments)]
pub(super) fn create_tenant(
    team: &Team,
    ctx: &Context,
    name: &str,
    catalog: &CatalogDoc,
    plan: Option<&str>,
    owner_id: UserId,
    owner_email: &str,
    owner_display_name: &str,
) -> Decision {
    if let Some(tenant_id) = team.tenant_id {
        return Err(DomainError::TenantExists { tenant_id });
    }
    if ctx.actor != Actor::Operator {
        return Err(DomainError::OperatorOnly {
            action: "create a tenant",
        });
    }
    let name = limits::text(name, "name", limits::MAX_TENANT_NAME_CHARS)?;
    let compiled = Catalog::compile(catalog.clone())?;
    let plan = plan.unwrap_or(&compiled.doc().default_plan);
    if compiled.plan(plan).is_none() {
        return Err(DomainError::UnknownPlan {
            plan: plan.to_owned(),
        });
    }
    let event = Event::TenantCreated(TenantCreated {
        name,
        catalog: catalog.clone(),
        plan: plan.to_owned(),
        owner_id,
        owner_email: valid_email(owner_email)?,
        owner_display_name: limits::text(
            owner_display_name,
            "display name",
            limits::MAX_NAME_CHARS,
        )?,
        owner_roles: compiled.doc().owner_roles.clone(),
    });
    // The owner must come out an admin; a catalog whose team permission has an
    // unmet prerequisite would otherwise create a tenant nobody can manage.
    let next = apply(Team::default(), &event, &fold_meta(team, ctx));
    if next.active_admins().is_empty() {
        return Err(DomainError::LastActiveAdmin { admins: Vec::new() });
    }
    Ok(event)
}

impl Decider<'_> {
    pub(super) fn define_catalog(&self, doc: &CatalogDoc) -> Decision {
        let compiled = Catalog::compile(doc.clone())?;
        if compiled.key() != self.catalog.key() {
            return Err(DomainError::CatalogKeyChanged {
                from: self.catalog.key().to_owned(),
                to: compiled.key().to_owned(),
            });
        }
        if doc == self.catalog.doc() {
            return Err(DomainError::Unchanged { what: "catalog" });
        }
        if compiled.plan(&self.team.plan).is_none() {
            return Err(DomainError::UnknownPlan {
                plan: self.team.plan.clone(),
            });
        }
        let builtins: BTreeSet<&RoleKey> = doc.roles.iter().map(|r| &r.key).collect();
        for role in self.team.roles.values().filter(|r| !r.builtin) {
            if builtins.contains(&role.key) {
                return Err(DomainError::RoleExists {
                    role: role.key.clone(),
                });
            }
            for g in &role.grants {
                compiled.expand(g)?;
            }
        }
        for role in self.team.roles.values().filter(|r| r.builtin) {
            if builtins.contains(&role.key) {
                continue;
            }
            let members = self.holders(&role.key);
            if members > 0 {
                return Err(DomainError::RoleInUse {
                    role: role.key.clone(),
                    members,
                });
            }
        }
        Ok(Event::CatalogDefined(CatalogDefined {
            version: self.team.catalog_version + 1,
            catalog: doc.clone(),
        }))
    }

    pub(super) fn change_plan(&self, plan: &str) -> Decision {
        let Some(doc) = self.catalog.plan(plan) else {
            return Err(DomainError::UnknownPlan {
                plan: plan.to_owned(),
            });
        };
        if plan == self.team.plan {
            return Err(DomainError::Unchanged { what: "plan" });
        }
        if let Some(max) = doc.max_offices {
            let used = self.offices_in_use(None, &[]);
            if used > max as usize {
                return Err(DomainError::TooManyOffices {
                    plan: plan.to_owned(),
                    max,
                    requested: used,
                });
            }
        }
        Ok(Event::PlanChanged(PlanChanged {
            from: self.team.plan.clone(),
            to: plan.to_owned(),
        }))
    }
}
