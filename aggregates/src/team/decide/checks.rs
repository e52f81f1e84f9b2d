//! Checks shared by several commands: lookups, grants, prerequisites.

use std::collections::BTreeSet;

use rollcall_events::{Actor, InvitationId, MemberKind, OfficeId, Permission, RoleKey, UserId};

use crate::access::resolve_set;
use crate::limits;
use crate::team::{DomainError, Member, MemberStatus, Team};

use super::Decider;

impl Decider<'_> {
    pub(super) fn member(&self, user_id: UserId) -> Result<&Member, DomainError> {
        self.team
            .member(user_id)
            .ok_or(DomainError::UnknownMember { user_id })
    }

    /// A member whose access may still be changed: anyone but a canceled invitee.
    pub(super) fn changeable(&self, user_id: UserId) -> Result<&Member, DomainError> {
        let m = self.member(user_id)?;
        if m.status == MemberStatus::Canceled {
            return Err(DomainError::NotActive {
                user_id,
                status: m.status,
            });
        }
        Ok(m)
    }

    /// A member whose access (roles, toggles, scopes, offices, networks) may change:
    /// a changeable member who, where the catalog says so, accepted their invitation.
    pub(super) fn access_changeable(&self, user_id: UserId) -> Result<&Member, DomainError> {
        let m = self.changeable(user_id)?;
        if self.catalog.doc().edit_active_members_only && m.status == MemberStatus::Invited {
            return Err(DomainError::NotAccepted { user_id });
        }
        Ok(m)
    }

    pub(super) fn invitee(&self, invitation_id: InvitationId) -> Result<&Member, DomainError> {
        self.team
            .invitee(invitation_id)
            .ok_or(DomainError::UnknownInvitation { invitation_id })
    }

    /// An invitation that can still be resent or canceled.
    pub(super) fn pending_invitee(
        &self,
        invitation_id: InvitationId,
    ) -> Result<&Member, DomainError> {
        let m = self.invitee(invitation_id)?;
        match m.status {
            MemberStatus::Invited => Ok(m),
            MemberStatus::Canceled => Err(DomainError::InvitationCanceled { invitation_id }),
            MemberStatus::Active | MemberStatus::Deactivated => {
                Err(DomainError::InvitationUsed { invitation_id })
            }
        }
    }

    pub(super) fn require_mfa(&self) -> Result<(), DomainError> {
        if self.catalog.doc().invite_requires_mfa
            && self.ctx.actor != Actor::Operator
            && !self.ctx.mfa
        {
            return Err(DomainError::MfaRequired);
        }
        Ok(())
    }

    /// Validates a role list: known roles, no duplicates kept, one role where the
    /// catalog allows only one.
    pub(super) fn roles(&self, roles: &[RoleKey]) -> Result<Vec<RoleKey>, DomainError> {
        limits::count(roles.len(), "roles", limits::MAX_ROLES_PER_MEMBER)?;
        let mut out: Vec<RoleKey> = Vec::new();
        for r in roles {
            if !self.team.roles.contains_key(r) {
                return Err(DomainError::UnknownRole { role: r.clone() });
            }
            if !out.contains(r) {
                out.push(r.clone());
            }
        }
        if !self.catalog.doc().multi_role && out.len() > 1 {
            return Err(DomainError::SingleRole { count: out.len() });
        }
        Ok(out)
    }

    /// Permissions the plan offers, of the ones the given roles grant.
    pub(super) fn role_grants<'r>(
        &self,
        roles: impl IntoIterator<Item = &'r RoleKey>,
    ) -> BTreeSet<Permission> {
        let mut set = crate::access::PermSet::new();
        for role in roles.into_iter().filter_map(|k| self.team.roles.get(k)) {
            set.union_with(&self.catalog.role_set(&role.grants, &role.except));
        }
        set.subtract(&self.catalog.unavailable_set(&self.team.plan));
        self.catalog.names_of(&set).cloned().collect()
    }

    pub(super) fn check_available(&self, p: &Permission) -> Result<(), DomainError> {
        if self.catalog.unavailable(&self.team.plan).contains(p) {
            return Err(DomainError::PlanUnavailable {
                plan: self.team.plan.clone(),
                permission: p.clone(),
            });
        }
        Ok(())
    }

    pub(super) fn check_external(
        &self,
        kind: MemberKind,
        granted: &BTreeSet<Permission>,
    ) -> Result<(), DomainError> {
        if kind != MemberKind::External {
            return Ok(());
        }
        match granted.iter().find(|p| !self.catalog.is_view(p)) {
            Some(p) => Err(DomainError::ExternalViewOnly {
                permission: p.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Every granted permission must be effective for the member afterwards (as
    /// if active, so an invitation is judged before it is accepted); one that
    /// is not because a prerequisite is missing is refused, naming the prerequisite.
    pub(super) fn check_prerequisites(
        &self,
        next: &Team,
        user_id: UserId,
        granted: &BTreeSet<Permission>,
    ) -> Result<(), DomainError> {
        let Some(member) = next.member(user_id) else {
            return Ok(());
        };
        let Some(v) = next.vocabulary() else {
            return Ok(());
        };
        let held = resolve_set(&v, member);
        let holds = |p: &Permission| {
            self.catalog
                .id(p.as_str())
                .is_some_and(|id| held.contains(id))
        };
        for p in granted.iter().filter(|p| !holds(p)) {
            if let Some(r) = self.catalog.requires(p).iter().find(|r| !holds(r)) {
                return Err(DomainError::PrerequisiteMissing {
                    permission: p.clone(),
                    requires: r.clone(),
                });
            }
        }
        Ok(())
    }

    /// Validates a custom role's grants: known, offered by the plan, carrying
    /// their own prerequisites.
    pub(super) fn role_spec(&self, grants: &[Permission]) -> Result<(), DomainError> {
        limits::count(grants.len(), "grants", limits::MAX_ROLE_GRANTS)?;
        let unavailable_patterns = self
            .catalog
            .plan(&self.team.plan)
            .map(|p| p.unavailable.clone())
            .unwrap_or_default();
        let unavailable = self.catalog.unavailable(&self.team.plan);
        for g in grants {
            self.catalog.expand(g)?;
            if unavailable_patterns.contains(g) || unavailable.contains(g) {
                return Err(DomainError::PlanUnavailable {
                    plan: self.team.plan.clone(),
                    permission: g.clone(),
                });
            }
        }
        let perms: BTreeSet<Permission> = self
            .catalog
            .role_permissions(grants, &[])
            .into_iter()
            .filter(|p| !unavailable.contains(p))
            .collect();
        // A role is a bundle people are given whole: it must carry its own
        // prerequisites (or rely on the plan's always-on ones).
        let always_on = self.catalog.always_on(&self.team.plan);
        for p in &perms {
            if let Some(r) = self
                .catalog
                .requires(p)
                .iter()
                .find(|r| !perms.contains(*r) && !always_on.contains(*r))
            {
                return Err(DomainError::PrerequisiteMissing {
                    permission: p.clone(),
                    requires: r.clone(),
                });
            }
        }
        Ok(())
    }

    pub(super) fn custom_roles_allowed(&self) -> Result<(), DomainError> {
        if self
            .catalog
            .plan(&self.team.plan)
            .is_some_and(|p| p.custom_roles)
        {
            Ok(())
        } else {
            Err(DomainError::CustomRolesNotAllowed {
                plan: self.team.plan.clone(),
            })
        }
    }

    /// Distinct offices the tenant would use with `user_id` in `offices`.
    pub(super) fn offices_in_use(&self, user_id: Option<UserId>, offices: &[OfficeId]) -> usize {
        let mut all: BTreeSet<&OfficeId> = self
            .team
            .members
            .values()
            .filter(|m| m.status != MemberStatus::Canceled && Some(m.user_id) != user_id)
            .flat_map(|m| m.offices.iter())
            .collect();
        all.extend(offices);
        all.len()
    }

    /// Non-canceled members holding a role.
    pub(super) fn holders(&self, role: &RoleKey) -> usize {
        self.team
            .members
            .values()
            .filter(|m| m.status != MemberStatus::Canceled && m.roles.contains(role))
            .count()
    }

    pub(super) fn custom_role(&self, role: &RoleKey) -> Result<&crate::team::Role, DomainError> {
        let r = self
            .team
            .roles
            .get(role)
            .ok_or_else(|| DomainError::UnknownRole { role: role.clone() })?;
        if r.builtin {
            return Err(DomainError::BuiltinRole { role: role.clone() });
        }
        self.custom_roles_allowed()?;
        Ok(r)
    }
}
