//! The compiled catalog: a [`CatalogDoc`] that has been validated once, with the
//! indexes every decision and every permission check needs (all concrete
//! permissions, view actions, prerequisites, areas and plans by key).
//!
//! Compiling validates everything a decision later relies on, so the decider and
//! the resolver never meet a dangling reference and never need to fail on one.

use std::collections::{BTreeMap, BTreeSet};

use rollcall_events::catalog::{AreaDoc, CatalogDoc, PlanDoc, Scope};
use rollcall_events::{Permission, RoleKey};
use thiserror::Error;

use crate::team::DomainError;

/// A validated, indexed catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    doc: CatalogDoc,
    permissions: BTreeSet<Permission>,
    views: BTreeSet<Permission>,
    areas: BTreeMap<String, usize>,
    plans: BTreeMap<String, usize>,
}

/// Why a catalog document was refused; each names the offending keys.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error("catalog key `{key}` is not a valid key (lower-case letters, digits, `_` or `-`)")]
    InvalidKey { key: String },
    #[error("catalog has no areas")]
    NoAreas,
    #[error("area key `{area}` is not a valid key (lower-case letters, digits, `_` or `-`)")]
    InvalidAreaKey { area: String },
    #[error("area `{area}` is defined twice")]
    DuplicateArea { area: String },
    #[error("area `{area}` has no actions")]
    NoActions { area: String },
    #[error("action `{action}` of area `{area}` is not a valid key")]
    InvalidActionKey { area: String, action: String },
    #[error("action `{action}` is defined twice in area `{area}`")]
    DuplicateAction { area: String, action: String },
    #[error("area `{area}` is scoped but offers no scope")]
    NoScopeOptions { area: String },
    #[error("area `{area}` defaults to scope `{scope}`, which it does not offer")]
    ScopeDefaultNotOffered { area: String, scope: &'static str },
    #[error("area `{area}` lifts scope `{scope}` by unknown permission `{permission}`")]
    UnknownLiftingPermission {
        area: String,
        scope: &'static str,
        permission: Permission,
    },
    #[error("prerequisite rule names unknown permission `{permission}`")]
    UnknownRequiringPermission { permission: Permission },
    #[error("permission `{permission}` requires unknown permission `{requires}`")]
    UnknownPrerequisite {
        permission: Permission,
        requires: Permission,
    },
    #[error("permission `{permission}` requires itself, directly or through others")]
    PrerequisiteCycle { permission: Permission },
    #[error("role key `{role}` is not a valid key")]
    InvalidRoleKey { role: RoleKey },
    #[error("role `{role}` is defined twice")]
    DuplicateRole { role: RoleKey },
    #[error("role `{role}` grants unknown permission `{permission}`")]
    RoleGrantsUnknown {
        role: RoleKey,
        permission: Permission,
    },
    #[error("role `{role}` excepts unknown permission `{permission}`")]
    RoleExceptsUnknown {
        role: RoleKey,
        permission: Permission,
    },
    #[error("default role `{role}` is not defined")]
    UnknownDefaultRole { role: RoleKey },
    #[error("the owner receives no role")]
    NoOwnerRoles,
    #[error("owner role `{role}` is not defined")]
    UnknownOwnerRole { role: RoleKey },
    #[error("the catalog allows one role per member but gives the owner {count}")]
    OwnerRolesExceedSingleRole { count: usize },
    #[error("team permission `{permission}` is not a permission of the catalog")]
    UnknownTeamPermission { permission: Permission },
    #[error("the owner's roles do not grant the team permission `{permission}`")]
    OwnerLacksTeamPermission { permission: Permission },
    #[error("catalog has no plans")]
    NoPlans,
    #[error("plan key `{plan}` is not a valid key")]
    InvalidPlanKey { plan: String },
    #[error("plan `{plan}` is defined twice")]
    DuplicatePlan { plan: String },
    #[error("default plan `{plan}` is not defined")]
    UnknownDefaultPlan { plan: String },
    #[error("plan `{plan}` turns on unknown permission `{permission}`")]
    PlanAlwaysOnUnknown {
        plan: String,
        permission: Permission,
    },
    #[error("plan `{plan}` withholds unknown permission `{permission}`")]
    PlanUnavailableUnknown {
        plan: String,
        permission: Permission,
    },
    #[error("plan `{plan}` both turns on and withholds `{permission}`")]
    PlanAlwaysOnUnavailable {
        plan: String,
        permission: Permission,
    },
    #[error("plan `{plan}` withholds the team permission `{permission}`")]
    PlanWithholdsTeamPermission {
        plan: String,
        permission: Permission,
    },
    #[error("invitations must be valid for at least one hour")]
    ZeroInviteTtl,
    #[error("profile link `{link}` is not a valid key or is listed twice")]
    InvalidProfileLink { link: String },
}

/// Keys are short, lower-case identifiers so they read the same in URLs, JSON and logs.
pub(crate) fn valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Catalog {
    /// Validates the document and builds its indexes.
    pub fn compile(doc: CatalogDoc) -> Result<Catalog, CatalogError> {
        validate_structure(&doc)?;
        let catalog = Catalog::index(doc);
        catalog.validate_references()?;
        Ok(catalog)
    }

    /// Builds the indexes without validating. `evolve` uses this for catalogs that
    /// are already in the log: an event is a fact, so folding it must not fail, and
    /// every lookup below tolerates dangling references.
    pub fn index(doc: CatalogDoc) -> Catalog {
        let mut permissions = BTreeSet::new();
        let mut views = BTreeSet::new();
        let mut areas = BTreeMap::new();
        for (i, area) in doc.areas.iter().enumerate() {
            areas.entry(area.key.clone()).or_insert(i);
            for action in &area.actions {
                let p = Permission::new(format!("{}.{}", area.key, action.key));
                if doc.view_actions.contains(&action.key) {
                    views.insert(p.clone());
                }
                permissions.insert(p);
            }
        }
        let plans = doc
            .plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.clone(), i))
            .rev()
            .collect();
        Catalog {
            doc,
            permissions,
            views,
            areas,
            plans,
        }
    }

    fn validate_references(&self) -> Result<(), CatalogError> {
        let doc = &self.doc;
        for area in &doc.areas {
            let Some(scope) = &area.scope else { continue };
            for (s, permission) in &scope.lifted_by {
                if !self.has_permission(permission) {
                    return Err(CatalogError::UnknownLiftingPermission {
                        area: area.key.clone(),
                        scope: s.as_str(),
                        permission: permission.clone(),
                    });
                }
            }
        }
        for (permission, requires) in &doc.requires {
            if !self.has_permission(permission) {
                return Err(CatalogError::UnknownRequiringPermission {
                    permission: permission.clone(),
                });
            }
            for r in requires {
                if !self.has_permission(r) {
                    return Err(CatalogError::UnknownPrerequisite {
                        permission: permission.clone(),
                        requires: r.clone(),
                    });
                }
            }
        }
        self.check_prerequisite_cycles()?;
        let mut roles = BTreeSet::new();
        for role in &doc.roles {
            if !valid_key(role.key.as_str()) {
                return Err(CatalogError::InvalidRoleKey {
                    role: role.key.clone(),
                });
            }
            if !roles.insert(role.key.clone()) {
                return Err(CatalogError::DuplicateRole {
                    role: role.key.clone(),
                });
            }
            for g in &role.grants {
                if self.expand(g).is_err() {
                    return Err(CatalogError::RoleGrantsUnknown {
                        role: role.key.clone(),
                        permission: g.clone(),
                    });
                }
            }
            for e in &role.except {
                if self.expand(e).is_err() {
                    return Err(CatalogError::RoleExceptsUnknown {
                        role: role.key.clone(),
                        permission: e.clone(),
                    });
                }
            }
        }
        if let Some(role) = &doc.default_role
            && !roles.contains(role)
        {
            return Err(CatalogError::UnknownDefaultRole { role: role.clone() });
        }
        if doc.owner_roles.is_empty() {
            return Err(CatalogError::NoOwnerRoles);
        }
        if !doc.multi_role && doc.owner_roles.len() > 1 {
            return Err(CatalogError::OwnerRolesExceedSingleRole {
                count: doc.owner_roles.len(),
            });
        }
        for role in &doc.owner_roles {
            if !roles.contains(role) {
                return Err(CatalogError::UnknownOwnerRole { role: role.clone() });
            }
        }
        let team = &doc.team_permission;
        if !self.has_permission(team) {
            return Err(CatalogError::UnknownTeamPermission {
                permission: team.clone(),
            });
        }
        let owner_grants: BTreeSet<Permission> = doc
            .roles
            .iter()
            .filter(|r| doc.owner_roles.contains(&r.key))
            .flat_map(|r| self.role_permissions(&r.grants, &r.except))
            .collect();
        if !owner_grants.contains(team) {
            return Err(CatalogError::OwnerLacksTeamPermission {
                permission: team.clone(),
            });
        }
        if doc.plans.is_empty() {
            return Err(CatalogError::NoPlans);
        }
        let mut plans = BTreeSet::new();
        for plan in &doc.plans {
            if !valid_key(&plan.key) {
                return Err(CatalogError::InvalidPlanKey {
                    plan: plan.key.clone(),
                });
            }
            if !plans.insert(plan.key.clone()) {
                return Err(CatalogError::DuplicatePlan {
                    plan: plan.key.clone(),
                });
            }
            for p in &plan.always_on {
                if self.expand(p).is_err() {
                    return Err(CatalogError::PlanAlwaysOnUnknown {
                        plan: plan.key.clone(),
                        permission: p.clone(),
                    });
                }
            }
            for p in &plan.unavailable {
                if self.expand(p).is_err() {
                    return Err(CatalogError::PlanUnavailableUnknown {
                        plan: plan.key.clone(),
                        permission: p.clone(),
                    });
                }
            }
            let unavailable = self.unavailable(&plan.key);
            if let Some(p) = self.always_on(&plan.key).intersection(&unavailable).next() {
                return Err(CatalogError::PlanAlwaysOnUnavailable {
                    plan: plan.key.clone(),
                    permission: p.clone(),
                });
            }
            if unavailable.contains(team) {
                return Err(CatalogError::PlanWithholdsTeamPermission {
                    plan: plan.key.clone(),
                    permission: team.clone(),
                });
            }
        }
        if !plans.contains(&doc.default_plan) {
            return Err(CatalogError::UnknownDefaultPlan {
                plan: doc.default_plan.clone(),
            });
        }
        Ok(())
    }

    /// Depth-first search over the prerequisite graph; a permission met again on
    /// the current path closes a cycle, which would make it impossible to hold.
    fn check_prerequisite_cycles(&self) -> Result<(), CatalogError> {
        fn visit<'a>(
            c: &'a Catalog,
            p: &'a Permission,
            path: &mut Vec<&'a Permission>,
            done: &mut BTreeSet<&'a Permission>,
        ) -> Result<(), CatalogError> {
            if done.contains(p) {
                return Ok(());
            }
            if path.contains(&p) {
                return Err(CatalogError::PrerequisiteCycle {
                    permission: p.clone(),
                });
            }
            path.push(p);
            for r in c.requires(p) {
                visit(c, r, path, done)?;
            }
            path.pop();
            done.insert(p);
            Ok(())
        }
        let mut done = BTreeSet::new();
        for p in self.doc.requires.keys() {
            visit(self, p, &mut Vec::new(), &mut done)?;
        }
        Ok(())
    }

    pub fn doc(&self) -> &CatalogDoc {
        &self.doc
    }

    pub fn key(&self) -> &str {
        &self.doc.key
    }

    /// Every concrete `area.action`.
    pub fn permissions(&self) -> &BTreeSet<Permission> {
        &self.permissions
    }

    pub fn has_permission(&self, p: &Permission) -> bool {
        self.permissions.contains(p)
    }

    /// The concrete permissions a grant pattern stands for: `*`, `area.*`, or one
    /// concrete permission.
    pub fn expand(&self, pattern: &Permission) -> Result<BTreeSet<Permission>, DomainError> {
        let unknown = || DomainError::UnknownPermission {
            permission: pattern.clone(),
        };
        match pattern.as_str() {
            "*" => Ok(self.permissions.clone()),
            s => match s.split_once('.') {
                Some((area, "*")) => {
                    let area = self.area(area).ok_or_else(unknown)?;
                    Ok(area
                        .actions
                        .iter()
                        .map(|a| Permission::new(format!("{}.{}", area.key, a.key)))
                        .collect())
                }
                _ if self.has_permission(pattern) => Ok(BTreeSet::from([pattern.clone()])),
                _ => Err(unknown()),
            },
        }
    }

    /// Expands patterns, skipping unknown ones (they cannot occur in a compiled
    /// catalog's own data, but custom roles may outlive a redefinition).
    pub fn expand_lenient<'a>(
        &self,
        patterns: impl IntoIterator<Item = &'a Permission>,
    ) -> BTreeSet<Permission> {
        patterns
            .into_iter()
            .filter_map(|p| self.expand(p).ok())
            .flatten()
            .collect()
    }

    /// What a role's grants amount to: patterns expanded, exceptions removed.
    pub fn role_permissions(
        &self,
        grants: &[Permission],
        except: &[Permission],
    ) -> BTreeSet<Permission> {
        let excluded = self.expand_lenient(except);
        self.expand_lenient(grants)
            .into_iter()
            .filter(|p| !excluded.contains(p))
            .collect()
    }

    /// Permissions every active member holds on this plan.
    pub fn always_on(&self, plan: &str) -> BTreeSet<Permission> {
        self.plan(plan)
            .map(|p| self.expand_lenient(&p.always_on))
            .unwrap_or_default()
    }

    /// Permissions nobody may hold on this plan.
    pub fn unavailable(&self, plan: &str) -> BTreeSet<Permission> {
        self.plan(plan)
            .map(|p| self.expand_lenient(&p.unavailable))
            .unwrap_or_default()
    }

    /// Is the permission's action one of the catalog's view actions?
    pub fn is_view(&self, p: &Permission) -> bool {
        self.views.contains(p)
    }

    pub fn area(&self, key: &str) -> Option<&AreaDoc> {
        self.areas.get(key).and_then(|i| self.doc.areas.get(*i))
    }

    pub fn plan(&self, key: &str) -> Option<&PlanDoc> {
        self.plans.get(key).and_then(|i| self.doc.plans.get(*i))
    }

    /// Direct prerequisites of a permission (empty when it has none).
    pub fn requires(&self, p: &Permission) -> &[Permission] {
        self.doc.requires.get(p).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The area part of a permission (`contacts` of `contacts.view`).
    pub fn area_of(p: &Permission) -> &str {
        p.as_str().split_once('.').map_or(p.as_str(), |(a, _)| a)
    }

    /// Scoped areas with their scope documents.
    pub fn scoped_areas(
        &self,
    ) -> impl Iterator<Item = (&str, &rollcall_events::catalog::ScopeDoc)> {
        self.doc
            .areas
            .iter()
            .filter_map(|a| a.scope.as_ref().map(|s| (a.key.as_str(), s)))
    }

    /// The permission that lifts `scope` in some area (`offices.all` lifts `offices`).
    pub fn lifting_permission(&self, scope: Scope) -> Option<&Permission> {
        self.scoped_areas()
            .find_map(|(_, s)| s.lifted_by.get(&scope))
    }
}

/// Checks that need no index: keys, duplicates, and scope documents.
fn validate_structure(doc: &CatalogDoc) -> Result<(), CatalogError> {
    if !valid_key(&doc.key) {
        return Err(CatalogError::InvalidKey {
            key: doc.key.clone(),
        });
    }
    if doc.areas.is_empty() {
        return Err(CatalogError::NoAreas);
    }
    let mut areas = BTreeSet::new();
    for area in &doc.areas {
        if !valid_key(&area.key) {
            return Err(CatalogError::InvalidAreaKey {
                area: area.key.clone(),
            });
        }
        if !areas.insert(area.key.as_str()) {
            return Err(CatalogError::DuplicateArea {
                area: area.key.clone(),
            });
        }
        if area.actions.is_empty() {
            return Err(CatalogError::NoActions {
                area: area.key.clone(),
            });
        }
        let mut actions = BTreeSet::new();
        for action in &area.actions {
            if !valid_key(&action.key) {
                return Err(CatalogError::InvalidActionKey {
                    area: area.key.clone(),
                    action: action.key.clone(),
                });
            }
            if !actions.insert(action.key.as_str()) {
                return Err(CatalogError::DuplicateAction {
                    area: area.key.clone(),
                    action: action.key.clone(),
                });
            }
        }
        if let Some(scope) = &area.scope {
            if scope.options.is_empty() {
                return Err(CatalogError::NoScopeOptions {
                    area: area.key.clone(),
                });
            }
            if !scope.options.contains(&scope.default) {
                return Err(CatalogError::ScopeDefaultNotOffered {
                    area: area.key.clone(),
                    scope: scope.default.as_str(),
                });
            }
        }
    }
    if doc.invite_ttl_hours == 0 {
        return Err(CatalogError::ZeroInviteTtl);
    }
    let mut links = BTreeSet::new();
    for link in &doc.profile_links {
        if !valid_key(link) || !links.insert(link.as_str()) {
            return Err(CatalogError::InvalidProfileLink { link: link.clone() });
        }
    }
    Ok(())
}
