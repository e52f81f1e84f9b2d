//! Runs the real `rollcall` binary for end-to-end tests: an ephemeral port, a
//! temporary data directory, fixed secrets, and the embedded log or a NATS URL.
//! The process is killed when the handle drops.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The operator token every test server is started with.
pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789abcdef";
/// The JWT secret every test server is started with.
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdef0123456789abcdef";

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `None` runs on the embedded log.
    pub nats_url: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Extra arguments of `serve`.
    pub args: Vec<String>,
}

/// A running `rollcall serve`.
pub struct RollcallServer {
    bin: PathBuf,
    options: ServerOptions,
    data_dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl RollcallServer {
    /// Starts `bin serve` and waits until `/readyz` answers 200.
    pub fn start(bin: impl AsRef<Path>, options: ServerOptions) -> RollcallServer {
        let data_dir = tempfile::tempdir().expect("temp data dir");
        let mut server = RollcallServer {
            bin: bin.as_ref().to_path_buf(),
            options,
            data_dir,
            port: free_port(),
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("ROLLCALL_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("ROLLCALL_JWT_SECRET", JWT_SECRET)
            .env("ROLLCALL_PUBLIC_URL", "http://rollcall.test")
            // Tests send bursts of commands from one address; the limits have
            // tests of their own.
            .env("ROLLCALL_COMMANDS_PER_MEMBER", "10000")
            .env("ROLLCALL_COMMANDS_PER_IP", "100000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(url) = &self.options.nats_url {
            command.arg("--nats-url").arg(url);
        }
        command.args(&self.options.args);
        for (k, v) in &self.options.env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start the rollcall binary");
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(30));
    }

    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("rollcall exited before it was ready: {status}");
            }
            if http_status(self.port, "/readyz") == Some(200) {
                return;
            }
            if Instant::now() > deadline {
                panic!("rollcall did not become ready within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The running process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Asks the process to stop (SIGTERM) and waits for it, at most `limit`:
    /// its exit status and how long it took, or `None` (and a SIGKILL) when it
    /// was still running at the limit.
    pub fn terminate(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let child = self.child.as_mut()?;
        let started = Instant::now();
        let sent = Command::new("kill").arg(child.id().to_string()).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "kill -TERM rollcall failed"
        );
        while started.elapsed() < limit {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some((status, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Hard stop (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Runs `rollcall token …` against this server's secret and returns the JWT.
    pub fn token(&self, tenant: &str, user: &str, scope: Option<&str>, mfa: bool) -> String {
        let mut command = Command::new(&self.bin);
        command
            .arg("token")
            .arg("--tenant")
            .arg(tenant)
            .arg("--user")
            .arg(user)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("ROLLCALL_JWT_SECRET", JWT_SECRET);
        if let Some(scope) = scope {
            command.arg("--scope").arg(scope);
        }
        if mfa {
            command.arg("--mfa");
        }
        let output = command.output().expect("run rollcall token");
        assert!(
            output.status.success(),
            "rollcall token failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for RollcallServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A minimal HTTP/1.0 GET, so readiness polling needs no client library.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
