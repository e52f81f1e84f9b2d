//! `decide`: one command against the current Team yields one event or a rejection.
//!
//! Each command is first authorized, then validated on its own terms; the
//! candidate event is then folded into a copy of the team so that the rules about
//! the resulting state (an admin remains, prerequisites hold) are judged on the
//! state itself rather than re-derived by hand for every command.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rollcall_events::catalog::{CatalogDoc, Scope};
use rollcall_events::{
    Actor, AllowedNetworksChanged, CatalogDefined, Event, InvitationAccepted, InvitationCanceled,
    InvitationId, InvitationResent, MemberKind, OfficeId, OfficesChanged, Permission,
    PermissionToggled, PlanChanged, ProfileUpdated, RoleCreated, RoleDeleted, RoleKey, RoleSpec,
    RoleUpdated, RolesChanged, ScopeChanged, TenantCreated, Toggle, UserDeactivated, UserId,
    UserInvited, UserLoggedIn, UserReactivated,
};

use crate::access::{resolve_permissions, resolve_scopes};
use crate::catalog::{Catalog, valid_key};
use crate::team::evolve::{FoldMeta, apply, expiry};
use crate::team::state::normalise_email;
use crate::team::{Command, Context, DomainError, Member, MemberStatus, Team};

type Decision = Result<Event, DomainError>;

/// Decides a command. Pure: the same team, command and context always give the
/// same answer.
pub fn decide(team: &Team, command: &Command, ctx: &Context) -> Decision {
    if let Command::CreateTenant {
        name,
        catalog,
        plan,
        owner_id,
        owner_email,
        owner_display_name,
        ..
    } = command
    {
        return create_tenant(
            team,
            ctx,
            name,
            catalog,
            plan.as_deref(),
            *owner_id,
            owner_email,
            owner_display_name,
        );
    }
    let (Some(_), Some(catalog)) = (team.tenant_id, team.catalog()) else {
        return Err(DomainError::TenantNotFound);
    };
    let d = Decider { team, catalog, ctx };
    d.authorize(command)?;
    let event = d.command(command)?;
    d.admin_remains(&event)?;
    Ok(event)
}

/// One decision in progress: the team, its catalog and the context.
struct Decider<'a> {
    team: &'a Team,
    catalog: &'a Catalog,
    ctx: &'a Context,
}

#[allow(clippy::too_many_arguments)]
fn create_tenant(
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
    let name = non_empty(name, "name")?;
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
        owner_display_name: non_empty(owner_display_name, "display name")?,
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

fn fold_meta(team: &Team, ctx: &Context) -> FoldMeta {
    FoldMeta {
        actor: ctx.actor,
        at: ctx.now,
        position: team.position + 1,
        reason: None,
    }
}

fn non_empty(value: &str, field: &'static str) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::Empty { field });
    }
    Ok(v.to_owned())
}

/// Normalises and validates an email. Deliberately shallow: deliverability is
/// proven by accepting the invitation, not by a grammar.
fn valid_email(email: &str) -> Result<String, DomainError> {
    let email = normalise_email(email);
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if ok {
        Ok(email)
    } else {
        Err(DomainError::InvalidEmail { email })
    }
}

/// The member a command changes the access of, for "only admins change admins".
fn access_target(command: &Command) -> Option<UserId> {
    match command {
        Command::ChangeRoles { user_id, .. }
        | Command::TogglePermission { user_id, .. }
        | Command::SetScope { user_id, .. }
        | Command::SetOffices { user_id, .. }
        | Command::SetAllowedNetworks { user_id, .. }
        | Command::UpdateProfile { user_id, .. }
        | Command::DeactivateUser { user_id, .. }
        | Command::ReactivateUser { user_id } => Some(*user_id),
        _ => None,
    }
}

impl Decider<'_> {
    fn authorize(&self, command: &Command) -> Result<(), DomainError> {
        let Actor::User(actor) = self.ctx.actor else {
            return Ok(());
        };
        let forbidden = |action| DomainError::Forbidden {
            actor: self.ctx.actor,
            action,
        };
        match command {
            Command::AcceptInvitation { invitation_id, .. } => {
                let member = self.invitee(*invitation_id)?;
                return if member.user_id == actor {
                    Ok(())
                } else {
                    Err(forbidden("accept another person's invitation"))
                };
            }
            Command::RecordLogin { user_id, .. } => {
                return if *user_id == actor {
                    Ok(())
                } else {
                    Err(forbidden("record another member's login"))
                };
            }
            Command::UpdateProfile {
                user_id,
                must_change_password,
                links: None,
                ..
            } if *user_id == actor && !self.team.is_admin(actor) => {
                if must_change_password.is_some() {
                    return Err(forbidden("change whether a password must be changed"));
                }
                let active = self
                    .team
                    .member(actor)
                    .is_some_and(|m| m.status == MemberStatus::Active);
                return if active {
                    Ok(())
                } else {
                    Err(DomainError::NotAuthorized {
                        actor: self.ctx.actor,
                    })
                };
            }
            _ => {}
        }
        let actor_is_admin = self.team.is_admin(actor);
        // Checked before the general rule so the refusal names the real reason.
        if let Some(target) = access_target(command)
            && !actor_is_admin
            && self.team.is_admin(target)
        {
            return Err(DomainError::OnlyAdminsChangeAdmins { user_id: target });
        }
        if !actor_is_admin {
            return Err(DomainError::NotAuthorized {
                actor: self.ctx.actor,
            });
        }
        Ok(())
    }

    fn command(&self, command: &Command) -> Decision {
        match command {
            // Handled before a Decider exists.
            Command::CreateTenant { .. } => Err(DomainError::TenantExists {
                tenant_id: self
                    .team
                    .tenant_id
                    .unwrap_or(rollcall_events::TenantId(uuid::Uuid::nil())),
            }),
            Command::DefineCatalog { catalog } => self.define_catalog(catalog),
            Command::ChangePlan { plan } => self.change_plan(plan),
            Command::CreateRole {
                role,
                label,
                grants,
            } => self.create_role(role, label, grants),
            Command::UpdateRole {
                role,
                label,
                grants,
            } => self.update_role(role, label, grants),
            Command::DeleteRole { role } => self.delete_role(role),
            Command::InviteUser {
                user_id,
                invitation_id,
                email,
                display_name,
                roles,
                overrides,
                kind,
                nonce,
            } => self.invite_user(Invite {
                user_id: *user_id,
                invitation_id: *invitation_id,
                email,
                display_name,
                roles,
                overrides,
                kind: *kind,
                nonce,
            }),
            Command::ResendInvitation {
                invitation_id,
                nonce,
            } => self.resend_invitation(*invitation_id, nonce),
            Command::CancelInvitation { invitation_id } => self.cancel_invitation(*invitation_id),
            Command::AcceptInvitation {
                invitation_id,
                nonce,
            } => self.accept_invitation(*invitation_id, nonce),
            Command::ChangeRoles { user_id, roles } => self.change_roles(*user_id, roles),
            Command::TogglePermission {
                user_id,
                permission,
                state,
            } => self.toggle_permission(*user_id, permission, *state),
            Command::SetScope {
                user_id,
                area,
                scope,
            } => self.set_scope(*user_id, area, *scope),
            Command::SetOffices { user_id, offices } => self.set_offices(*user_id, offices),
            Command::SetAllowedNetworks { user_id, cidrs } => {
                self.set_allowed_networks(*user_id, cidrs)
            }
            Command::UpdateProfile {
                user_id,
                display_name,
                must_change_password,
                links,
            } => self.update_profile(
                *user_id,
                display_name.as_deref(),
                *must_change_password,
                links.as_ref(),
            ),
            Command::DeactivateUser {
                user_id,
                reassign_to,
            } => self.deactivate(*user_id, *reassign_to),
            Command::ReactivateUser { user_id } => self.reactivate(*user_id),
            Command::RecordLogin { user_id, source_ip } => self.record_login(*user_id, *source_ip),
        }
    }

    // ---- shared checks -------------------------------------------------------

    /// The team as it would be after `event`.
    fn preview(&self, event: &Event) -> Team {
        apply(self.team.clone(), event, &fold_meta(self.team, self.ctx))
    }

    /// No command may take away the last active admin.
    fn admin_remains(&self, event: &Event) -> Result<(), DomainError> {
        let before = self.team.active_admins();
        if before.is_empty() {
            // Nothing to protect: the operator is repairing a team without admins.
            return Ok(());
        }
        if self.preview(event).active_admins().is_empty() {
            return Err(DomainError::LastActiveAdmin { admins: before });
        }
        Ok(())
    }

    fn member(&self, user_id: UserId) -> Result<&Member, DomainError> {
        self.team
            .member(user_id)
            .ok_or(DomainError::UnknownMember { user_id })
    }

    /// A member whose access may still be changed: anyone but a canceled invitee.
    fn changeable(&self, user_id: UserId) -> Result<&Member, DomainError> {
        let m = self.member(user_id)?;
        if m.status == MemberStatus::Canceled {
            return Err(DomainError::NotActive {
                user_id,
                status: m.status,
            });
        }
        Ok(m)
    }

    fn invitee(&self, invitation_id: InvitationId) -> Result<&Member, DomainError> {
        self.team
            .members
            .values()
            .find(|m| m.invitation.as_ref().is_some_and(|i| i.id == invitation_id))
            .ok_or(DomainError::UnknownInvitation { invitation_id })
    }

    /// An invitation that can still be resent or canceled.
    fn pending_invitee(&self, invitation_id: InvitationId) -> Result<&Member, DomainError> {
        let m = self.invitee(invitation_id)?;
        match m.status {
            MemberStatus::Invited => Ok(m),
            MemberStatus::Canceled => Err(DomainError::InvitationCanceled { invitation_id }),
            MemberStatus::Active | MemberStatus::Deactivated => {
                Err(DomainError::InvitationUsed { invitation_id })
            }
        }
    }

    fn require_mfa(&self) -> Result<(), DomainError> {
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
    fn roles(&self, roles: &[RoleKey]) -> Result<Vec<RoleKey>, DomainError> {
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
    fn role_grants<'r>(
        &self,
        roles: impl IntoIterator<Item = &'r RoleKey>,
    ) -> BTreeSet<Permission> {
        let unavailable = self.catalog.unavailable(&self.team.plan);
        roles
            .into_iter()
            .filter_map(|k| self.team.roles.get(k))
            .flat_map(|r| self.catalog.role_permissions(&r.grants, &r.except))
            .filter(|p| !unavailable.contains(p))
            .collect()
    }

    fn check_available(&self, p: &Permission) -> Result<(), DomainError> {
        if self.catalog.unavailable(&self.team.plan).contains(p) {
            return Err(DomainError::PlanUnavailable {
                plan: self.team.plan.clone(),
                permission: p.clone(),
            });
        }
        Ok(())
    }

    fn check_external(
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

    /// A member may only hand out what it holds itself; the operator is exempt.
    fn check_escalation(&self, granted: &BTreeSet<Permission>) -> Result<(), DomainError> {
        let Actor::User(actor) = self.ctx.actor else {
            return Ok(());
        };
        let held = match (self.team.member(actor), self.team.catalog()) {
            (Some(m), Some(c)) if m.status == MemberStatus::Active => {
                resolve_permissions(self.team, c, m)
            }
            _ => BTreeMap::new(),
        };
        match granted.iter().find(|p| !held.contains_key(*p)) {
            Some(p) => Err(DomainError::Escalation {
                actor: self.ctx.actor,
                permission: p.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Every granted permission must be effective for the member afterwards (as
    /// if active, so an invitation is judged before it is accepted); one that
    /// is not because a prerequisite is missing is refused, naming the prerequisite.
    fn check_prerequisites(
        &self,
        next: &Team,
        user_id: UserId,
        granted: &BTreeSet<Permission>,
    ) -> Result<(), DomainError> {
        let Some(member) = next.member(user_id) else {
            return Ok(());
        };
        let held = resolve_permissions(next, self.catalog, member);
        for p in granted.iter().filter(|p| !held.contains_key(*p)) {
            if let Some(r) = self
                .catalog
                .requires(p)
                .iter()
                .find(|r| !held.contains_key(*r))
            {
                return Err(DomainError::PrerequisiteMissing {
                    permission: p.clone(),
                    requires: r.clone(),
                });
            }
        }
        Ok(())
    }

    /// Validates a custom role's grants and returns what they amount to.
    fn role_spec(&self, grants: &[Permission]) -> Result<BTreeSet<Permission>, DomainError> {
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
        Ok(perms)
    }

    fn custom_roles_allowed(&self) -> Result<(), DomainError> {
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
    fn offices_in_use(&self, user_id: Option<UserId>, offices: &[OfficeId]) -> usize {
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

    // ---- commands ------------------------------------------------------------

    fn define_catalog(&self, doc: &CatalogDoc) -> Decision {
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

    /// Non-canceled members holding a role.
    fn holders(&self, role: &RoleKey) -> usize {
        self.team
            .members
            .values()
            .filter(|m| m.status != MemberStatus::Canceled && m.roles.contains(role))
            .count()
    }

    fn change_plan(&self, plan: &str) -> Decision {
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

    fn create_role(&self, role: &RoleKey, label: &str, grants: &[Permission]) -> Decision {
        self.custom_roles_allowed()?;
        if !valid_key(role.as_str()) {
            return Err(DomainError::InvalidRoleKey { role: role.clone() });
        }
        if self.team.roles.contains_key(role) {
            return Err(DomainError::RoleExists { role: role.clone() });
        }
        let label = non_empty(label, "label")?;
        let perms = self.role_spec(grants)?;
        self.check_escalation(&perms)?;
        Ok(Event::RoleCreated(RoleCreated {
            role: role.clone(),
            label,
            grants: grants.to_vec(),
        }))
    }

    fn custom_role(&self, role: &RoleKey) -> Result<&crate::team::Role, DomainError> {
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

    fn update_role(&self, role: &RoleKey, label: &str, grants: &[Permission]) -> Decision {
        let current = self.custom_role(role)?;
        let label = non_empty(label, "label")?;
        if label == current.label && grants == current.grants.as_slice() {
            return Err(DomainError::Unchanged { what: "role" });
        }
        let perms = self.role_spec(grants)?;
        let before = self
            .catalog
            .role_permissions(&current.grants, &current.except);
        let added = perms.difference(&before).cloned().collect();
        self.check_escalation(&added)?;
        Ok(Event::RoleUpdated(RoleUpdated {
            role: role.clone(),
            from: RoleSpec {
                label: current.label.clone(),
                grants: current.grants.clone(),
            },
            to: RoleSpec {
                label,
                grants: grants.to_vec(),
            },
        }))
    }

    fn delete_role(&self, role: &RoleKey) -> Decision {
        let current = self.custom_role(role)?;
        let members = self.holders(role);
        if members > 0 {
            return Err(DomainError::RoleInUse {
                role: role.clone(),
                members,
            });
        }
        Ok(Event::RoleDeleted(RoleDeleted {
            role: role.clone(),
            was: RoleSpec {
                label: current.label.clone(),
                grants: current.grants.clone(),
            },
        }))
    }

    fn invite_user(&self, c: Invite<'_>) -> Decision {
        self.require_mfa()?;
        let email = valid_email(c.email)?;
        if self.team.member_by_email(&email).is_some() {
            return Err(DomainError::EmailTaken { email });
        }
        if self.team.members.contains_key(&c.user_id) {
            return Err(DomainError::UserIdTaken { user_id: c.user_id });
        }
        if self.invitee(c.invitation_id).is_ok() {
            return Err(DomainError::InvitationIdTaken {
                invitation_id: c.invitation_id,
            });
        }
        let display_name = non_empty(c.display_name, "display name")?;
        let nonce = non_empty(c.nonce, "nonce")?;
        let roles = self.roles(c.roles)?;
        let always_on = self.catalog.always_on(&self.team.plan);
        let mut overrides = BTreeMap::new();
        let mut allowed = BTreeSet::new();
        for (p, t) in c.overrides {
            if !self.catalog.has_permission(p) {
                return Err(DomainError::UnknownPermission {
                    permission: p.clone(),
                });
            }
            match t {
                Toggle::Inherit => continue,
                Toggle::Deny if always_on.contains(p) => {
                    return Err(DomainError::AlwaysOn {
                        plan: self.team.plan.clone(),
                        permission: p.clone(),
                    });
                }
                Toggle::Allow => {
                    self.check_available(p)?;
                    allowed.insert(p.clone());
                }
                Toggle::Deny => {}
            }
            overrides.insert(p.clone(), *t);
        }
        let mut granted = self.role_grants(&roles);
        granted.extend(allowed);
        self.check_external(c.kind, &granted)?;
        self.check_escalation(&granted)?;
        let event = Event::UserInvited(UserInvited {
            user_id: c.user_id,
            invitation_id: c.invitation_id,
            email,
            display_name,
            kind: c.kind,
            roles,
            overrides,
            nonce,
            expires_at: expiry(self.ctx.now, self.catalog.doc().invite_ttl_hours),
        });
        let denied: BTreeSet<Permission> = c
            .overrides
            .iter()
            .filter(|(_, t)| **t == Toggle::Deny)
            .map(|(p, _)| p.clone())
            .collect();
        let granted = granted.difference(&denied).cloned().collect();
        self.check_prerequisites(&self.preview(&event), c.user_id, &granted)?;
        Ok(event)
    }

    fn resend_invitation(&self, invitation_id: InvitationId, nonce: &str) -> Decision {
        self.require_mfa()?;
        let m = self.pending_invitee(invitation_id)?;
        let nonce = non_empty(nonce, "nonce")?;
        let Some(inv) = &m.invitation else {
            return Err(DomainError::UnknownInvitation { invitation_id });
        };
        if inv.nonce == nonce {
            return Err(DomainError::Unchanged { what: "nonce" });
        }
        Ok(Event::InvitationResent(InvitationResent {
            user_id: m.user_id,
            invitation_id,
            nonce,
            previous_expires_at: inv.expires_at,
            expires_at: expiry(self.ctx.now, self.catalog.doc().invite_ttl_hours),
        }))
    }

    fn cancel_invitation(&self, invitation_id: InvitationId) -> Decision {
        let m = self.pending_invitee(invitation_id)?;
        Ok(Event::InvitationCanceled(InvitationCanceled {
            user_id: m.user_id,
            invitation_id,
        }))
    }

    fn accept_invitation(&self, invitation_id: InvitationId, nonce: &str) -> Decision {
        let m = self.pending_invitee(invitation_id)?;
        let Some(inv) = &m.invitation else {
            return Err(DomainError::UnknownInvitation { invitation_id });
        };
        if inv.nonce != nonce {
            return Err(DomainError::InvitationSuperseded { invitation_id });
        }
        if self.ctx.now > inv.expires_at {
            return Err(DomainError::InvitationExpired {
                invitation_id,
                expired_at: inv.expires_at,
            });
        }
        Ok(Event::InvitationAccepted(InvitationAccepted {
            user_id: m.user_id,
            invitation_id,
        }))
    }

    fn change_roles(&self, user_id: UserId, roles: &[RoleKey]) -> Decision {
        let m = self.changeable(user_id)?;
        let roles = self.roles(roles)?;
        let same: BTreeSet<&RoleKey> = roles.iter().collect();
        if same == m.roles.iter().collect() {
            return Err(DomainError::Unchanged { what: "roles" });
        }
        let added = self.role_grants(roles.iter().filter(|r| !m.roles.contains(r)));
        self.check_external(m.kind, &added)?;
        self.check_escalation(&added)?;
        let event = Event::RolesChanged(RolesChanged {
            user_id,
            from: m.roles.clone(),
            to: roles,
        });
        let denied: BTreeSet<Permission> = m
            .overrides
            .iter()
            .filter(|(_, o)| o.state == Toggle::Deny)
            .map(|(p, _)| p.clone())
            .collect();
        let added = added.difference(&denied).cloned().collect();
        self.check_prerequisites(&self.preview(&event), user_id, &added)?;
        Ok(event)
    }

    fn toggle_permission(
        &self,
        user_id: UserId,
        permission: &Permission,
        state: Toggle,
    ) -> Decision {
        let m = self.changeable(user_id)?;
        if !self.catalog.has_permission(permission) {
            return Err(DomainError::UnknownPermission {
                permission: permission.clone(),
            });
        }
        let from = m
            .overrides
            .get(permission)
            .map_or(Toggle::Inherit, |o| o.state);
        if from == state {
            return Err(DomainError::Unchanged { what: "permission" });
        }
        match state {
            Toggle::Deny if self.catalog.always_on(&self.team.plan).contains(permission) => {
                return Err(DomainError::AlwaysOn {
                    plan: self.team.plan.clone(),
                    permission: permission.clone(),
                });
            }
            Toggle::Allow => {
                self.check_available(permission)?;
                let granted = BTreeSet::from([permission.clone()]);
                self.check_external(m.kind, &granted)?;
                self.check_escalation(&granted)?;
            }
            _ => {}
        }
        let event = Event::PermissionToggled(PermissionToggled {
            user_id,
            permission: permission.clone(),
            from,
            to: state,
        });
        if state == Toggle::Allow {
            let granted = BTreeSet::from([permission.clone()]);
            self.check_prerequisites(&self.preview(&event), user_id, &granted)?;
        }
        Ok(event)
    }

    fn set_scope(&self, user_id: UserId, area: &str, scope: Scope) -> Decision {
        let m = self.changeable(user_id)?;
        let doc = self
            .catalog
            .area(area)
            .ok_or_else(|| DomainError::UnknownArea {
                area: area.to_owned(),
            })?;
        let Some(scopes) = &doc.scope else {
            return Err(DomainError::AreaNotScoped {
                area: area.to_owned(),
            });
        };
        if !scopes.options.contains(&scope) {
            return Err(DomainError::ScopeNotOffered {
                area: area.to_owned(),
                scope: scope.as_str(),
            });
        }
        let from = m
            .scopes
            .get(area)
            .copied()
            .filter(|s| scopes.options.contains(s))
            .unwrap_or(scopes.default);
        if from == scope {
            return Err(DomainError::Unchanged { what: "scope" });
        }
        Ok(Event::ScopeChanged(ScopeChanged {
            user_id,
            area: area.to_owned(),
            from,
            to: scope,
        }))
    }

    fn set_offices(&self, user_id: UserId, offices: &[OfficeId]) -> Decision {
        let m = self.changeable(user_id)?;
        let mut to: Vec<OfficeId> = Vec::new();
        for o in offices {
            if !to.contains(o) {
                to.push(o.clone());
            }
        }
        if to.iter().collect::<BTreeSet<_>>() == m.offices.iter().collect() {
            return Err(DomainError::Unchanged { what: "offices" });
        }
        if let Some(max) = self
            .catalog
            .plan(&self.team.plan)
            .and_then(|p| p.max_offices)
        {
            let requested = self.offices_in_use(Some(user_id), &to);
            if requested > max as usize {
                return Err(DomainError::TooManyOffices {
                    plan: self.team.plan.clone(),
                    max,
                    requested,
                });
            }
        }
        if m.status == MemberStatus::Active
            && let Some(lift) = self.catalog.lifting_permission(Scope::Offices)
        {
            let held = resolve_permissions(self.team, self.catalog, m);
            let (_, all_offices) = resolve_scopes(self.catalog, m, &held);
            if all_offices && m.offices.iter().any(|o| !to.contains(o)) {
                return Err(DomainError::AllOffices {
                    user_id,
                    permission: lift.clone(),
                });
            }
        }
        Ok(Event::OfficesChanged(OfficesChanged {
            user_id,
            from: m.offices.clone(),
            to,
        }))
    }

    fn set_allowed_networks(&self, user_id: UserId, cidrs: &[String]) -> Decision {
        let m = self.changeable(user_id)?;
        let mut to: Vec<String> = Vec::new();
        for c in cidrs {
            let net: ipnet::IpNet = c
                .trim()
                .parse()
                .map_err(|_| DomainError::InvalidCidr { cidr: c.clone() })?;
            let net = net.to_string();
            if !to.contains(&net) {
                to.push(net);
            }
        }
        if to == m.networks {
            return Err(DomainError::Unchanged { what: "networks" });
        }
        Ok(Event::AllowedNetworksChanged(AllowedNetworksChanged {
            user_id,
            from: m.networks.clone(),
            to,
        }))
    }

    fn update_profile(
        &self,
        user_id: UserId,
        display_name: Option<&str>,
        must_change_password: Option<bool>,
        links: Option<&BTreeMap<String, String>>,
    ) -> Decision {
        let m = self.changeable(user_id)?;
        let mut to = m.profile.clone();
        if let Some(name) = display_name {
            to.display_name = non_empty(name, "display name")?;
        }
        if let Some(flag) = must_change_password {
            to.must_change_password = flag;
        }
        if let Some(links) = links {
            let allowed = &self.catalog.doc().profile_links;
            if let Some(link) = links.keys().find(|k| !allowed.contains(k)) {
                return Err(DomainError::UnknownProfileLink { link: link.clone() });
            }
            to.links = links
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.trim().to_owned()))
                .collect();
        }
        if to == m.profile {
            return Err(DomainError::Unchanged { what: "profile" });
        }
        Ok(Event::ProfileUpdated(ProfileUpdated {
            user_id,
            from: m.profile.clone(),
            to,
        }))
    }

    fn deactivate(&self, user_id: UserId, reassign_to: Option<UserId>) -> Decision {
        let m = self.member(user_id)?;
        if m.status != MemberStatus::Active {
            return Err(DomainError::NotActive {
                user_id,
                status: m.status,
            });
        }
        if let Some(r) = reassign_to {
            let ok = r != user_id
                && self
                    .team
                    .member(r)
                    .is_some_and(|t| t.status == MemberStatus::Active);
            if !ok {
                return Err(DomainError::InvalidReassign { user_id: r });
            }
        }
        Ok(Event::UserDeactivated(UserDeactivated {
            user_id,
            reassign_to,
            roles: m.roles.clone(),
        }))
    }

    fn reactivate(&self, user_id: UserId) -> Decision {
        let m = self.member(user_id)?;
        if m.status != MemberStatus::Deactivated {
            return Err(DomainError::NotDeactivated {
                user_id,
                status: m.status,
            });
        }
        Ok(Event::UserReactivated(UserReactivated { user_id }))
    }

    fn record_login(&self, user_id: UserId, source_ip: Option<IpAddr>) -> Decision {
        let m = self.member(user_id)?;
        if m.status != MemberStatus::Active {
            return Err(DomainError::NotActive {
                user_id,
                status: m.status,
            });
        }
        if !network_allows(&m.networks, source_ip) {
            return Err(DomainError::NetworkNotAllowed {
                user_id,
                ip: source_ip.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string()),
            });
        }
        Ok(Event::UserLoggedIn(UserLoggedIn {
            user_id,
            source_ip: source_ip.map(|ip| ip.to_string()),
        }))
    }
}

/// Does an allowed-network list admit this address? An empty list admits any,
/// and a non-empty one admits no unknown address.
pub(crate) fn network_allows(networks: &[String], ip: Option<IpAddr>) -> bool {
    if networks.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    networks
        .iter()
        .filter_map(|n| n.parse::<ipnet::IpNet>().ok())
        .any(|n| n.contains(&ip))
}

/// The fields of `InviteUser`, borrowed.
struct Invite<'a> {
    user_id: UserId,
    invitation_id: InvitationId,
    email: &'a str,
    display_name: &'a str,
    roles: &'a [RoleKey],
    overrides: &'a BTreeMap<Permission, Toggle>,
    kind: MemberKind,
    nonce: &'a str,
}
