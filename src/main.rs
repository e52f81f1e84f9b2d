//! The `rollcall` binary: subcommands only; the work is in the library crates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rollcall_events::{InvitationId, TenantId, UserId};
use rollcall_gateway::auth::{MintOptions, TokenPolicy};
use rollcall_gateway::http::HttpConfig;
use rollcall_gateway::limits::RateLimit;
use rollcall_gateway::run::{self, Config};
use rollcall_gateway::server::ServerLimits;

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
        /// Longest a JetStream request or publish acknowledgement may take, in
        /// milliseconds; past it a command answers 503 (`unavailable`, or
        /// `outcome-unknown` for an append). Lower notices a failed server sooner;
        /// too low turns a slow moment of the cluster into refusals. 5000 when
        /// absent.
        #[arg(long, env = "ROLLCALL_NATS_TIMEOUT_MS",
            value_parser = clap::value_parser!(u64).range(100..=60_000))]
        nats_timeout_ms: Option<u64>,
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
        #[command(flatten)]
        limits: Limits,
    },
    /// Mint a JWT to try things (signed with the server's JWT secret).
    Token {
        /// The tenant's id (`tid`).
        #[arg(long)]
        tenant: TenantId,
        /// The member's user id (`sub`).
        #[arg(long)]
        user: UserId,
        /// `check`, `read`, `events`, `admin`, space-separated; none = every scope.
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
        /// `iss` claim (set it when the server requires one).
        #[arg(long, env = "ROLLCALL_JWT_ISSUER")]
        issuer: Option<String>,
        /// `aud` claim (set it when the server requires one).
        #[arg(long, env = "ROLLCALL_JWT_AUDIENCE")]
        audience: Option<String>,
    },
    /// Print the accept link of an open invitation, to try it without a mailbox.
    ///
    /// Reads the invitation's newest send from the log and mints its link with the
    /// server's invitation key (ROLLCALL_INVITE_KEY, else <data-dir>/invite-key). On
    /// the embedded log, stop `rollcall serve` first (it holds the log).
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

/// The limits `serve` enforces; each has a default fit for production.
#[derive(clap::Args)]
struct Limits {
    /// Require this `iss` in member tokens.
    #[arg(long, env = "ROLLCALL_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Require this `aud` in member tokens.
    #[arg(long, env = "ROLLCALL_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// Longest lifetime accepted for a member token, in hours.
    #[arg(long, env = "ROLLCALL_MAX_TOKEN_LIFETIME_HOURS", default_value_t = 24)]
    max_token_lifetime_hours: u64,
    /// Event streams one member may hold open at once.
    #[arg(long, env = "ROLLCALL_STREAMS_PER_MEMBER", default_value_t = 4)]
    streams_per_member: usize,
    /// Event streams one tenant may have open at once.
    #[arg(long, env = "ROLLCALL_STREAMS_PER_TENANT", default_value_t = 64)]
    streams_per_tenant: usize,
    /// Commands per second one member may send (bursts of twice that); 0 = no limit.
    #[arg(long, env = "ROLLCALL_COMMANDS_PER_MEMBER", default_value_t = 20)]
    commands_per_member: u32,
    /// Commands per second one client address may send (bursts of twice that); 0 = no limit.
    #[arg(long, env = "ROLLCALL_COMMANDS_PER_IP", default_value_t = 200)]
    commands_per_ip: u32,
    /// A proxy (CIDR) whose `X-Forwarded-For` names the client; repeat for several.
    #[arg(
        long = "trusted-proxy",
        env = "ROLLCALL_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest a client may take to send a request's headers (and longest a
    /// kept-alive connection may stay idle), in seconds.
    #[arg(long, env = "ROLLCALL_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Longest a request may run, in seconds (streams excepted).
    #[arg(long, env = "ROLLCALL_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Connections open at once.
    #[arg(long, env = "ROLLCALL_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "ROLLCALL_BODY_LIMIT_BYTES", default_value_t = 256 * 1024)]
    body_limit_bytes: usize,
    /// Serve /metrics without the operator token (only where the listener is
    /// reachable by the scraper alone).
    #[arg(long, env = "ROLLCALL_METRICS_PUBLIC")]
    metrics_public: bool,
}

/// jemalloc: glibc's malloc spent much of the server's and the CLI's time in its
/// free-list upkeep (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
            nats_timeout_ms,
            query_wait_ms,
            public_url,
            json_logs,
            no_mailer,
            checkpoint_interval_ms,
            checkpoint_key_file,
            no_checkpoint_signer,
            limits,
        } => {
            rollcall_gateway::telemetry::init_logging(json_logs);
            let config = Config {
                listen,
                data_dir,
                nats_url,
                nats_replicas,
                nats_timeout: nats_timeout_ms.map(Duration::from_millis),
                operator_token: env("ROLLCALL_OPERATOR_TOKEN"),
                jwt_secret: env("ROLLCALL_JWT_SECRET"),
                invite_key: env("ROLLCALL_INVITE_KEY"),
                smtp_url: env("ROLLCALL_SMTP_URL"),
                public_url: public_url.filter(|u| !u.is_empty()),
                mailer: !no_mailer,
                checkpoint_interval: Duration::from_millis(checkpoint_interval_ms.max(1)),
                checkpoint_signer: !no_checkpoint_signer,
                checkpoint_key_file,
                http: HttpConfig {
                    query_wait: Duration::from_millis(query_wait_ms),
                    request_timeout: Duration::from_secs(limits.request_timeout_secs.max(1)),
                    body_limit: limits.body_limit_bytes,
                    tokens: TokenPolicy {
                        issuer: limits.jwt_issuer,
                        audience: limits.jwt_audience,
                        max_lifetime: Duration::from_secs(limits.max_token_lifetime_hours * 3600),
                    },
                    streams_per_member: limits.streams_per_member,
                    streams_per_tenant: limits.streams_per_tenant,
                    commands_per_member: RateLimit {
                        per_second: limits.commands_per_member,
                        burst: limits.commands_per_member.saturating_mul(2),
                    },
                    commands_per_ip: RateLimit {
                        per_second: limits.commands_per_ip,
                        burst: limits.commands_per_ip.saturating_mul(2),
                    },
                    trusted_proxies: limits.trusted_proxies,
                    metrics_public: limits.metrics_public,
                    ..HttpConfig::default()
                },
                server: ServerLimits {
                    header_read_timeout: Duration::from_secs(limits.header_timeout_secs.max(1)),
                    max_connections: limits.max_connections.max(1),
                    ..ServerLimits::default()
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
            issuer,
            audience,
        } => {
            let minted = run::jwt_secret(env("ROLLCALL_JWT_SECRET"), &data_dir)
                .map_err(|e| e.to_string())
                .and_then(|secret| {
                    rollcall_gateway::auth::mint_jwt(
                        &secret,
                        tenant,
                        user,
                        &MintOptions {
                            scope,
                            mfa,
                            issuer,
                            audience,
                        },
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
    let key = match run::invite_key(env("ROLLCALL_INVITE_KEY"), &log.data_dir) {
        Ok(key) => key,
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
        &log, &key, tenant, invitation, public_url,
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
