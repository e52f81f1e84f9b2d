//! The compiled catalog: a [`CatalogDoc`] that has been validated once, with the
//! indexes every decision and every permission check needs. Permissions are
//! interned: each has a [`PermId`], its index in the catalog's sorted list, and
//! roles, plans, areas and view actions are precomputed as [`PermSet`]s, so
//! resolving a member's access is a handful of bit operations.
//!
//! Compiling validates everything a decision later relies on (including every size
//! limit of [`crate::limits`]), so the decider and the resolver never meet a
//! dangling reference and never need to fail on one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rollcall_events::catalog::{AreaDoc, CatalogDoc, PlanDoc, Scope};
use rollcall_events::{Permission, RoleKey};
use smallvec::SmallVec;
use thiserror::Error;

use crate::access::{PermId, PermSet};
use crate::limits;
use crate::team::DomainError;

/// A validated, indexed catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    doc: CatalogDoc,
    permissions: BTreeSet<Permission>,
    /// Permission by id: the sorted list.
    names: Vec<Permission>,
    ids: HashMap<Permission, PermId>,
    views: PermSet,
    /// Area key → index in `doc.areas` (the first, should a key repeat).
    areas: HashMap<String, usize>,
    /// Each area's permissions, by index in `doc.areas`.
    area_sets: Vec<PermSet>,
    /// Each permission's area, by id.
    area_of: Vec<usize>,
    /// Each permission's direct prerequisites, by id.
    requires: Vec<SmallVec<[PermId; 4]>>,
    /// Every id, prerequisites before the permissions that require them, so one
    /// pass in this order drops everything whose prerequisites are missing.
    order: Vec<PermId>,
    /// Plan key → index in `doc.plans`.
    plans: HashMap<String, usize>,
    /// Each plan's always-on and unavailable permissions, by index in `doc.plans`.
    plan_sets: Vec<(PermSet, PermSet)>,
    all: PermSet,
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
    #[error("invitations may be valid for at most {max} hours")]
    InviteTtlTooLong { max: u32 },
    #[error("the catalog has more {what} than the limit of {max}")]
    TooMany { what: &'static str, max: usize },
    #[error("{what} is longer than the limit of {max} characters")]
    TooLong { what: String, max: usize },
    #[error("{what} holds control or bidirectional formatting characters")]
    InvalidText { what: String },
    #[error("billing permission `{permission}` is not a permission of the catalog")]
    UnknownBillingPermission { permission: Permission },
    #[error("profile link `{link}` is not a valid key or is listed twice")]
    InvalidProfileLink { link: String },
}

/// Keys are short, lower-case identifiers so they read the same in URLs, JSON and
/// logs (the OpenAPI document states the same rule as a pattern, held to this by a
/// test in the gateway).
pub fn valid_key(s: &str) -> bool {
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
        let mut areas = HashMap::new();
        let mut by_name: BTreeMap<Permission, (usize, bool)> = BTreeMap::new();
        for (i, area) in doc.areas.iter().enumerate() {
            areas.entry(area.key.clone()).or_insert(i);
            for action in &area.actions {
                let p = Permission::new(format!("{}.{}", area.key, action.key));
                let view = doc.view_actions.contains(&action.key);
                by_name.entry(p).or_insert((i, view));
            }
        }
        // Ids beyond `PermId` cannot be told apart; `compile` refuses such a size
        // long before, and an indexed catalog from the log was compiled once.
        let names: Vec<Permission> = by_name
            .keys()
            .take(usize::from(PermId::MAX))
            .cloned()
            .collect();
        let ids: HashMap<Permission, PermId> = names
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as PermId))
            .collect();
        let mut views = PermSet::new();
        let mut area_sets = vec![PermSet::new(); doc.areas.len()];
        let mut area_of = Vec::with_capacity(names.len());
        for (id, p) in names.iter().enumerate() {
            let (area, view) = by_name[p];
            if view {
                views.insert(id as PermId);
            }
            area_sets[area].insert(id as PermId);
            area_of.push(area);
        }
        let requires: Vec<SmallVec<[PermId; 4]>> = names
            .iter()
            .map(|p| {
                doc.requires
                    .get(p)
                    .map(|rs| rs.iter().filter_map(|r| ids.get(r).copied()).collect())
                    .unwrap_or_default()
            })
            .collect();
        let order = prerequisite_order(&requires);
        let plans: HashMap<String, usize> = doc
            .plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p.key.clone(), i))
            .rev()
            .collect();
        let mut catalog = Catalog {
            permissions: names.iter().cloned().collect(),
            all: PermSet::full(names.len()),
            names,
            ids,
            views,
            areas,
            area_sets,
            area_of,
            requires,
            order,
            plans,
            plan_sets: Vec::new(),
            doc,
        };
        catalog.plan_sets = catalog
            .doc
            .plans
            .iter()
            .map(|p| (catalog.set_of(&p.always_on), catalog.set_of(&p.unavailable)))
            .collect();
        catalog
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
        if let Some(billing) = &doc.billing_permission
            && !self.has_permission(billing)
        {
            return Err(CatalogError::UnknownBillingPermission {
                permission: billing.clone(),
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

    /// A cycle of prerequisites would make its permissions impossible to hold. In
    /// the prerequisites-first order every prerequisite comes before what needs
    /// it, except along an edge that closes a cycle: that edge's prerequisite is
    /// named. Linear in permissions plus edges.
    fn check_prerequisite_cycles(&self) -> Result<(), CatalogError> {
        let mut rank = vec![0usize; self.names.len()];
        for (i, id) in self.order.iter().enumerate() {
            rank[usize::from(*id)] = i;
        }
        for &id in &self.order {
            let id = usize::from(id);
            if let Some(r) = self.requires[id]
                .iter()
                .find(|r| rank[usize::from(**r)] >= rank[id])
            {
                return Err(CatalogError::PrerequisiteCycle {
                    permission: self.names[usize::from(*r)].clone(),
                });
            }
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
        self.ids.contains_key(p.as_str())
    }

    /// The id of a concrete permission.
    pub fn id(&self, p: &str) -> Option<PermId> {
        self.ids.get(p).copied()
    }

    /// The permission with this id.
    pub fn name(&self, id: PermId) -> Option<&Permission> {
        self.names.get(usize::from(id))
    }

    /// How many concrete permissions the catalog has.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names of the permissions in `set`, in order.
    pub fn names_of<'a>(&'a self, set: &'a PermSet) -> impl Iterator<Item = &'a Permission> + 'a {
        set.iter().filter_map(|id| self.name(id))
    }

    /// The ids a grant pattern stands for: `*`, `area.*`, or one concrete
    /// permission; `None` for a pattern the catalog does not know.
    pub fn pattern_set(&self, pattern: &str) -> Option<PermSet> {
        match pattern {
            "*" => Some(self.all.clone()),
            s => match s.split_once('.') {
                Some((area, "*")) => self
                    .areas
                    .get(area)
                    .and_then(|i| self.area_sets.get(*i))
                    .cloned(),
                _ => self.id(s).map(|id| [id].into_iter().collect()),
            },
        }
    }

    /// The concrete permissions a grant pattern stands for: `*`, `area.*`, or one
    /// concrete permission.
    pub fn expand(&self, pattern: &Permission) -> Result<BTreeSet<Permission>, DomainError> {
        let set =
            self.pattern_set(pattern.as_str())
                .ok_or_else(|| DomainError::UnknownPermission {
                    permission: pattern.clone(),
                })?;
        Ok(self.names_of(&set).cloned().collect())
    }

    /// The union of patterns, skipping unknown ones (they cannot occur in a
    /// compiled catalog's own data, but custom roles may outlive a redefinition).
    pub fn set_of<'a>(&self, patterns: impl IntoIterator<Item = &'a Permission>) -> PermSet {
        let mut set = PermSet::new();
        for p in patterns {
            if let Some(s) = self.pattern_set(p.as_str()) {
                set.union_with(&s);
            }
        }
        set
    }

    /// Expands patterns by name, skipping unknown ones.
    pub fn expand_lenient<'a>(
        &self,
        patterns: impl IntoIterator<Item = &'a Permission>,
    ) -> BTreeSet<Permission> {
        self.names_of(&self.set_of(patterns)).cloned().collect()
    }

    /// What a role's grants amount to: patterns expanded, exceptions removed.
    pub fn role_set(&self, grants: &[Permission], except: &[Permission]) -> PermSet {
        let mut set = self.set_of(grants);
        set.subtract(&self.set_of(except));
        set
    }

    /// [`role_set`](Self::role_set) by name.
    pub fn role_permissions(
        &self,
        grants: &[Permission],
        except: &[Permission],
    ) -> BTreeSet<Permission> {
        self.names_of(&self.role_set(grants, except))
            .cloned()
            .collect()
    }

    fn plan_sets(&self, plan: &str) -> Option<&(PermSet, PermSet)> {
        self.plans.get(plan).and_then(|i| self.plan_sets.get(*i))
    }

    /// Permissions every active member holds on this plan.
    pub fn always_on_set(&self, plan: &str) -> PermSet {
        self.plan_sets(plan)
            .map(|s| s.0.clone())
            .unwrap_or_default()
    }

    /// Permissions nobody may hold on this plan.
    pub fn unavailable_set(&self, plan: &str) -> PermSet {
        self.plan_sets(plan)
            .map(|s| s.1.clone())
            .unwrap_or_default()
    }

    /// [`always_on_set`](Self::always_on_set) by name.
    pub fn always_on(&self, plan: &str) -> BTreeSet<Permission> {
        self.names_of(&self.always_on_set(plan)).cloned().collect()
    }

    /// [`unavailable_set`](Self::unavailable_set) by name.
    pub fn unavailable(&self, plan: &str) -> BTreeSet<Permission> {
        self.names_of(&self.unavailable_set(plan))
            .cloned()
            .collect()
    }

    /// Is the permission's action one of the catalog's view actions?
    pub fn is_view(&self, p: &Permission) -> bool {
        self.id(p.as_str())
            .is_some_and(|id| self.views.contains(id))
    }

    /// The permissions whose action is a view action.
    pub fn views(&self) -> &PermSet {
        &self.views
    }

    pub fn area(&self, key: &str) -> Option<&AreaDoc> {
        self.areas.get(key).and_then(|i| self.doc.areas.get(*i))
    }

    /// The area (its index in the document) a permission belongs to.
    pub fn area_index(&self, id: PermId) -> Option<usize> {
        self.area_of.get(usize::from(id)).copied()
    }

    /// The index of an area in the document.
    pub fn area_position(&self, key: &str) -> Option<usize> {
        self.areas.get(key).copied()
    }

    pub fn plan(&self, key: &str) -> Option<&PlanDoc> {
        self.plans.get(key).and_then(|i| self.doc.plans.get(*i))
    }

    /// Direct prerequisites of a permission (empty when it has none).
    pub fn requires(&self, p: &Permission) -> &[Permission] {
        self.doc.requires.get(p).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Removes from `held` every permission whose prerequisites are not all held,
    /// directly or through others: one pass, prerequisites first.
    pub fn drop_unmet_prerequisites(&self, held: &mut PermSet) {
        for &id in &self.order {
            if held.contains(id)
                && self.requires[usize::from(id)]
                    .iter()
                    .any(|r| !held.contains(*r))
            {
                held.remove(id);
            }
        }
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

    /// The team permission's id.
    pub fn team_permission(&self) -> Option<PermId> {
        self.id(self.doc.team_permission.as_str())
    }

    /// The billing permission's id, when the catalog names one.
    pub fn billing_permission(&self) -> Option<PermId> {
        self.doc
            .billing_permission
            .as_ref()
            .and_then(|p| self.id(p.as_str()))
    }
}

/// An order of every id with each permission's prerequisites before it
/// (depth-first post-order; a cycle, which `compile` refuses, is cut where it
/// closes). Linear in permissions plus prerequisite edges.
fn prerequisite_order(requires: &[SmallVec<[PermId; 4]>]) -> Vec<PermId> {
    let n = requires.len();
    let mut order = Vec::with_capacity(n);
    // 0 unvisited, 1 on the path, 2 done.
    let mut state = vec![0u8; n];
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&r) = requires[node].get(*next) {
                *next += 1;
                let r = usize::from(r);
                if state[r] == 0 {
                    state[r] = 1;
                    stack.push((r, 0));
                }
            } else {
                state[node] = 2;
                order.push(node as PermId);
                stack.pop();
            }
        }
    }
    order
}

/// Checks that need no index: keys, duplicates, and scope documents.
fn validate_structure(doc: &CatalogDoc) -> Result<(), CatalogError> {
    validate_size(doc)?;
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
    if doc.invite_ttl_hours > limits::MAX_INVITE_TTL_HOURS {
        return Err(CatalogError::InviteTtlTooLong {
            max: limits::MAX_INVITE_TTL_HOURS,
        });
    }
    let mut links = BTreeSet::new();
    for link in &doc.profile_links {
        if !valid_key(link) || !links.insert(link.as_str()) {
            return Err(CatalogError::InvalidProfileLink { link: link.clone() });
        }
    }
    Ok(())
}

/// Every size limit, checked before anything is indexed, so that no later step
/// works on an unbounded document.
fn validate_size(doc: &CatalogDoc) -> Result<(), CatalogError> {
    use limits::*;
    let many = |len: usize, what: &'static str, max: usize| {
        if len > max {
            Err(CatalogError::TooMany { what, max })
        } else {
            Ok(())
        }
    };
    many(doc.areas.len(), "areas", MAX_CATALOG_AREAS)?;
    many(doc.roles.len(), "roles", MAX_CATALOG_ROLES)?;
    many(doc.plans.len(), "plans", MAX_CATALOG_PLANS)?;
    many(
        doc.requires.len(),
        "prerequisite rules",
        MAX_CATALOG_PERMISSIONS,
    )?;
    many(doc.view_actions.len(), "view actions", MAX_CATALOG_LIST)?;
    many(doc.profile_links.len(), "profile links", MAX_PROFILE_LINKS)?;
    many(doc.owner_roles.len(), "owner roles", MAX_ROLES_PER_MEMBER)?;
    let mut permissions = 0usize;
    for area in &doc.areas {
        many(area.actions.len(), "actions in one area", MAX_AREA_ACTIONS)?;
        permissions += area.actions.len();
    }
    many(permissions, "permissions", MAX_CATALOG_PERMISSIONS)?;
    for rs in doc.requires.values() {
        many(
            rs.len(),
            "prerequisites of one permission",
            MAX_PREREQUISITES,
        )?;
    }
    for role in &doc.roles {
        many(role.grants.len(), "grants in one role", MAX_CATALOG_LIST)?;
        many(
            role.except.len(),
            "exceptions in one role",
            MAX_CATALOG_LIST,
        )?;
    }
    for plan in &doc.plans {
        many(
            plan.always_on.len(),
            "always-on permissions in one plan",
            MAX_CATALOG_LIST,
        )?;
        many(
            plan.unavailable.len(),
            "unavailable permissions in one plan",
            MAX_CATALOG_LIST,
        )?;
    }
    let text = |value: &str, what: &dyn Fn() -> String, max: usize| {
        if value.chars().count() > max {
            return Err(CatalogError::TooLong { what: what(), max });
        }
        if value
            .chars()
            .any(|c| limits::is_forbidden_char(c) && c != '\n')
        {
            return Err(CatalogError::InvalidText { what: what() });
        }
        Ok(())
    };
    text(
        &doc.label,
        &|| "the catalog's label".into(),
        MAX_LABEL_CHARS,
    )?;
    text(
        &doc.description,
        &|| "the catalog's description".into(),
        MAX_DESCRIPTION_CHARS,
    )?;
    for area in &doc.areas {
        text(
            &area.label,
            &|| format!("area `{}`'s label", area.key),
            MAX_LABEL_CHARS,
        )?;
        text(
            &area.description,
            &|| format!("area `{}`'s description", area.key),
            MAX_DESCRIPTION_CHARS,
        )?;
        for action in &area.actions {
            let name = || format!("action `{}.{}`", area.key, action.key);
            text(
                &action.label,
                &|| format!("{}'s label", name()),
                MAX_LABEL_CHARS,
            )?;
            text(
                &action.description,
                &|| format!("{}'s description", name()),
                MAX_DESCRIPTION_CHARS,
            )?;
        }
    }
    for role in &doc.roles {
        text(
            &role.label,
            &|| format!("role `{}`'s label", role.key),
            MAX_LABEL_CHARS,
        )?;
        text(
            &role.description,
            &|| format!("role `{}`'s description", role.key),
            MAX_DESCRIPTION_CHARS,
        )?;
    }
    for plan in &doc.plans {
        text(
            &plan.label,
            &|| format!("plan `{}`'s label", plan.key),
            MAX_LABEL_CHARS,
        )?;
    }
    Ok(())
}
