//! The `rollcall` binary: subcommands only; the work is in the library crates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rollcall_events::{InvitationId, TenantId, UserId};
use rollcall_gateway::http::HttpConfig;
use rollcall_gateway::run::{self, Config};

#[derive(Parser)]
#[command(
    name = "rollcall",
    version,
    about = "Event-sourced team-and-permissions backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// The environment variables `serve` reads besides its flags' own.
const SERVE_ENVIRONMENT: &str = "\
Secrets and mail, from the environment (never from flags):
  ROLLCALL_OPERATOR_TOKEN  the operator's bearer token (creates tenants)
                           [default: generated into <data-dir>/operator-token]
  ROLLCALL_JWT_SECRET      HS256 secret of member and service tokens; invitation
                           tokens are derived from it
                           [default: generated into <data-dir>/jwt-secret]
  ROLLCALL_SMTP_URL        smtp://user:pass@host:port or smtps://... for invitations
                           [default: .eml files in <data-dir>/outbox/]
  RUST_LOG                 log filter: info, rollcall_gateway=debug, ... [default: info]";

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP API.
    #[command(after_help = SERVE_ENVIRONMENT)]
    Serve {
        /// Address and port to serve HTTP on.
        #[arg(long, env = "ROLLCALL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where this gateway keeps its projections, keys and mailer state (and,
        /// without --nats-url, the embedded log).
        #[arg(long, env = "ROLLCALL_DATA_DIR", default_value = "./rollcall-data")]
        data_dir: PathBuf,
        /// Use the JetStream log at this URL instead of the embedded log
        /// (several comma-separated URLs name a cluster).
        // The URL may carry credentials: `--help` never shows its value.
        #[arg(long, env = "ROLLCALL_NATS_URL", hide_env_values = true)]
        nats_url: Option<String>,
        /// Replicas of the JetStream streams: they are created with this many (1
        /// when absent); given, an existing stream with another count is refused.
        #[arg(long, env = "ROLLCALL_NATS_REPLICAS")]
        nats_replicas: Option<usize>,
        /// Longest a query waits for `min_position`, in milliseconds.
        #[arg(long, env = "ROLLCALL_QUERY_WAIT_MS", default_value_t = 5000)]
        query_wait_ms: u64,
        /// Base of the accept link in invitation messages (`<url>/accept?token=…`);
        /// `http://<listen>` when absent.
        #[arg(long, env = "ROLLCALL_PUBLIC_URL")]
        public_url: Option<String>,
        /// Log as JSON lines.
        #[arg(long)]
        json_logs: bool,
        /// Do not run the invitation mailer here (with several gateways on one
        /// JetStream, run it on exactly one of them).
        #[arg(long)]
        no_mailer: bool,
        /// How often the checkpoint publisher signs the tenant heads that moved,
        /// in milliseconds (and once more on shutdown).
        #[arg(
            long,
            env = "ROLLCALL_CHECKPOINT_INTERVAL_MS",
            default_value_t = 30_000
        )]
        checkpoint_interval_ms: u64,
        /// The installation's checkpoint key (64 hex characters), shared by every
        /// gateway that signs; it must exist. Without it: <data-dir>/checkpoint.key,
        /// created on first start.
        #[arg(long, env = "ROLLCALL_CHECKPOINT_KEY_FILE")]
        checkpoint_key_file: Option<PathBuf>,
        /// Do not sign checkpoints here (sign on one gateway, or on every gateway
        /// with the same --checkpoint-key-file).
        #[arg(long)]
        no_checkpoint_signer: bool,
    },
    /// Mint a JWT to try things (signed with the server's JWT secret).
    Token {
        /// The tenant's id (`tid`).
        #[arg(long)]
        tenant: TenantId,
        /// The member's user id (`sub`).
        #[arg(long)]
        user: UserId,
        /// `check`, `events` or both, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// Mark the token as stepped up with MFA.
        #[arg(long)]
        mfa: bool,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
        /// The data dir whose jwt-secret signs (ROLLCALL_JWT_SECRET wins).
        #[arg(long, env = "ROLLCALL_DATA_DIR", default_value = "./rollcall-data")]
        data_dir: PathBuf,
    },
    /// Print the accept link of an open invitation, to try it without a mailbox.
    ///
    /// Reads the invitation's newest send from the log and mints its link with the
    /// server's JWT secret (ROLLCALL_JWT_SECRET, else <data-dir>/jwt-secret). On the
    /// embedded log, stop `rollcall serve` first (it holds the log).
    InvitationLink {
        /// The tenant's id.
        #[arg(long)]
        tenant: TenantId,
        /// The invitation's id (`invitation_id` of the invite answer).
        #[arg(long)]
        invitation: InvitationId,
        #[command(flatten)]
        log: rollcall_replay::cli::LogArgs,
        /// Base of the link, as `serve` has it.
        #[arg(
            long,
            env = "ROLLCALL_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Compliance: rebuild, verify, export, as-of, access-review, diff, pubkey.
    Replay(rollcall_replay::cli::ReplayArgs),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            listen,
            data_dir,
            nats_url,
            nats_replicas,
            query_wait_ms,
            public_url,
            json_logs,
            no_mailer,
            checkpoint_interval_ms,
            checkpoint_key_file,
            no_checkpoint_signer,
        } => {
            rollcall_gateway::telemetry::init_logging(json_logs);
            let config = Config {
                listen,
                data_dir,
                nats_url,
                nats_replicas,
                operator_token: env("ROLLCALL_OPERATOR_TOKEN"),
                jwt_secret: env("ROLLCALL_JWT_SECRET"),
                smtp_url: env("ROLLCALL_SMTP_URL"),
                public_url: public_url.filter(|u| !u.is_empty()),
                mailer: !no_mailer,
                checkpoint_interval: Duration::from_millis(checkpoint_interval_ms.max(1)),
                checkpoint_signer: !no_checkpoint_signer,
                checkpoint_key_file,
                http: HttpConfig {
                    query_wait: Duration::from_millis(query_wait_ms),
                    ..HttpConfig::default()
                },
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("rollcall: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rollcall: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Token {
            tenant,
            user,
            scope,
            mfa,
            ttl_hours,
            data_dir,
        } => {
            let minted = run::jwt_secret(env("ROLLCALL_JWT_SECRET"), &data_dir)
                .map_err(|e| e.to_string())
                .and_then(|secret| {
                    rollcall_gateway::auth::mint_jwt(
                        &secret,
                        tenant,
                        user,
                        scope.as_deref(),
                        mfa,
                        Duration::from_secs(ttl_hours * 3600),
                    )
                    .map_err(|e| e.to_string())
                });
            match minted {
                Ok(token) => {
                    println!("{token}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("rollcall: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::InvitationLink {
            tenant,
            invitation,
            log,
            public_url,
        } => invitation_link(tenant, invitation, log, &public_url),
        Cmd::Replay(args) => rollcall_replay::cli::run(args),
    }
}

/// `rollcall invitation-link`: the link goes to stdout and nowhere else.
fn invitation_link(
    tenant: TenantId,
    invitation: InvitationId,
    log: rollcall_replay::cli::LogArgs,
    public_url: &str,
) -> ExitCode {
    let secrets = match run::jwt_secret(env("ROLLCALL_JWT_SECRET"), &log.data_dir) {
        Ok(jwt_secret) => rollcall_gateway::auth::Secrets {
            // Only the invitation key is needed, and it derives from the JWT secret.
            operator_token: String::new(),
            jwt_secret,
        },
        Err(e) => {
            eprintln!("rollcall: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rollcall: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let link = runtime.block_on(rollcall_gateway::invitation_link::invitation_link(
        &log, &secrets, tenant, invitation, public_url,
    ));
    match link {
        Ok(link) => {
            println!("{link}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rollcall: {e}");
            ExitCode::from(2)
        }
    }
}
