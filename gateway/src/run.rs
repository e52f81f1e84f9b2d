//! `rollcall serve`: open the log (embedded or JetStream), start the read side,
//! build the router, serve until ctrl-c / SIGTERM.
//!
//! Secrets come from the environment, else from files in the data dir generated on
//! first start (mode 0600). A generated operator token is printed once, to stdout,
//! never to the logs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::auth::{MIN_SECRET_BYTES, Secrets};
use crate::fresh;
use crate::http::{AppState, HttpConfig, router};
use crate::server::ServerLimits;
use crate::service::{CommandService, Held, SharedMembers};

/// Everything `serve` needs; the binary fills it from flags and environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub nats_url: Option<String>,
    /// Replicas of the JetStream streams (see [`rollcall_replay::open::LogLocation`]).
    pub nats_replicas: Option<usize>,
    /// Bound on every JetStream request and publish acknowledgement (5 s when
    /// `None`): how long a command waits on a NATS server that stopped answering
    /// before it is answered 503, so how long a failover takes to be noticed.
    pub nats_timeout: Option<std::time::Duration>,
    pub operator_token: Option<String>,
    pub jwt_secret: Option<String>,
    /// `ROLLCALL_INVITE_KEY`: signs invitation links (every gateway of an
    /// installation needs the same).
    pub invite_key: Option<String>,
    pub smtp_url: Option<String>,
    pub public_url: Option<String>,
    /// Run the invitation mailer in this process.
    pub mailer: bool,
    /// How often the checkpoint publisher signs the tenant heads that moved.
    pub checkpoint_interval: std::time::Duration,
    /// Sign checkpoints in this process.
    pub checkpoint_signer: bool,
    /// The installation's checkpoint key, shared by every gateway that signs;
    /// `None`: `<data-dir>/checkpoint.key`, created on first start.
    pub checkpoint_key_file: Option<PathBuf>,
    pub http: HttpConfig,
    pub server: ServerLimits,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {path}: {source}")]
    Secret {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no JWT secret: set ROLLCALL_JWT_SECRET or run `rollcall serve` once with this data dir"
    )]
    NoJwtSecret,
    #[error(
        "no invitation key: set ROLLCALL_INVITE_KEY or run `rollcall serve` once with this data dir"
    )]
    NoInviteKey,
    #[error(
        "the {name} ({origin}) is {len} bytes; it must be at least {min} bytes (for instance 64 hex digits from `openssl rand -hex 32`)"
    )]
    WeakSecret {
        name: &'static str,
        origin: String,
        len: usize,
        min: usize,
    },
    #[error("cannot open the event log: {0}")]
    Log(#[from] rollcall_log::LogError),
    #[error("{0}")]
    Open(#[from] rollcall_replay::open::OpenError),
    #[error("checkpoint key: {0}")]
    CheckpointKey(#[from] rollcall_replay::CheckpointError),
    #[error(
        "no checkpoint key at {path}: every gateway that signs uses the installation's one key; \
         copy it there from the gateway that created it (its <data-dir>/checkpoint.key)"
    )]
    NoCheckpointKey { path: PathBuf },
    #[error("{0}")]
    Identity(#[from] rollcall_replay::identity::IdentityError),
    #[error("cannot start the invitation mailer in {path}: {message}")]
    Mailer { path: PathBuf, message: String },
    #[error("cannot open the projections in {path}: {message}")]
    Projections { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Serve(#[source] std::io::Error),
}

const OPERATOR_TOKEN_FILE: &str = "operator-token";
const JWT_SECRET_FILE: &str = "jwt-secret";
const INVITE_KEY_FILE: &str = "invite-key";

/// Reads a secret file, or creates it (mode 0600) with a fresh secret. The bool
/// says whether it was created now.
pub fn read_or_create_secret(path: &Path) -> Result<(String, bool), RunError> {
    let err = |source| RunError::Secret {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok((s.trim().to_owned(), false)),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let secret = fresh::secret_hex();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    file.write_all(secret.as_bytes()).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok((secret, true))
}

/// Where a secret was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(&'static str),
    /// A file of the data dir, read.
    File(PathBuf),
    /// A file of the data dir, generated now.
    Generated(PathBuf),
}

impl std::fmt::Display for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "from {name}"),
            SecretSource::File(path) => write!(f, "from {}", path.display()),
            SecretSource::Generated(path) => write!(f, "generated into {}", path.display()),
        }
    }
}

/// One secret: from its environment variable when set, else its file in the data
/// dir (created, 0600, when `create`). Logs where it came from, and warns when
/// both exist and differ: tokens signed with the file's secret will then fail.
fn load_secret(
    name: &'static str,
    env_name: &'static str,
    env: Option<String>,
    path: &Path,
    create: bool,
) -> Result<Option<(String, SecretSource)>, RunError> {
    let file = match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(RunError::Secret {
                path: path.to_owned(),
                source,
            });
        }
    };
    let loaded = match (env.filter(|s| !s.is_empty()), file) {
        (Some(value), file) => {
            if file.as_ref().is_some_and(|f| *f != value) {
                tracing::warn!(
                    "the {name} comes from {env_name}, which differs from {}: credentials made with the file's secret are refused",
                    path.display()
                );
            }
            Some((value, SecretSource::Env(env_name)))
        }
        (None, Some(value)) => Some((value, SecretSource::File(path.to_owned()))),
        (None, None) if create => {
            let (value, _) = read_or_create_secret(path)?;
            Some((value, SecretSource::Generated(path.to_owned())))
        }
        (None, None) => None,
    };
    if let Some((value, source)) = &loaded {
        if value.len() < MIN_SECRET_BYTES {
            return Err(RunError::WeakSecret {
                name,
                origin: source.to_string(),
                len: value.len(),
                min: MIN_SECRET_BYTES,
            });
        }
        tracing::info!("the {name} comes {source}");
    }
    Ok(loaded)
}

/// The JWT secret as `rollcall token` finds it: environment, else the data dir.
pub fn jwt_secret(env: Option<String>, data_dir: &Path) -> Result<String, RunError> {
    load_secret(
        "JWT secret",
        "ROLLCALL_JWT_SECRET",
        env,
        &data_dir.join(JWT_SECRET_FILE),
        false,
    )?
    .map(|(secret, _)| secret)
    .ok_or(RunError::NoJwtSecret)
}

/// The invitation key as `rollcall invitation-link` finds it: environment, else the
/// data dir.
pub fn invite_key(env: Option<String>, data_dir: &Path) -> Result<Vec<u8>, RunError> {
    load_secret(
        "invitation key",
        "ROLLCALL_INVITE_KEY",
        env,
        &data_dir.join(INVITE_KEY_FILE),
        false,
    )?
    .map(|(key, _)| key.into_bytes())
    .ok_or(RunError::NoInviteKey)
}

/// The secrets a server runs with, and the operator token if it was generated now
/// (the caller prints it once).
pub fn secrets(config: &Config) -> Result<(Secrets, Option<String>), RunError> {
    let dir = &config.data_dir;
    let missing = || RunError::NoJwtSecret;
    let (operator_token, source) = load_secret(
        "operator token",
        "ROLLCALL_OPERATOR_TOKEN",
        config.operator_token.clone(),
        &dir.join(OPERATOR_TOKEN_FILE),
        true,
    )?
    .ok_or_else(missing)?;
    let generated = matches!(source, SecretSource::Generated(_)).then(|| operator_token.clone());
    let (jwt_secret, _) = load_secret(
        "JWT secret",
        "ROLLCALL_JWT_SECRET",
        config.jwt_secret.clone(),
        &dir.join(JWT_SECRET_FILE),
        true,
    )?
    .ok_or_else(missing)?;
    let (invite_key, _) = load_secret(
        "invitation key",
        "ROLLCALL_INVITE_KEY",
        config.invite_key.clone(),
        &dir.join(INVITE_KEY_FILE),
        true,
    )?
    .ok_or_else(missing)?;
    Ok((
        Secrets {
            operator_token,
            jwt_secret,
            invite_key: invite_key.into_bytes(),
        },
        generated,
    ))
}

/// Opens the log the configuration names, with its checkpoint and snapshot stores
/// (`replay rollcall …` opens it the same way: [`rollcall_replay::open`]).
pub async fn open_log(config: &Config) -> Result<rollcall_replay::open::OpenedLog, RunError> {
    Ok(
        rollcall_replay::open::open_log(&rollcall_replay::open::LogLocation {
            data_dir: config.data_dir.clone(),
            nats_url: config.nats_url.clone(),
            nats_replicas: config.nats_replicas,
            cache_bytes: Some(LOG_CACHE_BYTES),
            nats_timeout: config.nats_timeout,
        })
        .await?,
    )
}

/// Memory sled may keep of the embedded log's pages (its default is 1 GiB). The
/// read side answers from its own index, so this cache only serves catch-up
/// reads, which follow the writes closely, and recent writes. sled counts a
/// page at its size on disk; in memory it takes more.
pub const LOG_CACHE_BYTES: u64 = 4 * 1024 * 1024;
/// Memory sled may keep of the projections' pages: queries and checks answer
/// from the index in memory; the store is read for audit pages, the state hash
/// and on restart.
pub const PROJECTIONS_CACHE_BYTES: u64 = 4 * 1024 * 1024;
/// Memory sled may keep of the mailer's database (its state in memory answers
/// all but a resend or a rename of an invitation already sent).
pub const MAILER_CACHE_BYTES: u64 = 1024 * 1024;

/// The read side's members, for the command side to share (it only ever takes
/// a member equal to its own).
fn shared_members(projections: &rollcall_projections::Projections) -> SharedMembers {
    let read = projections.clone();
    Arc::new(move |tenant, users| {
        let view = read.view();
        let Some(index) = view.tenant(tenant) else {
            return Held::default();
        };
        Held {
            tenant_seq: index.tenant_seq,
            members: users
                .iter()
                .map(|user| Some(index.member(*user)?.member.clone()))
                .collect(),
        }
    })
}

/// Opens (or creates) this gateway's projections.
pub fn open_projections(path: &Path) -> Result<rollcall_projections::Projections, RunError> {
    let err = |message: String| RunError::Projections {
        path: path.to_owned(),
        message,
    };
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(PROJECTIONS_CACHE_BYTES)
        .open()
        .map_err(|e| err(e.to_string()))?;
    rollcall_projections::Projections::open(db).map_err(|e| err(e.to_string()))
}

/// Starts the invitation mailer over the log as `read` applies it: SMTP when `ROLLCALL_SMTP_URL` is set,
/// otherwise `.eml` files in `<data-dir>/outbox/`. Its checkpoint lives in its own
/// sled database under `<data-dir>/mailer`.
fn start_mailer(
    config: &Config,
    secrets: &crate::auth::Secrets,
    read: &rollcall_projections::Projections,
    log: Arc<dyn rollcall_log::EventLog>,
) -> Result<
    (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
    RunError,
> {
    use crate::mailer::{Mailer, MailerConfig, MintToken};
    let path = config.data_dir.join("mailer");
    let err = |message: String| RunError::Mailer {
        path: path.clone(),
        message,
    };
    let db = sled::Config::new()
        .path(&path)
        .cache_capacity(MAILER_CACHE_BYTES)
        .open()
        .map_err(|e| err(e.to_string()))?;
    let tree = db.open_tree("mailer.v1").map_err(|e| err(e.to_string()))?;
    let key = secrets.invite_key();
    let mint: MintToken = Arc::new(move |token| crate::invite_token::mint(&key, token));
    let mailer_config = MailerConfig {
        public_url: config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen)),
        smtp_url: config.smtp_url.clone(),
        outbox_dir: config.data_dir.join("outbox"),
        from: "Rollcall <no-reply@rollcall.invalid>".to_owned(),
    };
    let mailer = Mailer::new(mailer_config, mint).map_err(|e| err(e.to_string()))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let read = read.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = mailer.run(read, log, tree, shutdown).await {
            tracing::error!(error = %e, "the invitation mailer stopped");
        }
    });
    Ok((stop, task))
}

/// The checkpoint signer: the configured key file (which must exist: a gateway
/// making up its own key would sign what no auditor trusts), else the data dir's
/// key, created on first start.
fn checkpoint_signer(config: &Config) -> Result<rollcall_replay::CheckpointSigner, RunError> {
    use rollcall_replay::{CheckpointError, CheckpointSigner};
    match &config.checkpoint_key_file {
        Some(path) => CheckpointSigner::load(path).map_err(|e| match e {
            CheckpointError::NoKey { .. } => RunError::NoCheckpointKey { path: path.clone() },
            e => e.into(),
        }),
        None => Ok(CheckpointSigner::load_or_create_in(&config.data_dir)?),
    }
}

/// Runs the server until ctrl-c or SIGTERM, then drains in-flight requests.
///
/// The port is taken first, and the data dir is checked against the log before
/// anything is written: a start that fails leaves nothing behind and prints no
/// token.
pub async fn serve(config: Config) -> Result<(), RunError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| RunError::Listen {
            addr: config.listen,
            source,
        })?;
    rollcall_replay::identity::check_backend(&config.data_dir, config.nats_url.is_some())?;
    create_private_dir(&config.data_dir)?;
    let opened = open_log(&config).await?;
    rollcall_replay::identity::claim(&config.data_dir, &opened.identity)?;
    let signer = if config.checkpoint_signer {
        Some(Arc::new(checkpoint_signer(&config)?))
    } else {
        None
    };
    let installation_key = signer.as_ref().map(|s| s.public_key_hex().to_owned());
    let (secrets, generated) = secrets(&config)?;
    let log = opened.log.clone();
    let (checkpoints_stop, checkpoints_stopped) = tokio::sync::oneshot::channel::<()>();
    let projections = open_projections(&config.data_dir.join("projections"))?;
    let checkpoints_task = signer.map(|signer| {
        tokio::spawn(rollcall_replay::publish_checkpoints(
            log.clone(),
            Some(projections.clone()),
            signer,
            opened.checkpoints.clone(),
            config.checkpoint_interval,
            async move {
                let _ = checkpoints_stopped.await;
            },
        ))
    });
    let projector = projections.spawn(log.clone());
    let (mailer_stop, mailer_task) = if config.mailer {
        let (stop, task) = start_mailer(&config, &secrets, &projections, log.clone())?;
        (Some(stop), Some(task))
    } else {
        (None, None)
    };
    let log_for_history = log.clone();
    let service = Arc::new(CommandService::new(log).sharing_members(shared_members(&projections)));
    let history = rollcall_replay::TeamHistory::new(log_for_history, Some(opened.snapshots));
    let state = AppState::new(service, projections.clone(), secrets, config.http.clone())
        .with_compliance(history, opened.checkpoints)
        .with_installation_key(installation_key);
    let pruning = tokio::spawn(prune_rates(state.clone()));
    let app = router(state.clone());
    if let Some(token) = generated {
        // Printed once, to stdout, so it never lands in a log aggregator; only
        // once the server is sure to start.
        println!(
            "operator token (shown once, also in {}): {token}",
            config.data_dir.join(OPERATOR_TOKEN_FILE).display()
        );
    }
    let addr = crate::server::local_addr(&listener, config.listen);
    tracing::info!(%addr, embedded = config.nats_url.is_none(), "rollcall listening");
    let stopping = state.clone();
    crate::server::serve(listener, app, config.server, async move {
        shutdown_signal().await;
        // Open event streams send their last event and end, so the connections
        // they hold can close.
        stopping.begin_shutdown();
    })
    .await;
    pruning.abort();
    if let Err(e) = projector.stop().await {
        tracing::warn!(error = %e, "the projector stopped with an error");
    }
    if let (Some(stop), Some(task)) = (mailer_stop, mailer_task) {
        let _ = stop.send(());
        let _ = task.await;
    }
    let _ = checkpoints_stop.send(());
    if let Some(task) = checkpoints_task {
        let _ = task.await;
    }
    tracing::info!("rollcall stopped");
    Ok(())
}

/// Creates the data dir if needed, readable by this user alone (it holds the
/// secrets, the outbox and, embedded, the log).
fn create_private_dir(path: &Path) -> Result<(), RunError> {
    let err = |source| RunError::DataDir {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Forgets rate-limit keys whose allowance is full again, every few seconds.
async fn prune_rates(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
    loop {
        tick.tick().await;
        state.rates().prune();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
