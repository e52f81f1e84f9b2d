//! Whose access an event can change: the one answer the decider (which judges
//! exactly those members for escalation) and the read side (which re-resolves
//! exactly those members) share.

use rollcall_events::{Event, UserId};

use crate::team::{MemberStatus, Team};

/// The members whose effective access an event may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessReach {
    /// Logins, resends, profile edits, new roles nobody holds yet.
    Nobody,
    /// These members (in id order).
    Members(Vec<UserId>),
    /// Anyone: a new catalog or plan.
    Everyone,
}

impl AccessReach {
    /// The members reached, in id order, as they are in `team`.
    pub fn members(&self, team: &Team) -> Vec<UserId> {
        match self {
            AccessReach::Nobody => Vec::new(),
            AccessReach::Members(ids) => ids.clone(),
            AccessReach::Everyone => team.members.keys().copied().collect(),
        }
    }
}

/// Whose access `event` may change, judged on the team before it.
pub fn access_reach(team: &Team, event: &Event) -> AccessReach {
    match event {
        Event::TenantCreated(_) | Event::CatalogDefined(_) | Event::PlanChanged(_) => {
            AccessReach::Everyone
        }
        Event::RoleCreated(_)
        | Event::InvitationResent(_)
        | Event::UserLoggedIn(_)
        | Event::ProfileUpdated(_)
        | Event::CommandUnchanged(_) => AccessReach::Nobody,
        Event::RoleUpdated(e) => holders(team, &e.role),
        Event::RoleDeleted(e) => holders(team, &e.role),
        Event::UserInvited(e) => AccessReach::Members(vec![e.user_id]),
        Event::InvitationCanceled(e) => AccessReach::Members(vec![e.user_id]),
        Event::InvitationAccepted(e) => AccessReach::Members(vec![e.user_id]),
        Event::RolesChanged(e) => AccessReach::Members(vec![e.user_id]),
        Event::PermissionToggled(e) => AccessReach::Members(vec![e.user_id]),
        Event::ScopeChanged(e) => AccessReach::Members(vec![e.user_id]),
        Event::OfficesChanged(e) => AccessReach::Members(vec![e.user_id]),
        Event::AllowedNetworksChanged(e) => AccessReach::Members(vec![e.user_id]),
        Event::UserDeactivated(e) => AccessReach::Members(vec![e.user_id]),
        Event::UserReactivated(e) => AccessReach::Members(vec![e.user_id]),
    }
}

/// Members holding `role`, and, when it is the catalog's default role, members
/// holding no role (they fall back to it).
fn holders(team: &Team, role: &rollcall_events::RoleKey) -> AccessReach {
    let default = team
        .catalog()
        .and_then(|c| c.doc().default_role.as_ref())
        .is_some_and(|d| d == role);
    AccessReach::Members(
        team.members
            .values()
            .filter(|m| m.status != MemberStatus::Canceled)
            .filter(|m| m.roles.contains(role) || (default && m.roles.is_empty()))
            .map(|m| m.user_id)
            .collect(),
    )
}
