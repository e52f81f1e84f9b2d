//! A member's access, profile, lifecycle and logins.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rollcall_events::catalog::Scope;
use rollcall_events::{
    AllowedNetworksChanged, Event, OfficeId, OfficesChanged, Permission, PermissionToggled,
    ProfileUpdated, RoleKey, RolesChanged, ScopeChanged, Toggle, UserDeactivated, UserId,
    UserLoggedIn, UserReactivated,
};

use crate::access::{Networks, area_scopes, resolve_set};
use crate::limits;
use crate::team::{DomainError, MemberStatus};

use super::{Decider, Decision};

impl Decider<'_> {
    pub(super) fn change_roles(&self, user_id: UserId, roles: &[RoleKey]) -> Decision {
        let m = self.access_changeable(user_id)?;
        let roles = self.roles(roles)?;
        let same: BTreeSet<&RoleKey> = roles.iter().collect();
        if same == m.roles.iter().collect() {
            return Err(DomainError::Unchanged { what: "roles" });
        }
        let added = self.role_grants(roles.iter().filter(|r| !m.roles.contains(r)));
        self.check_external(m.kind, &added)?;
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
        self.check_prerequisites(&self.preview_member(user_id, &event), user_id, &added)?;
        Ok(event)
    }

    pub(super) fn toggle_permission(
        &self,
        user_id: UserId,
        permission: &Permission,
        state: Toggle,
    ) -> Decision {
        let m = self.access_changeable(user_id)?;
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
            self.check_prerequisites(&self.preview_member(user_id, &event), user_id, &granted)?;
        }
        Ok(event)
    }

    pub(super) fn set_scope(&self, user_id: UserId, area: &str, scope: Scope) -> Decision {
        let m = self.access_changeable(user_id)?;
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

    pub(super) fn set_offices(&self, user_id: UserId, offices: &[OfficeId]) -> Decision {
        let m = self.access_changeable(user_id)?;
        limits::count(offices.len(), "offices", limits::MAX_OFFICES_PER_MEMBER)?;
        let mut to: Vec<OfficeId> = Vec::new();
        for o in offices {
            let o = OfficeId::new(limits::text(
                o.as_str(),
                "office",
                limits::MAX_OFFICE_CHARS,
            )?);
            if !to.contains(&o) {
                to.push(o);
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
            let v = self.vocabulary();
            let held = resolve_set(&v, m);
            let (_, all_offices) = area_scopes(&v, m, &held);
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

    pub(super) fn set_allowed_networks(&self, user_id: UserId, cidrs: &[String]) -> Decision {
        let m = self.access_changeable(user_id)?;
        limits::count(cidrs.len(), "networks", limits::MAX_NETWORKS_PER_MEMBER)?;
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

    pub(super) fn update_profile(
        &self,
        user_id: UserId,
        display_name: Option<&str>,
        must_change_password: Option<bool>,
        links: Option<&BTreeMap<String, String>>,
    ) -> Decision {
        let m = self.changeable(user_id)?;
        let mut to = m.profile.clone();
        if let Some(name) = display_name {
            to.display_name = limits::text(name, "display name", limits::MAX_NAME_CHARS)?;
        }
        if let Some(flag) = must_change_password {
            to.must_change_password = flag;
        }
        if let Some(links) = links {
            limits::count(links.len(), "profile links", limits::MAX_PROFILE_LINKS)?;
            let allowed = &self.catalog.doc().profile_links;
            if let Some(link) = links.keys().find(|k| !allowed.contains(k)) {
                return Err(DomainError::UnknownProfileLink { link: link.clone() });
            }
            for value in links.values() {
                limits::bounded(value.trim(), "profile link", limits::MAX_NAME_CHARS)?;
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

    pub(super) fn deactivate(&self, user_id: UserId, reassign_to: Option<UserId>) -> Decision {
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

    pub(super) fn reactivate(&self, user_id: UserId) -> Decision {
        let m = self.member(user_id)?;
        if m.status != MemberStatus::Deactivated {
            return Err(DomainError::NotDeactivated {
                user_id,
                status: m.status,
            });
        }
        Ok(Event::UserReactivated(UserReactivated { user_id }))
    }

    pub(super) fn record_login(&self, user_id: UserId, source_ip: Option<IpAddr>) -> Decision {
        let m = self.member(user_id)?;
        if m.status != MemberStatus::Active {
            return Err(DomainError::NotActive {
                user_id,
                status: m.status,
            });
        }
        if !Networks::of(&m.networks).admits(source_ip) {
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
