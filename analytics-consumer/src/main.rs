//! Example analytics consumer: counts Rollcall's events per type and per tenant
//! from the JetStream log, through a durable pull consumer, without parsing a
//! single event body. Prints the counts as one JSON line periodically and on exit.
//!
//! ```text
//! cargo run --release -p rollcall-analytics-consumer -- \
//!     --nats-url nats://127.0.0.1:4222 --durable-name analytics --idle-exit-secs 5
//! ```
//!
//! It builds only itself and async-nats, tokio and serde_json: no Rollcall crate.

use std::process::ExitCode;
use std::time::Duration;

use rollcall_analytics_consumer::{AnalyticsConfig, Counts, consume};

const USAGE: &str = "\
Count Rollcall events per type and per tenant

Usage: analytics-consumer [OPTIONS]

Options:
  --nats-url <URL>          NATS server [env: NATS_URL] [default: nats://127.0.0.1:4222]
  --stream <NAME>           the log's stream [default: ROLLCALL]
  --subject-prefix <P>      events are on <P>.<tenant_id> [default: rollcall.events]
  --durable-name <NAME>     the consumer's name on the server; its position survives
                            restarts [default: analytics]
  --max-messages <N>        stop after this many messages
  --idle-exit-secs <S>      stop once no message has come for this many seconds
  --report-secs <S>         print the counts this often [default: 10]
  -h, --help                print this help";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<AnalyticsConfig>, String> {
    let mut config = AnalyticsConfig::default();
    if let Ok(url) = std::env::var("NATS_URL")
        && !url.is_empty()
    {
        config.nats_url = url;
    }
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match name.as_str() {
            "--nats-url" => config.nats_url = value()?,
            "--stream" => config.stream = value()?,
            "--subject-prefix" => config.subject_prefix = value()?,
            "--durable-name" => config.durable_name = value()?,
            "--max-messages" => config.max_messages = Some(number(value()?)?),
            "--idle-exit-secs" => {
                config.idle_exit = Some(Duration::from_secs(number(value()?)?));
            }
            "--report-secs" => config.report_every = Duration::from_secs(number(value()?)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(config))
}

fn print(counts: &Counts) {
    match serde_json::to_string(counts) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("cannot print the counts: {e}"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("analytics-consumer: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match consume(&config, print, shutdown).await {
        Ok(counts) => {
            print(&counts);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("analytics-consumer: {e}");
            ExitCode::FAILURE
        }
    }
}
