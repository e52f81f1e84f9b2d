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
        todo!()
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
        todo!()
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
