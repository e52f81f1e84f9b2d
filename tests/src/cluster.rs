//! A private three-node nats-server cluster for one test: routes between the
//! nodes, JetStream on each with a store directory of its own, all on loopback
//! ephemeral ports. Nodes are killed (SIGKILL) and restarted one at a time, on the
//! same ports and stores, to take a stream's leader or a follower away.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::nats::{accepts_nats, find_binary, free_port, read_log};

/// How long a node may take to accept connections before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the cluster may take to elect its JetStream meta leader.
const JETSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

struct Node {
    name: String,
    port: u16,
    route_port: u16,
    child: Option<Child>,
    starts: u32,
}

/// A running cluster; every node is killed when dropped.
pub struct NatsCluster {
    binary: PathBuf,
    store: TempDir,
    nodes: Vec<Node>,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits until each accepts
    /// connections and JetStream answers.
    pub async fn start(size: usize) -> NatsCluster {
        let mut cluster = NatsCluster {
            binary: find_binary(),
            store: tempfile::Builder::new()
                .prefix("rollcall-cluster-")
                .tempdir()
                .unwrap_or_else(|e| panic!("cannot create a store directory: {e}")),
            nodes: (1..=size)
                .map(|i| Node {
                    name: format!("n{i}"),
                    port: free_port(),
                    route_port: free_port(),
                    child: None,
                    starts: 0,
                })
                .collect(),
        };
        for i in 0..size {
            cluster.spawn(i);
        }
        for i in 0..size {
            cluster.wait_accepting(i);
        }
        cluster.wait_jetstream().await;
        cluster
    }

    /// Every node's URL, comma-separated, as `--nats-url` takes a cluster.
    pub fn urls(&self) -> String {
        self.url_list().join(",")
    }

    fn url_list(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The node named `name` (`n1`, `n2`, …).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Hard stop (SIGKILL) of one node.
    pub fn kill(&mut self, node: usize) {
        if let Some(mut child) = self.nodes[node].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a node again on its ports and store; waits until it accepts
    /// connections (it then catches up with the others by itself).
    pub fn restart(&mut self, node: usize) {
        self.kill(node);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.spawn(node);
            match self.try_wait_accepting(node) {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("{} did not restart: {e}", self.nodes[node].name)
                }
                Err(_) => {
                    self.kill(node);
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// The server name of `stream`'s leader, as the cluster reports it now.
    pub async fn stream_leader(&self, stream: &str) -> Option<String> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .connect(self.url_list())
            .await
            .ok()?;
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(stream).await.ok()?;
        stream.info().await.ok()?.cluster.clone()?.leader
    }

    fn spawn(&mut self, node: usize) {
        let routes: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.route_port))
            .collect();
        let n = &mut self.nodes[node];
        n.starts += 1;
        let dir = self.store.path().join(&n.name);
        let log_path = self
            .store
            .path()
            .join(format!("{}-{}.log", n.name, n.starts));
        let log = File::create(&log_path).unwrap_or_else(|e| panic!("log file: {e}"));
        let log_err = log.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let child = Command::new(&self.binary)
            .arg("-js")
            .args(["-a", "127.0.0.1"])
            .args(["-p", &n.port.to_string()])
            .args(["--server_name", &n.name])
            .args(["--cluster_name", "rollcall-test"])
            .args(["--cluster", &format!("nats://127.0.0.1:{}", n.route_port)])
            .args(["--routes", &routes.join(",")])
            .arg("-sd")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        n.child = Some(child);
    }

    fn log_path(&self, node: usize) -> PathBuf {
        let n = &self.nodes[node];
        self.store
            .path()
            .join(format!("{}-{}.log", n.name, n.starts))
    }

    fn try_wait_accepting(&mut self, node: usize) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let port = self.nodes[node].port;
            if let Some(child) = self.nodes[node].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.nodes[node].child = None;
                return Err(format!(
                    "exited with {status}; its output:\n{}",
                    read_log(&self.log_path(node))
                ));
            }
            if accepts_nats(port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no connection accepted on port {port} within {START_TIMEOUT:?}; its output:\n{}",
                    read_log(&self.log_path(node))
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_accepting(&mut self, node: usize) {
        if let Err(e) = self.try_wait_accepting(node) {
            panic!("{} did not start: {e}", self.nodes[node].name);
        }
    }

    /// Waits until streams at the cluster's full replication can be created: a
    /// JetStream meta leader alone is not enough, placement also needs every
    /// peer known to it (else "no suitable peers for placement").
    async fn wait_jetstream(&self) {
        let deadline = Instant::now() + JETSTREAM_TIMEOUT;
        loop {
            let ready = async {
                let client = async_nats::ConnectOptions::new()
                    .connection_timeout(Duration::from_secs(2))
                    .request_timeout(Some(Duration::from_secs(2)))
                    .connect(self.url_list())
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                // The raw API: the client's account type follows newer servers.
                let answer = client
                    .request("$JS.API.INFO", bytes::Bytes::new())
                    .await
                    .map_err(|e| format!("account info: {e}"))?;
                let text = String::from_utf8_lossy(&answer.payload).into_owned();
                if text.contains("\"error\"") {
                    return Err(format!("account info: {text}"));
                }
                // A probe stream on every node, removed again at once.
                let probe = format!(
                    r#"{{"name":"CLUSTER_PROBE","subjects":["rollcall-cluster-probe"],"num_replicas":{},"storage":"memory"}}"#,
                    self.len()
                );
                let answer = client
                    .request(
                        "$JS.API.STREAM.CREATE.CLUSTER_PROBE",
                        bytes::Bytes::from(probe),
                    )
                    .await
                    .map_err(|e| format!("probe stream: {e}"))?;
                let text = String::from_utf8_lossy(&answer.payload).into_owned();
                if text.contains("\"error\"") {
                    return Err(format!("probe stream: {text}"));
                }
                let answer = client
                    .request("$JS.API.STREAM.DELETE.CLUSTER_PROBE", bytes::Bytes::new())
                    .await
                    .map_err(|e| format!("delete the probe stream: {e}"))?;
                let text = String::from_utf8_lossy(&answer.payload).into_owned();
                if text.contains("\"error\"") {
                    return Err(format!("delete the probe stream: {text}"));
                }
                Ok(())
            };
            let error = match ready.await {
                Ok(()) => return,
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                panic!(
                    "the cluster's JetStream did not get ready within {JETSTREAM_TIMEOUT:?} \
                     ({error}); n1's output:\n{}",
                    read_log(&self.log_path(0))
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in 0..self.nodes.len() {
            self.kill(node);
        }
    }
}
