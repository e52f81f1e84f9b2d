//! One-line before/after summaries of an event, for audit exports: what changed,
//! readable without the event's JSON. Nonces never appear (a nonce is half of
//! what an accept token is made from).

use chrono::SecondsFormat;
use rollcall_events::{Event, MemberKind, OfficeId, Permission, RoleKey, RoleSpec, Toggle};

/// `(before, after)`; an empty string where there is no such side.
pub(crate) fn before_after(event: &Event) -> (String, String) {
    match event {
        Event::TenantCreated(e) => (
            String::new(),
            format!(
                "tenant {:?} on catalog {} plan {}; owner {} <{}> as {}",
                e.name,
                e.catalog.key,
                e.plan,
                e.owner_display_name,
                e.owner_email,
                roles(&e.owner_roles)
            ),
        ),
        Event::CatalogDefined(e) => (
            String::new(),
            format!("catalog {} version {}", e.catalog.key, e.version),
        ),
        Event::PlanChanged(e) => (format!("plan {}", e.from), format!("plan {}", e.to)),
        Event::RoleCreated(e) => (
            String::new(),
            format!("role {} {:?}: {}", e.role, e.label, perms(&e.grants)),
        ),
        Event::RoleUpdated(e) => (spec(&e.role, &e.from), spec(&e.role, &e.to)),
        Event::RoleDeleted(e) => (spec(&e.role, &e.was), String::new()),
        Event::UserInvited(e) => {
            let mut after = format!(
                "invited {} <{}> as {} ({})",
                e.display_name,
                e.email,
                roles(&e.roles),
                match e.kind {
                    MemberKind::Member => "member",
                    MemberKind::External => "external",
                }
            );
            for (p, t) in &e.overrides {
                after.push_str(&format!("; {p}={}", toggle(*t)));
            }
            after.push_str(&format!(
                "; expires {}",
                e.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ));
            (String::new(), after)
        }
        Event::InvitationResent(e) => (
            format!(
                "expires {}",
                e.previous_expires_at
                    .to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            format!(
                "expires {}",
                e.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
        ),
        Event::InvitationCanceled(_) => ("invited".to_owned(), "canceled".to_owned()),
        Event::InvitationAccepted(_) => ("invited".to_owned(), "active".to_owned()),
        Event::RolesChanged(e) => (roles(&e.from), roles(&e.to)),
        Event::PermissionToggled(e) => (
            format!("{}={}", e.permission, toggle(e.from)),
            format!("{}={}", e.permission, toggle(e.to)),
        ),
        Event::ScopeChanged(e) => (
            format!("{}={}", e.area, e.from.as_str()),
            format!("{}={}", e.area, e.to.as_str()),
        ),
        Event::OfficesChanged(e) => (offices(&e.from), offices(&e.to)),
        Event::AllowedNetworksChanged(e) => (networks(&e.from), networks(&e.to)),
        Event::UserDeactivated(e) => (
            format!("active as {}", roles(&e.roles)),
            match e.reassign_to {
                Some(to) => format!("deactivated; records to {to}"),
                None => "deactivated".to_owned(),
            },
        ),
        Event::UserReactivated(_) => ("deactivated".to_owned(), "active".to_owned()),
        Event::UserLoggedIn(e) => (
            String::new(),
            match &e.source_ip {
                Some(ip) => format!("logged in from {ip}"),
                None => "logged in".to_owned(),
            },
        ),
        Event::ProfileUpdated(e) => (
            format!(
                "{:?} must_change_password={}",
                e.from.display_name, e.from.must_change_password
            ),
            format!(
                "{:?} must_change_password={}",
                e.to.display_name, e.to.must_change_password
            ),
        ),
        Event::CommandUnchanged(e) => (String::new(), format!("{} changed nothing", e.command)),
    }
}

fn join<T: std::fmt::Display>(items: &[T], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn roles(r: &[RoleKey]) -> String {
    format!("roles [{}]", join(r, ""))
}

fn perms(p: &[Permission]) -> String {
    join(p, "(none)")
}

fn offices(o: &[OfficeId]) -> String {
    format!("offices [{}]", join(o, ""))
}

fn networks(n: &[String]) -> String {
    if n.is_empty() {
        "networks anywhere".to_owned()
    } else {
        format!("networks [{}]", n.join(","))
    }
}

fn spec(role: &RoleKey, s: &RoleSpec) -> String {
    format!("role {role} {:?}: {}", s.label, perms(&s.grants))
}

fn toggle(t: Toggle) -> &'static str {
    match t {
        Toggle::Allow => "allow",
        Toggle::Deny => "deny",
        Toggle::Inherit => "inherit",
    }
}
