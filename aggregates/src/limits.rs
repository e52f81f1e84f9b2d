//! Every limit on what a command or a catalog may carry, in one place, so that a
//! value past a limit is refused with a clear error before it reaches the log
//! (where it would be kept forever and repeated in every export).
//!
//! The gateway adds its own limits on transport (body size, timeouts, rates);
//! docs/security.md lists both.

use crate::team::DomainError;

/// Characters in a display name, a role label or a profile link value.
pub const MAX_NAME_CHARS: usize = 200;
/// Characters in a reason given with a command.
pub const MAX_REASON_CHARS: usize = 1_000;
/// Bytes in an email address (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Characters in a tenant's name.
pub const MAX_TENANT_NAME_CHARS: usize = 200;
/// Roles one member may hold.
pub const MAX_ROLES_PER_MEMBER: usize = 16;
/// Grant patterns in one custom role.
pub const MAX_ROLE_GRANTS: usize = 256;
/// Custom roles one tenant may define.
pub const MAX_CUSTOM_ROLES: usize = 128;
/// Offices one member may belong to.
pub const MAX_OFFICES_PER_MEMBER: usize = 64;
/// Characters in an office id.
pub const MAX_OFFICE_CHARS: usize = 64;
/// CIDR blocks one member may be allowed to log in from.
pub const MAX_NETWORKS_PER_MEMBER: usize = 32;
/// Overrides sent with one invitation.
pub const MAX_INVITE_OVERRIDES: usize = 256;
/// Profile links one member may carry.
pub const MAX_PROFILE_LINKS: usize = 16;
/// Members (of any status) one tenant may hold.
pub const MAX_MEMBERS: usize = 1_000_000;
/// Characters in a nonce drawn by the gateway.
pub const MAX_NONCE_CHARS: usize = 128;

/// Areas in one catalog.
pub const MAX_CATALOG_AREAS: usize = 128;
/// Actions in one area.
pub const MAX_AREA_ACTIONS: usize = 64;
/// Concrete permissions in one catalog (areas × actions).
pub const MAX_CATALOG_PERMISSIONS: usize = 1_024;
/// Built-in roles in one catalog.
pub const MAX_CATALOG_ROLES: usize = 128;
/// Plans in one catalog.
pub const MAX_CATALOG_PLANS: usize = 16;
/// Prerequisites of one permission.
pub const MAX_PREREQUISITES: usize = 32;
/// Patterns in one list of a catalog (grants, exceptions, always-on, unavailable,
/// view actions, profile links).
pub const MAX_CATALOG_LIST: usize = 1_024;
/// Characters in a catalog's label.
pub const MAX_LABEL_CHARS: usize = 200;
/// Characters in a catalog's description texts.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// Longest an invitation may stay valid: 90 days.
pub const MAX_INVITE_TTL_HOURS: u32 = 90 * 24;

/// Characters no name may hold: controls (C0, C1, DEL) and the bidirectional
/// formatting characters that make text display differently from what it is.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}'
        )
}

/// Validates a one-line text field: trimmed, not empty, at most `max` characters,
/// no control or bidi characters. Returns the trimmed text.
pub fn text(value: &str, field: &'static str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DomainError::Empty { field });
    }
    bounded(v, field, max)?;
    Ok(v.to_owned())
}

/// Checks length and characters of a text that may be empty.
pub fn bounded(value: &str, field: &'static str, max: usize) -> Result<(), DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::TooLong { field, max });
    }
    if value.chars().any(is_forbidden_char) {
        return Err(DomainError::InvalidText { field });
    }
    Ok(())
}

/// A reason: optional, at most [`MAX_REASON_CHARS`]; line breaks are allowed, other
/// control and bidi characters are not.
pub fn reason(value: Option<&str>) -> Result<(), DomainError> {
    let Some(value) = value else { return Ok(()) };
    if value.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::TooLong {
            field: "reason",
            max: MAX_REASON_CHARS,
        });
    }
    if value
        .chars()
        .any(|c| is_forbidden_char(c) && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::InvalidText { field: "reason" });
    }
    Ok(())
}

/// A list of at most `max` items.
pub fn count(len: usize, field: &'static str, max: usize) -> Result<(), DomainError> {
    if len > max {
        return Err(DomainError::TooMany { field, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_controls_and_bidi() {
        assert_eq!(text("  Ann ", "name", 10), Ok("Ann".to_owned()));
        assert_eq!(
            text(" ", "name", 10),
            Err(DomainError::Empty { field: "name" })
        );
        assert_eq!(
            text("Annabelle Lee", "name", 5),
            Err(DomainError::TooLong {
                field: "name",
                max: 5
            })
        );
        for bad in [
            "a\u{0}b",
            "a\u{7}b",
            "evil\u{202e}gnp.exe",
            "x\u{2066}y",
            "a\nb",
        ] {
            assert_eq!(
                text(bad, "name", 50),
                Err(DomainError::InvalidText { field: "name" }),
                "{bad:?}"
            );
        }
        // Letters of any script are fine.
        assert!(text("Zoë Ødegård 王", "name", 50).is_ok());
        assert!(reason(Some("line one\nline two")).is_ok());
        assert!(reason(Some("a\u{202e}b")).is_err());
        assert!(reason(Some(&"x".repeat(MAX_REASON_CHARS + 1))).is_err());
    }
}
