//! A private nats-server for one test: its own ephemeral port and store directory,
//! killed when dropped. Tests never touch a server someone else started, so they
//! can run in parallel and leave nothing behind.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long a fresh server may take to accept connections before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running (or deliberately killed) nats-server with JetStream enabled.
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    store: TempDir,
    child: Option<Child>,
    /// Each start logs to its own file so a failure shows that start's output.
    starts: u32,
}

impl NatsServer {
    /// Starts a server on a free ephemeral port with a fresh store directory.
    /// Panics (with the server's own output) when it cannot be started.
    pub fn start() -> NatsServer {
        let binary = find_binary();
        // Another process may grab the port between our probe and the server's bind;
        // a few attempts on fresh ports make that race harmless.
        let mut last_error = String::new();
        for _ in 0..5 {
            let mut server = NatsServer {
                binary: binary.clone(),
                port: free_port(),
                store: tempfile::Builder::new()
                    .prefix("rollcall-nats-")
                    .tempdir()
                    .unwrap_or_else(|e| panic!("cannot create a store directory: {e}")),
                child: None,
                starts: 0,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("nats-server did not start: {last_error}");
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Publishes a message that is not an event envelope on the events subject
    /// of `tenant`, as something other than Rollcall might: readers of the log
    /// meet it in its place, as a record they cannot decode.
    pub async fn publish_not_an_event(&self, tenant: rollcall_events::TenantId) {
        let client = async_nats::connect(self.url()).await.expect("connect");
        async_nats::jetstream::new(client)
            .publish(
                format!("rollcall.events.{tenant}"),
                "not an envelope".into(),
            )
            .await
            .expect("publish")
            .await
            .expect("stored");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream event log on this server, with the default configuration
    /// (streams created on first use). Panics when it cannot connect.
    pub async fn connect_log(&self) -> rollcall_log::JetStreamLog {
        rollcall_log::JetStreamLog::connect(rollcall_log::JetStreamConfig {
            url: self.url(),
            ..rollcall_log::JetStreamConfig::default()
        })
        .await
        .unwrap_or_else(|e| panic!("cannot connect the JetStream log to {}: {e}", self.url()))
    }

    /// The JetStream store directory, kept across restarts.
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// Hard stop (SIGKILL): no clean shutdown, like a crashed machine's process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused process dies of SIGKILL all the same.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store directory.
    /// Panics (with the server's output) when it does not come back.
    pub fn restart(&mut self) {
        self.kill();
        // The old listener's socket may linger for a moment; retry briefly.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("nats-server did not restart on port {}: {e}", self.port)
                }
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Freezes the process (SIGSTOP): connections stay open and nothing answers,
    /// as with a server stuck on its disk or its network.
    pub fn pause(&mut self) {
        self.signal("-STOP");
    }

    /// Thaws a paused process (SIGCONT); it goes on with what it had received.
    pub fn resume(&mut self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "kill {signal} nats-server failed"
            );
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    fn log_path(&self) -> PathBuf {
        self.store
            .path()
            .join(format!("server-{}.log", self.starts))
    }

    /// Launches the process and waits until it accepts connections; on failure the
    /// error carries the server's output.
    fn spawn(&mut self) -> Result<(), String> {
        self.starts += 1;
        let log_path = self.log_path();
        let log = File::create(&log_path).map_err(|e| format!("cannot create log file: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot duplicate log file: {e}"))?;
        let data_dir = self.store.path().join("jetstream");
        let mut child = Command::new(&self.binary)
            .arg("-js")
            .args(["-a", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .arg("-sd")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "exited with {status} before accepting connections; its output:\n{}",
                    read_log(&log_path)
                ));
            }
            if accepts_nats(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no connection accepted on port {} within {START_TIMEOUT:?}; its output:\n{}",
                    self.port,
                    read_log(&log_path)
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `nats-server` from PATH, else the distribution's location.
pub(crate) fn find_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file())
    });
    let fallback = PathBuf::from("/usr/sbin/nats-server");
    match on_path {
        Some(path) => path,
        None if fallback.is_file() => fallback,
        None => panic!(
            "nats-server is not installed (not on PATH, not at /usr/sbin/nats-server); \
             ./scripts/test.sh installs it"
        ),
    }
}

pub(crate) fn free_port() -> u16 {
    match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("cannot find a free port: {e}"),
    }
}

/// A NATS server greets every new connection with an `INFO` line; checking for it
/// (not just an open port) makes sure it is our server that answered.
pub(crate) fn accepts_nats(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = [0u8; 4];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO"
}

pub(crate) fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| format!("(cannot read {}: {e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = NatsServer::start();
        let port = server.port();
        assert!(accepts_nats(port));
        assert!(server.url().ends_with(&format!(":{port}")));

        server.kill();
        assert!(!server.is_running());
        assert!(!accepts_nats(port));

        server.restart();
        assert!(server.is_running());
        assert_eq!(server.port(), port);
        assert!(accepts_nats(port));
    }

    #[test]
    fn two_servers_never_share_a_port_or_a_store() {
        let a = NatsServer::start();
        let b = NatsServer::start();
        assert_ne!(a.port(), b.port());
        assert_ne!(a.store_dir(), b.store_dir());
    }
}
