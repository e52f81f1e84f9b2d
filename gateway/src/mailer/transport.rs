//! Where messages go: an SMTP relay when one is configured, otherwise one `.eml`
//! file per message in the outbox directory (the embedded default, so a laptop
//! install needs no mail server and a test can read what was "sent").

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rollcall_events::InvitationId;
use tokio::io::AsyncWriteExt;

use super::MailerError;

/// Bound on one SMTP conversation; past it the send is retried.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The relay refused for good (a 5xx answer): retrying cannot help.
    #[error("the SMTP relay refused the message: {0}")]
    Refused(String),
    #[error("the SMTP relay could not be reached or failed: {0}")]
    Smtp(String),
    #[error("cannot write {path}: {source}")]
    Outbox {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SendError {
    /// Is it worth trying again later?
    pub fn is_transient(&self) -> bool {
        !matches!(self, SendError::Refused(_))
    }
}

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Transport {
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Transport, MailerError> {
        match smtp_url {
            Some(url) => {
                // The URL carries the relay's password: the error names neither.
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|_| MailerError::SmtpUrl)?;
                Ok(Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build()))
            }
            None => Ok(Transport::Outbox(outbox_dir.to_owned())),
        }
    }

    /// Sends `message`, asked for by the event at `position`.
    pub async fn send(
        &self,
        position: u64,
        invitation: InvitationId,
        message: &Message,
    ) -> Result<(), SendError> {
        match self {
            Transport::Smtp(smtp) => match smtp.send(message.clone()).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
                Err(e) => Err(SendError::Smtp(e.to_string())),
            },
            Transport::Outbox(dir) => write_eml(dir, position, invitation, message).await,
        }
    }
}

/// `<position, 20 digits>-<invitation id>.eml`: names sort by position, and a send
/// repeated after a crash overwrites its own file instead of adding a second one.
pub fn eml_file_name(position: u64, invitation: InvitationId) -> String {
    format!("{position:020}-{invitation}.eml")
}

async fn write_eml(
    dir: &Path,
    position: u64,
    invitation: InvitationId,
    message: &Message,
) -> Result<(), SendError> {
    let outbox_error = |path: &Path| {
        let path = path.to_owned();
        move |source| SendError::Outbox { path, source }
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(outbox_error(dir))?;
    let name = eml_file_name(position, invitation);
    // Written aside and renamed, so a reader of the outbox never sees half a message.
    let partial = dir.join(format!(".{name}.partial"));
    let path = dir.join(name);
    let mut file = tokio::fs::File::create(&partial)
        .await
        .map_err(outbox_error(&partial))?;
    file.write_all(&message.formatted())
        .await
        .map_err(outbox_error(&partial))?;
    // On disk before the mailer records the message as sent.
    file.sync_all().await.map_err(outbox_error(&partial))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(outbox_error(&path))?;
    Ok(())
}
