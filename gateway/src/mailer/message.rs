//! The invitation message: its text (a pure function, pinned by a snapshot) and
//! its MIME form.
//!
//! The link carries the token, which is the invitee's credential: it appears in
//! the message body and nowhere else, never in a log line or an error.

use lettre::Message;
use lettre::message::{Mailbox, header::ContentType};
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
        .body(text.body)
        .map_err(|e| ComposeError::Build {
            invitation: invitation.invitation_id,
            reason: e.to_string(),
        })
}
