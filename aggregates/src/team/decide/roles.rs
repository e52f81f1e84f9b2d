//! Custom roles: create, update, delete.

use rollcall_events::{
    Event, Permission, RoleCreated, RoleDeleted, RoleKey, RoleSpec, RoleUpdated,
};

use crate::catalog::valid_key;
use crate::limits;
use crate::team::DomainError;

use super::{Decider, Decision};

impl Decider<'_> {
    pub(super) fn create_role(
        &self,
        role: &RoleKey,
        label: &str,
        grants: &[Permission],
    ) -> Decision {
        self.custom_roles_allowed()?;
        if !valid_key(role.as_str()) {
            return Err(DomainError::InvalidRoleKey { role: role.clone() });
        }
        if self.team.roles.contains_key(role) {
            return Err(DomainError::RoleExists { role: role.clone() });
        }
        let custom = self.team.roles.values().filter(|r| !r.builtin).count();
        limits::count(custom + 1, "custom roles", limits::MAX_CUSTOM_ROLES)?;
        let label = limits::text(label, "label", limits::MAX_NAME_CHARS)?;
        self.role_spec(grants)?;
        Ok(Event::RoleCreated(RoleCreated {
            role: role.clone(),
            label,
            grants: grants.to_vec(),
        }))
    }
    pub(super) fn update_role(
        &self,
        role: &RoleKey,
        label: &str,
        grants: &[Permission],
    ) -> Decision {
        let current = self.custom_role(role)?;
        let label = limits::text(label, "label", limits::MAX_NAME_CHARS)?;
        if label == current.label && grants == current.grants.as_slice() {
            return Err(DomainError::Unchanged { what: "role" });
        }
        self.role_spec(grants)?;
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

    pub(super) fn delete_role(&self, role: &RoleKey) -> Decision {
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
}
