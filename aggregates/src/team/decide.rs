//! `decide`: one command against the current Team yields one event or a rejection.
//!
//! Each command is first authorized, then validated on its own terms; the
//! candidate event is then folded into a copy of the team so that the rules about
//! the resulting state are judged on the state itself rather than re-derived by
//! hand for every command:
//!
//! - an active admin remains;
//! - **no escalation**: every (permission, extent, networks) that any member gains
//!   must already be held at least that widely by the actor. This one invariant
//!   covers granting, lifting a deny, falling back to the default role,
//!   reactivating, editing a role, widening a scope, offices or networks — for
//!   others and for oneself. The operator is exempt, and so are the tenant-level
//!   settings, which have their own authority: the catalog is the operator's, the
//!   plan needs the catalog's billing permission.

use std::collections::BTreeMap;

use rollcall_events::{
    Actor, Event, InvitationId, MemberKind, Permission, RoleKey, Toggle, UserId,
};

use crate::access::{Entitlement, entitlement};
use crate::catalog::Catalog;
use crate::limits;
use crate::team::evolve::{FoldMeta, apply};
use crate::team::state::normalise_email;
use crate::team::{AccessReach, Command, Context, DomainError, MemberStatus, Team, access_reach};

mod checks;
mod invitations;
mod members;
mod roles;
mod tenant;

type Decision = Result<Event, DomainError>;

/// Decides a command. Pure: the same team, command and context always give the
/// same answer.
pub fn decide(team: &Team, command: &Command, ctx: &Context) -> Decision {
    limits::reason(ctx.reason.as_deref())?;
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
        return tenant::create_tenant(
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
    let (Some(tenant_id), Some(catalog)) = (team.tenant_id, team.catalog()) else {
        return Err(DomainError::TenantNotFound);
    };
    let d = Decider {
        tenant_id,
        team,
        catalog,
        ctx,
    };
    d.authorize(command)?;
    let event = d.command(command)?;
    d.admin_remains(command, &event)?;
    d.no_escalation(&event)?;
    Ok(event)
}

/// One decision in progress: the team, its catalog and the context.
struct Decider<'a> {
    tenant_id: rollcall_events::TenantId,
    team: &'a Team,
    catalog: &'a Catalog,
    ctx: &'a Context,
}

impl<'a> Decider<'a> {
    fn vocabulary(&self) -> crate::team::Vocabulary<'a> {
        crate::team::Vocabulary {
            catalog: self.catalog,
            roles: &self.team.roles,
            plan: &self.team.plan,
        }
    }
}

fn fold_meta(team: &Team, ctx: &Context) -> FoldMeta {
    FoldMeta {
        actor: ctx.actor,
        at: ctx.now,
        position: team.position + 1,
        reason: ctx.reason.clone(),
    }
}

/// Normalises and validates an email. Deliberately shallow: deliverability is
/// proven by accepting the invitation, not by a grammar.
fn valid_email(email: &str) -> Result<String, DomainError> {
    let email = normalise_email(email);
    let ok = email.len() <= limits::MAX_EMAIL_BYTES
        && !email
            .chars()
            .any(|c| c.is_whitespace() || limits::is_forbidden_char(c))
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
            // The catalog is the product's permission model, not a tenant setting.
            Command::DefineCatalog { .. } => {
                return Err(DomainError::OperatorOnly {
                    action: "replace the catalog",
                });
            }
            // The plan is billing, not team management: it takes the catalog's
            // billing permission (and, like everything, no escalation).
            Command::ChangePlan { .. } => {
                let action = "change the plan";
                let billing = &self.catalog.doc().billing_permission;
                return match (billing, self.catalog.billing_permission()) {
                    (Some(_), Some(id)) if self.team.holds(actor, id) => Ok(()),
                    (Some(permission), _) => Err(DomainError::PermissionRequired {
                        actor: self.ctx.actor,
                        permission: permission.clone(),
                        action,
                    }),
                    (None, _) => Err(DomainError::OperatorOnly { action }),
                };
            }
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
            // Decided before a Decider exists, which needs an existing tenant.
            Command::CreateTenant { .. } => Err(DomainError::TenantExists {
                tenant_id: self.tenant_id,
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

    /// The team as it would be after `event`, reduced to the members given: a
    /// member's effective permissions depend only on that member, the roles, the
    /// plan and the catalog, so nobody else is copied.
    fn preview_members(&self, users: &[UserId], event: &Event) -> Team {
        let mut parts = crate::team::TeamParts {
            tenant_id: self.team.tenant_id,
            name: String::new(),
            catalog: self.team.catalog.clone(),
            catalog_version: self.team.catalog_version,
            plan: self.team.plan.clone(),
            roles: self.team.roles.clone(),
            members: Default::default(),
            tenant_seq: self.team.tenant_seq,
            head_hash: String::new(),
            position: self.team.position,
        };
        for user in users {
            if let Some(m) = self.team.members.get(user) {
                parts.members.insert(*user, m.clone());
            }
        }
        apply(Team::from(parts), event, &fold_meta(self.team, self.ctx))
    }

    /// The one member `event` is about, after it.
    fn preview_member(&self, user_id: UserId, event: &Event) -> Team {
        self.preview_members(&[user_id], event)
    }

    /// The invariant: nobody ends up holding anything more widely than the actor
    /// held it before the command. Judged on every member whose access the event
    /// may change ([`access_reach`]), on what is effective afterwards, so a gain
    /// through any route is caught the same way.
    ///
    /// Tenant-level settings are the exception, each with its own authority: the
    /// catalog is the operator's, and a plan change — which turns on or off only
    /// what the catalog's plan definitions say — takes the billing permission
    /// (its audit entry lists every member's delta).
    fn no_escalation(&self, event: &Event) -> Result<(), DomainError> {
        let Actor::User(actor) = self.ctx.actor else {
            return Ok(());
        };
        if matches!(
            event,
            Event::TenantCreated(_) | Event::CatalogDefined(_) | Event::PlanChanged(_)
        ) {
            return Ok(());
        }
        let reach = access_reach(self.team, event);
        let affected = reach.members(self.team);
        let affected = match (&reach, event) {
            // A new member is not in the team before the event.
            (_, Event::UserInvited(e)) => vec![e.user_id],
            _ => affected,
        };
        if affected.is_empty() {
            return Ok(());
        }
        let next = if reach == AccessReach::Everyone {
            self.preview(event)
        } else {
            self.preview_members(&affected, event)
        };
        let Some(next_vocabulary) = next.vocabulary() else {
            return Ok(());
        };
        let catalog = next_vocabulary.catalog;
        let vocabulary = self.vocabulary();
        let held = match self.team.member(actor) {
            Some(m) if m.status == MemberStatus::Active => entitlement(&vocabulary, m),
            _ => Entitlement::none(),
        };
        for user in affected {
            let Some(after) = next.member(user) else {
                continue;
            };
            let before = self
                .team
                .member(user)
                .map(|m| entitlement(&vocabulary, m))
                .unwrap_or_default();
            let after = entitlement(&next_vocabulary, after);
            let beyond = before
                .gains(catalog, &after)
                .filter(|id| !held.covers(catalog, &after, *id))
                .find_map(|id| catalog.name(id).map(|p| (id, p)));
            if let Some((id, permission)) = beyond {
                return Err(DomainError::Escalation {
                    actor: self.ctx.actor,
                    user_id: user,
                    permission: permission.clone(),
                    reach: after.describe(catalog, id),
                });
            }
        }
        Ok(())
    }

    /// No command may take away the last active admin. Only commands that can
    /// take access away are judged; a change to one member is judged only when
    /// that member is the sole admin, so the common case resolves one or two
    /// members rather than the whole team.
    fn admin_remains(&self, command: &Command, event: &Event) -> Result<(), DomainError> {
        let target = match command {
            Command::DefineCatalog { .. }
            | Command::ChangePlan { .. }
            | Command::UpdateRole { .. }
            | Command::DeleteRole { .. } => None,
            Command::ChangeRoles { user_id, .. }
            | Command::TogglePermission { user_id, .. }
            | Command::DeactivateUser { user_id, .. } => Some(*user_id),
            _ => return Ok(()),
        };
        let Some(target) = target else {
            let before = self.team.active_admins();
            // An empty list means nothing to protect: the operator is repairing
            // a team without admins.
            if !before.is_empty() && self.preview(event).active_admins().is_empty() {
                return Err(DomainError::LastActiveAdmin { admins: before });
            }
            return Ok(());
        };
        if !self.team.is_admin(target)
            || self
                .team
                .members
                .keys()
                .any(|id| *id != target && self.team.is_admin(*id))
            || self.preview_member(target, event).is_admin(target)
        {
            return Ok(());
        }
        Err(DomainError::LastActiveAdmin {
            admins: vec![target],
        })
    }
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
