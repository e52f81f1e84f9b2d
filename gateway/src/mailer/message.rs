//! The invitation message: its text (a pure function, pinned by a snapshot) and
//! its MIME form.
//!
//! The link carries the token, which is the invitee's credential: it appears in
//! the message body and nowhere else, never in a log line or an error.
//!
//! The body goes out as written, one line per line (7bit, or 8bit when a name is
//! not ASCII), never quoted-printable: that encoding folds the long link over
//! lines with `=` and writes its `=` as `=3D`, so a link copied out of the raw
//! message (an `.eml` in the outbox, say) would not work.

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::state::{OpenInvitation, TenantLabel};

/// Subject and plain-text body of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pub subject: String,
    pub body: String,
}

/// Why a message could not be built. Both are permanent: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("the invitee address of invitation {invitation} is not a valid mailbox")]
    InvalidRecipient {
        invitation: rollcall_events::InvitationId,
    },
    #[error("the message for invitation {invitation} could not be built: {reason}")]
    Build {
        invitation: rollcall_events::InvitationId,
        reason: String,
    },
}

/// `<public_url>/accept?token=<token>`, the token percent-encoded so any token
/// alphabet survives.
pub fn accept_link(public_url: &str, token: &str) -> String {
    let base = public_url.trim_end_matches('/');
    let token = utf8_percent_encode(token, TOKEN_UNSAFE);
    format!("{base}/accept?token={token}")
}

/// The characters a token may keep as they are (RFC 3986 unreserved).
const TOKEN_UNSAFE: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The words of the message.
pub fn render(invitation: &OpenInvitation, tenant: Option<&TenantLabel>, link: &str) -> MailText {
    let team = match tenant {
        Some(t) => format!("the {} team on {}", t.name, t.product),
        None => "a team".to_owned(),
    };
    let subject = match (invitation.resent, tenant) {
        (false, Some(t)) => format!("You are invited to join {} on {}", t.name, t.product),
        (false, None) => "You are invited to join a team".to_owned(),
        (true, Some(t)) => format!("Your invitation to {} on {} (new link)", t.name, t.product),
        (true, None) => "Your team invitation (new link)".to_owned(),
    };
    let expires = invitation.expires_at.format("%Y-%m-%d %H:%M UTC");
    let resent_note = if invitation.resent {
        "This link replaces any link you were sent before; older links no longer work.\n\n"
    } else {
        ""
    };
    let body = format!(
        "Hello {name},\n\
         \n\
         You have been invited to join {team}.\n\
         \n\
         Accept the invitation here:\n\
         {link}\n\
         \n\
         The link works once and expires at {expires}.\n\
         \n\
         {resent_note}\
         If you did not expect this invitation, you can ignore this message.\n",
        name = invitation.display_name,
    );
    MailText { subject, body }
}

/// Longest line RFC 5322 allows, without its CRLF.
const MAX_LINE: usize = 998;

/// `text` as a body whose lines stay as written: 7bit when ASCII, else 8bit, with
/// CRLF line ends. A line too long for that (only an absurd public URL could make
/// one) leaves the choice to lettre.
fn plain_body(text: String) -> Body {
    let text = text.replace("\r\n", "\n");
    if text.contains('\0') || text.lines().any(|l| l.len() > MAX_LINE) {
        return Body::new(text);
    }
    let encoding = if text.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    Body::dangerous_pre_encoded(text.replace('\n', "\r\n").into_bytes(), encoding)
}

/// The MIME message for `invitation`.
pub fn compose(
    from: &Mailbox,
    invitation: &OpenInvitation,
    text: MailText,
) -> Result<Message, ComposeError> {
    let email = invitation
        .email
        .parse()
        .map_err(|_| ComposeError::InvalidRecipient {
            invitation: invitation.invitation_id,
        })?;
    let to = Mailbox::new(Some(invitation.display_name.clone()), email);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(text.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(plain_body(text.body))
        .map_err(|e| ComposeError::Build {
            invitation: invitation.invitation_id,
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rollcall_events::{InvitationId, TenantId, UserId};

    fn invitation(name: &str) -> OpenInvitation {
        OpenInvitation {
            tenant_id: TenantId::from_u128(1),
            invitation_id: InvitationId::from_u128(2),
            user_id: UserId::from_u128(3),
            email: "vera@acme.test".to_owned(),
            display_name: name.to_owned(),
            nonce: "n".to_owned(),
            expires_at: chrono::Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap(),
            position: 2,
            resent: false,
            due: true,
        }
    }

    /// The raw message holds the link whole, on a line of its own, whatever the
    /// names in the text.
    #[test]
    fn the_link_survives_on_one_line_of_the_raw_message() {
        let token = format!("{}.{}", "A".repeat(80), "b-_".repeat(15));
        let link = accept_link("https://rollcall.example.com/", &token);
        let from: Mailbox = "Rollcall <no-reply@rollcall.invalid>".parse().unwrap();
        for (name, encoding) in [("Vera Verde", "7bit"), ("Zoë Ünal", "8bit")] {
            let invite = invitation(name);
            let text = render(&invite, None, &link);
            let raw = compose(&from, &invite, text).unwrap().formatted();
            let raw = String::from_utf8(raw).unwrap();
            assert!(
                raw.contains(&format!("Content-Transfer-Encoding: {encoding}\r\n")),
                "{raw}"
            );
            assert!(raw.contains(&format!("\r\n{link}\r\n")), "{raw}");
            assert!(raw.contains(name), "{raw}");
        }
    }
}
