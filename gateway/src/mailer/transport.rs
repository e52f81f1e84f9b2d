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
    Outbox {
        dir: PathBuf,
        /// When the outbox was last swept; `None` before the first message.
        swept: std::sync::Mutex<Option<std::time::Instant>>,
    },
}

/// How long a message stays in the outbox: its link is a credential, and no
/// invitation lives longer than a catalog allows (90 days at most, 72 hours by
/// default), so a week covers the usual case and nothing lingers for ever.
pub const OUTBOX_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// How often the outbox is swept, at most: a sweep reads every file's age, so
/// sweeping before each message would make a send cost as much as the outbox
/// holds.
pub const OUTBOX_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

impl Transport {
    pub fn new(smtp_url: Option<&str>, outbox_dir: &Path) -> Result<Transport, MailerError> {
        match smtp_url {
            Some(url) => {
                // The URL carries the relay's password: the error names neither.
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|_| MailerError::SmtpUrl)?;
                Ok(Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build()))
            }
            None => Ok(Transport::Outbox {
                dir: outbox_dir.to_owned(),
                swept: std::sync::Mutex::new(None),
            }),
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
            Transport::Outbox { dir, swept } => {
                if sweep_due(swept) {
                    sweep_outbox(dir, OUTBOX_RETENTION).await;
                }
                write_eml(dir, position, invitation, message).await
            }
        }
    }
}

/// Whether the outbox is due for a sweep (the first message, then once every
/// [`OUTBOX_SWEEP_EVERY`]); marks it swept when it is.
fn sweep_due(swept: &std::sync::Mutex<Option<std::time::Instant>>) -> bool {
    // A poisoned lock only means a panic while holding an instant; sweep again.
    let mut last = swept.lock().unwrap_or_else(|p| p.into_inner());
    let due = last.is_none_or(|at| at.elapsed() >= OUTBOX_SWEEP_EVERY);
    if due {
        *last = Some(std::time::Instant::now());
    }
    due
}

/// Removes messages older than `retention` from the outbox (best effort: a file
/// that cannot be removed now is tried again with the next message).
pub async fn sweep_outbox(dir: &Path, retention: std::time::Duration) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let old = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > retention);
        if old && let Err(error) = tokio::fs::remove_file(&path).await {
            tracing::warn!(path = %path.display(), %error, "cannot remove an expired outbox message");
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
    // The messages hold live invitation links: this user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .await
            .map_err(outbox_error(dir))?;
    }
    let name = eml_file_name(position, invitation);
    // Written aside and renamed, so a reader of the outbox never sees half a message.
    let partial = dir.join(format!(".{name}.partial"));
    let path = dir.join(name);
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(&partial)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[tokio::test]
    async fn the_sweep_removes_only_messages_past_the_retention() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("00000000000000000001-a.eml");
        let new = dir.path().join("00000000000000000002-b.eml");
        let other = dir.path().join("notes.txt");
        for p in [&old, &new, &other] {
            std::fs::write(p, "x").unwrap();
        }
        let week_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(week_ago)
                .unwrap();
        }
        sweep_outbox(dir.path(), OUTBOX_RETENTION).await;
        assert!(!old.exists());
        assert!(new.exists());
        assert!(other.exists(), "only messages are swept");
    }

    #[tokio::test]
    async fn the_outbox_is_swept_with_the_first_message_then_once_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Transport::new(None, dir.path()).unwrap();
        let Transport::Outbox { swept, .. } = &transport else {
            panic!("no SMTP URL: the outbox");
        };
        assert!(sweep_due(swept), "the first message sweeps");
        assert!(!sweep_due(swept), "the next one does not");
        *swept.lock().unwrap() = Some(std::time::Instant::now() - OUTBOX_SWEEP_EVERY);
        assert!(sweep_due(swept), "an hour later it sweeps again");
    }
}
