//! Test helper: appends to the embedded log in `<dir>` from several tasks, one
//! tenant each, and prints `<tenant> <tenant_seq> <position> <event_id>` for every
//! acknowledged append, until killed. The durability test kills it mid-flight and
//! checks that every printed append survived.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use rollcall_events::GENESIS_HASH;
use rollcall_log::{EmbeddedLog, EventLog};
use rollcall_tests::log_conformance::{new_tenant, sealed};

const WRITERS: usize = 4;

#[tokio::main]
async fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: rollcall-log-writer <dir>");
        std::process::exit(2);
    };
    let log = match EmbeddedLog::open(&dir) {
        Ok(log) => Arc::new(log),
        Err(e) => {
            eprintln!("cannot open the log: {e}");
            std::process::exit(1);
        }
    };
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let tenant = new_tenant();
            let mut prev = GENESIS_HASH.to_owned();
            for seq in 1u64.. {
                let event = sealed(tenant, seq, &prev, "durability");
                match log.append(tenant, seq - 1, &event).await {
                    Ok(appended) => {
                        let line =
                            format!("{tenant} {seq} {} {}\n", appended.position, event.event_id);
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(line.as_bytes());
                        let _ = out.flush();
                    }
                    Err(e) => {
                        eprintln!("append failed: {e}");
                        std::process::exit(1);
                    }
                }
                prev = event.hash;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}
