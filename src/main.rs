//! The `rollcall` binary: subcommands only; the work is in the library crates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rollcall_events::{TenantId, UserId};
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

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[arg(long, default_value = "./rollcall-data")]
        data_dir: PathBuf,
        /// Use the JetStream log at this URL instead of the embedded log.
        #[arg(long)]
        nats_url: Option<String>,
        #[arg(long, default_value_t = 1)]
        nats_replicas: usize,
        /// Longest a query waits for `min_position`, in milliseconds.
        #[arg(long, default_value_t = 5000)]
        query_wait_ms: u64,
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
    },
    /// Mint a JWT to try things (signed with the server's JWT secret).
    Token {
        #[arg(long)]
        tenant: TenantId,
        #[arg(long)]
        user: UserId,
        /// `check`, `events` or both, space-separated.
        #[arg(long)]
        scope: Option<String>,
        /// Mark the token as stepped up with MFA.
        #[arg(long)]
        mfa: bool,
        #[arg(long, default_value_t = 12)]
        ttl_hours: u64,
        #[arg(long, default_value = "./rollcall-data")]
        data_dir: PathBuf,
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
            json_logs,
            no_mailer,
            checkpoint_interval_ms,
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
                public_url: env("ROLLCALL_PUBLIC_URL"),
                mailer: !no_mailer,
                checkpoint_interval: Duration::from_millis(checkpoint_interval_ms.max(1)),
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
        Cmd::Replay(args) => rollcall_replay::cli::run(args),
    }
}
