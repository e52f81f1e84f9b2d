//! The mailer's test rig: a test mint and its inverse, a mailer running in the
//! background over an outbox, and the outbox read back as the invitee would.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rollcall_events::{InvitationId, TenantId};
use rollcall_gateway::mailer::{Backoff, Mailer, MailerConfig, MailerState, MintToken};
use rollcall_log::EventLog;
use rollcall_projections::{Projections, ProjectorHandle};
use sha2::Sha256;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SECRET: &[u8] = b"test secret";
pub const PUBLIC_URL: &str = "https://rollcall.example.com/";

pub fn mac(tenant: TenantId, invitation: InvitationId, nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(format!("{tenant}:{invitation}:{nonce}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The test's stand-in for the gateway's token: ids, nonce and an HMAC over them.
pub fn mint() -> MintToken {
    Arc::new(|named| {
        let (tenant, invitation, nonce) = (named.tenant, named.invitation, &named.nonce);
        Ok(format!(
            "{tenant}.{invitation}.{nonce}.{}",
            mac(tenant, invitation, nonce)
        ))
    })
}

/// The inverse of [`mint`]: the ids and nonce, if the HMAC is right.
pub fn verify(token: &str) -> Option<(TenantId, InvitationId, String)> {
    let parts: Vec<&str> = token.split('.').collect();
    let [tenant, invitation, nonce, tag] = parts.as_slice() else {
        return None;
    };
    let tenant: TenantId = tenant.parse().ok()?;
    let invitation: InvitationId = invitation.parse().ok()?;
    (mac(tenant, invitation, nonce) == *tag).then(|| (tenant, invitation, nonce.to_string()))
}

/// A sent message as the invitee would read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub file: String,
    pub to: String,
    pub subject: String,
    /// What the link's token verifies to.
    pub token: (TenantId, InvitationId, String),
    pub body: String,
}

pub fn read_outbox(dir: &Path) -> Vec<Received> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect(),
        Err(_) => return Vec::new(),
    };
    files.sort();
    files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let message = mail_parser::MessageParser::default().parse(&bytes).unwrap();
            let body = message.body_text(0).unwrap().into_owned();
            let link = body
                .lines()
                .find(|l| l.starts_with("https://"))
                .unwrap()
                .to_owned();
            let token = link
                .strip_prefix("https://rollcall.example.com/accept?token=")
                .unwrap();
            let to = message.to().unwrap().first().unwrap();
            Received {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                to: format!("{} <{}>", to.name().unwrap(), to.address().unwrap()),
                subject: message.subject().unwrap().to_owned(),
                token: verify(token).expect("the token verifies"),
                body,
            }
        })
        .collect()
}

/// A read side of its own: projections in a fresh directory, and their projector
/// following `log`.
pub struct ReadSide {
    _dir: tempfile::TempDir,
    pub read: Projections,
    projector: ProjectorHandle,
}

impl ReadSide {
    pub fn start(log: Arc<dyn EventLog>) -> ReadSide {
        let dir = tempfile::tempdir().unwrap();
        let read = Projections::open(sled::open(dir.path()).unwrap()).unwrap();
        let projector = read.spawn(log);
        ReadSide {
            _dir: dir,
            read,
            projector,
        }
    }

    pub async fn stop(self) {
        self.projector.stop().await.unwrap();
    }
}

/// A mailer running in the background over `db`'s tree, and the read side it
/// follows when it brought its own.
pub struct Running {
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<()>,
    read_side: Option<ReadSide>,
}

/// A mailer over `log` as a read side of its own applies it.
pub fn start(log: Arc<dyn EventLog>, db: &sled::Db, outbox: &Path) -> Running {
    let read_side = ReadSide::start(log.clone());
    let mut running = start_following(read_side.read.clone(), log, db, outbox);
    running.read_side = Some(read_side);
    running
}

/// A mailer over `log` as `read` applies it.
pub fn start_following(
    read: Projections,
    log: Arc<dyn EventLog>,
    db: &sled::Db,
    outbox: &Path,
) -> Running {
    let config = MailerConfig {
        public_url: PUBLIC_URL.to_owned(),
        smtp_url: None,
        outbox_dir: outbox.to_owned(),
        from: "Rollcall <no-reply@rollcall.example.com>".to_owned(),
    };
    let mailer = Mailer::new(config, mint()).unwrap().with_backoff(Backoff {
        min: Duration::from_millis(20),
        max: Duration::from_millis(100),
    });
    let tree = db.open_tree("mailer.v1").unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        mailer
            .run(read, log, tree, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        stop,
        task,
        read_side: None,
    }
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        if let Some(read_side) = self.read_side {
            read_side.stop().await;
        }
    }
}

/// Waits until the outbox holds `n` messages (and a moment more, to catch extras).
pub async fn wait_for(outbox: &Path, n: usize) -> Vec<Received> {
    for _ in 0..200 {
        if read_outbox(outbox).len() >= n {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return read_outbox(outbox);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "the outbox never held {n} messages: {:?}",
        read_outbox(outbox)
    );
}

/// Waits until the mailer keeping its state in `db` has folded the log up to
/// `position` (and so knows every message owed up to there), and returns that
/// state as stored.
pub async fn wait_for_checkpoint(db: &sled::Db, position: u64) -> MailerState {
    for _ in 0..200 {
        let state = MailerState::load(db.open_tree("mailer.v1").unwrap()).unwrap();
        if state.checkpoint() >= position {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the mailer never folded the log up to position {position}");
}

/// Waits until the mailer keeping its state in `db` has folded the log up to
/// `position` and owes no message any more: each went out or was refused for good.
pub async fn wait_until_settled(db: &sled::Db, position: u64) {
    for _ in 0..200 {
        if !wait_for_checkpoint(db, position).await.has_due() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the mailer still owes messages");
}

pub fn inv(n: u128) -> InvitationId {
    InvitationId::from_u128(n)
}
