//! The invitation mailer: a consumer of the log, as the read side applies it
//! (each event decoded once for the whole process), that sends each invitee the link
//! that accepts their invitation (`<public_url>/accept?token=…`), by SMTP when a
//! relay is configured and otherwise as `.eml` files in the outbox directory.
//!
//! It keeps its own durable checkpoint and state (see [`state`]), so a restart
//! neither re-sends nor skips. While catching up it folds everything up to the
//! log's head before sending, so an invitation accepted, canceled or resent later
//! in the log gets no stale message. A failed send is retried with backoff and
//! never stops the loop. The token is minted here from the event's nonce (it is
//! never in an event) and goes into the message body only, never into a log line.

mod message;
mod state;
mod transport;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use lettre::message::Mailbox;
use rollcall_log::{EventLog, LogError};
use rollcall_projections::Projections;

pub use message::{ComposeError, MailText, accept_link, compose, render};
pub use state::{MailerState, OpenInvitation, TenantLabel};
pub use transport::{SendError, eml_file_name};

use transport::Transport;

/// Mints the accept token of an invitation from its tenant, id, invitee and newest
/// nonce (the gateway passes `invite_token::mint` with the invitation key bound).
pub type MintToken = Arc<
    dyn Fn(&crate::invite_token::InviteToken) -> Result<String, crate::invite_token::TokenError>
        + Send
        + Sync,
>;

/// How long owed messages may wait while the mailer is still catching up with a
/// log that keeps moving; past it they go out even though the head is not reached.
const MAX_DEFER: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct MailerConfig {
    /// Where the accept page lives (`ROLLCALL_PUBLIC_URL`).
    pub public_url: String,
    /// `smtp://user:pass@host:port`, `smtps://…`, or `None` for the outbox.
    pub smtp_url: Option<String>,
    /// `<data-dir>/outbox`, used when `smtp_url` is `None`.
    pub outbox_dir: PathBuf,
    /// The sender, `Rollcall <no-reply@example.com>` or a bare address.
    pub from: String,
}

impl fmt::Debug for MailerConfig {
    // The SMTP URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailerConfig")
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("outbox_dir", &self.outbox_dir)
            .field("from", &self.from)
            .finish()
    }
}

/// What stops the mailer. Send failures are not here: they are retried.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The URL is not named: it may carry the relay's password.
    #[error("the SMTP URL is not valid")]
    SmtpUrl,
    #[error("the sender address {from:?} is not a valid mailbox")]
    From { from: String },
    #[error("the mailer's state store failed: {0}")]
    Store(#[from] sled::Error),
    #[error("the mailer's state is corrupt: {0}")]
    CorruptState(String),
}

/// Growing pause between retries of one failing operation.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(200),
            max: Duration::from_secs(60),
        }
    }
}

pub struct Mailer {
    public_url: String,
    from: Mailbox,
    transport: Transport,
    mint: MintToken,
    backoff: Backoff,
}

type Shutdown<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

impl Mailer {
    pub fn new(config: MailerConfig, mint: MintToken) -> Result<Mailer, MailerError> {
        let from = config.from.parse().map_err(|_| MailerError::From {
            from: config.from.clone(),
        })?;
        let transport = Transport::new(config.smtp_url.as_deref(), &config.outbox_dir)?;
        Ok(Mailer {
            public_url: config.public_url,
            from,
            transport,
            mint,
            backoff: Backoff::default(),
        })
    }

    /// Replaces the retry pauses (tests use short ones).
    pub fn with_backoff(mut self, backoff: Backoff) -> Mailer {
        self.backoff = backoff;
        self
    }

    /// Consumes the log, as the read side `read` applies it, from after the
    /// checkpoint kept in `tree` until `shutdown` completes. Returns an error only
    /// when its own state store fails.
    pub async fn run(
        self,
        read: Projections,
        log: Arc<dyn EventLog>,
        tree: sled::Tree,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), MailerError> {
        let mut state = MailerState::load(tree)?;
        let mut shutdown: Shutdown<'_> = Box::pin(shutdown);
        let shutdown = &mut shutdown;
        let mut log_retry = self.backoff.min;
        tracing::info!(checkpoint = state.checkpoint(), "invitation mailer starts");
        loop {
            let mut events = read.follow(log.clone(), state.checkpoint() + 1);
            // How far the catch-up goes before owed messages are sent: the log's
            // head seen now, and once there, whatever the read side has applied
            // since (it is what the mailer is fed, and knowing it costs nothing).
            let mut target = log.head().await.unwrap_or(0);
            let mut due_since: Option<Instant> = None;
            loop {
                if state.has_due() {
                    let since = *due_since.get_or_insert_with(Instant::now);
                    if state.checkpoint() >= target || since.elapsed() >= MAX_DEFER {
                        if !self.send_due(&mut state, shutdown).await? {
                            return Ok(());
                        }
                        due_since = None;
                    }
                }
                let next = tokio::select! {
                    () = shutdown.as_mut() => return Ok(()),
                    next = events.next() => next,
                };
                match next {
                    Some(Ok(record)) => {
                        log_retry = self.backoff.min;
                        if record.raw.position <= state.checkpoint() {
                            continue;
                        }
                        state.apply(&record)?;
                        if state.checkpoint() >= target {
                            // Reached the head seen before; is there more already?
                            target = target.max(read.position());
                        }
                    }
                    Some(Err(LogError::Undecodable { position, error })) => {
                        tracing::warn!(position, %error, "mailer skips a record that is not an event");
                        state.pass(position)?;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, retry_in = ?log_retry, "mailer cannot read the log");
                        if !pause(log_retry, shutdown).await {
                            return Ok(());
                        }
                        log_retry = (log_retry * 2).min(self.backoff.max);
                        break;
                    }
                    None => {
                        tracing::warn!(retry_in = ?log_retry, "mailer lost the read side's events");
                        if !pause(log_retry, shutdown).await {
                            return Ok(());
                        }
                        break;
                    }
                }
            }
        }
    }

    /// Sends every owed message, oldest first, each retried until it goes out,
    /// and makes what it settled durable at the end. Returns false when shutdown
    /// came first.
    async fn send_due(
        &self,
        state: &mut MailerState,
        shutdown: &mut Shutdown<'_>,
    ) -> Result<bool, MailerError> {
        // Each turn settles the invitation it took, so the next one is another.
        while let Some(invitation) = state.first_due() {
            let id = invitation.invitation_id;
            let position = invitation.position;
            if invitation.expires_at <= Utc::now() {
                tracing::info!(position, invitation_id = %id, "mailer skips an expired invitation");
                state.settle(id)?;
                continue;
            }
            let named = crate::invite_token::InviteToken {
                tenant: invitation.tenant_id,
                invitation: id,
                invitee: invitation.user_id,
                nonce: invitation.nonce.clone(),
            };
            let token = match (self.mint)(&named) {
                Ok(token) => token,
                Err(e) => {
                    tracing::error!(position, error = %e, "mailer cannot mint an invitation link");
                    state.settle(id)?;
                    continue;
                }
            };
            let link = accept_link(&self.public_url, &token);
            let text = render(&invitation, state.tenant(invitation.tenant_id), &link);
            let message = match compose(&self.from, &invitation, text) {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(position, error = %e, "mailer drops a message it cannot build");
                    state.settle(id)?;
                    continue;
                }
            };
            let mut retry = self.backoff.min;
            loop {
                match self.transport.send(position, id, &message).await {
                    Ok(()) => {
                        tracing::info!(position, invitation_id = %id, "invitation message sent");
                        break;
                    }
                    Err(e) if !e.is_transient() => {
                        tracing::warn!(position, invitation_id = %id, error = %e, "invitation message refused for good");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(position, invitation_id = %id, error = %e, retry_in = ?retry, "invitation message not sent");
                        if !pause(retry, shutdown).await {
                            state.flush().await?;
                            return Ok(false);
                        }
                        retry = (retry * 2).min(self.backoff.max);
                    }
                }
            }
            state.settle(id)?;
        }
        // One flush for every message settled in this pass, not one each: a
        // crash before it sends those messages again (an outbox message
        // overwrites its own file), as a crash between a send and its flush
        // always could.
        state.flush().await?;
        Ok(true)
    }
}

/// Sleeps for `delay`; false when shutdown completed first.
async fn pause(delay: Duration, shutdown: &mut Shutdown<'_>) -> bool {
    tokio::select! {
        () = shutdown.as_mut() => false,
        () = tokio::time::sleep(delay) => true,
    }
}
