//! Example analytics consumer: counts Rollcall's events per type and per tenant
//! from the JetStream log, through a durable pull consumer, without parsing a
//! single event body. Prints the counts as one JSON line periodically and on exit.
//!
//! ```text
//! cargo run -p rollcall-gateway --example analytics_consumer -- \
//!     --nats-url nats://127.0.0.1:4222 --durable-name analytics --idle-exit-secs 5
//! ```

use std::time::Duration;

use clap::Parser;
use rollcall_gateway::analytics::{AnalyticsConfig, Counts, consume};

#[derive(Debug, Parser)]
#[command(about = "Count Rollcall events per type and per tenant")]
struct Args {
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,
    #[arg(long, default_value = "ROLLCALL")]
    stream: String,
    #[arg(long, default_value = "rollcall.events")]
    subject_prefix: String,
    /// The consumer's name on the server; its position survives restarts.
    #[arg(long, default_value = "analytics")]
    durable_name: String,
    /// Stop after this many messages.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Stop once no message has come for this many seconds.
    #[arg(long)]
    idle_exit_secs: Option<u64>,
    /// Print the counts this often.
    #[arg(long, default_value_t = 10)]
    report_secs: u64,
}

fn print(counts: &Counts) {
    match serde_json::to_string(counts) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("cannot print the counts: {e}"),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = AnalyticsConfig {
        nats_url: args.nats_url,
        stream: args.stream,
        subject_prefix: args.subject_prefix,
        durable_name: args.durable_name,
        max_messages: args.max_messages,
        idle_exit: args.idle_exit_secs.map(Duration::from_secs),
        report_every: Duration::from_secs(args.report_secs),
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match consume(&config, print, shutdown).await {
        Ok(counts) => {
            print(&counts);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("analytics consumer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
