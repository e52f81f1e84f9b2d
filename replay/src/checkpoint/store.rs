//! Where checkpoints are kept: a JetStream stream of their own
//! (`ROLLCALL_CHECKPOINTS`, one subject per tenant) when the log is on NATS, or a
//! sled tree (`checkpoints.v1`) beside the embedded log. Every checkpoint is kept,
//! not only the newest: each is a witness of the trail as it was then.
//!
//! The embedded tree lives in the same directory as the log, so it guards against
//! mistakes and partial edits, not against someone who can rewrite the whole data
//! dir; `docs/compliance.md` says to copy checkpoints elsewhere for that.

use async_nats::jetstream::{self, stream::LastRawMessageErrorKind};
use bytes::Bytes;
use futures::TryStreamExt;
use rollcall_events::TenantId;

use super::{CheckpointError, SignedCheckpoint};

/// The sled tree of the embedded store.
pub const CHECKPOINT_TREE: &str = "checkpoints.v1";
/// The JetStream stream of the NATS store.
pub const CHECKPOINT_STREAM: &str = "ROLLCALL_CHECKPOINTS";
/// Checkpoints of tenant `t` are published to `<prefix>.<t>`.
pub const CHECKPOINT_SUBJECT_PREFIX: &str = "rollcall.checkpoints";

#[derive(Clone)]
pub enum CheckpointStore {
    Sled(sled::Tree),
    JetStream(Box<JetStreamStore>),
}

/// The NATS side of the store: where to publish, and the stream to read back.
#[derive(Clone)]
pub struct JetStreamStore {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
}

impl std::fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointStore::Sled(_) => f.write_str("CheckpointStore::Sled"),
            CheckpointStore::JetStream(_) => f.write_str("CheckpointStore::JetStream"),
        }
    }
}

fn store_err(e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Store(e.to_string())
}

fn subject(tenant: TenantId) -> String {
    format!("{CHECKPOINT_SUBJECT_PREFIX}.{tenant}")
}

fn sled_key(tenant: TenantId, seq: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(tenant.as_uuid().as_bytes());
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn decode(bytes: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
    serde_json::from_slice(bytes).map_err(|e| store_err(format!("unreadable checkpoint: {e}")))
}

impl CheckpointStore {
    /// The embedded store, in `db`'s `checkpoints.v1` tree.
    pub fn sled(db: &sled::Db) -> Result<Self, CheckpointError> {
        db.open_tree(CHECKPOINT_TREE)
            .map(CheckpointStore::Sled)
            .map_err(store_err)
    }

    /// The NATS store: creates the `ROLLCALL_CHECKPOINTS` stream (file storage,
    /// deletes denied) unless it exists. `replicas` as for the event stream: given,
    /// an existing stream with another replica count is refused.
    pub async fn jetstream(
        client: async_nats::Client,
        replicas: Option<usize>,
    ) -> Result<Self, CheckpointError> {
        let context = jetstream::new(client);
        let mut stream = context
            .get_or_create_stream(jetstream::stream::Config {
                name: CHECKPOINT_STREAM.to_owned(),
                subjects: vec![format!("{CHECKPOINT_SUBJECT_PREFIX}.>")],
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas.unwrap_or(1).max(1),
                deny_delete: true,
                deny_purge: true,
                ..Default::default()
            })
            .await
            .map_err(store_err)?;
        if let Some(wanted) = replicas {
            let found = stream.info().await.map_err(store_err)?.config.num_replicas;
            if found.max(1) != wanted.max(1) {
                return Err(store_err(format!(
                    "stream {CHECKPOINT_STREAM} exists with {} replica(s), not the {wanted} \
                     asked for; start with --nats-replicas {} (or without the flag), or change \
                     the stream's replicas with the NATS tools first",
                    found.max(1),
                    found.max(1)
                )));
            }
        }
        Ok(CheckpointStore::JetStream(Box::new(JetStreamStore {
            context,
            stream,
        })))
    }

    pub async fn save(&self, checkpoint: &SignedCheckpoint) -> Result<(), CheckpointError> {
        let bytes = serde_json::to_vec(checkpoint).map_err(store_err)?;
        match self {
            CheckpointStore::Sled(tree) => {
                tree.insert(sled_key(checkpoint.tenant_id, checkpoint.tenant_seq), bytes)
                    .map_err(store_err)?;
                tree.flush_async().await.map_err(store_err)?;
            }
            CheckpointStore::JetStream(js) => {
                js.context
                    .publish(subject(checkpoint.tenant_id), Bytes::from(bytes))
                    .await
                    .map_err(store_err)?
                    .await
                    .map_err(store_err)?;
            }
        }
        Ok(())
    }

    /// The tenant's newest checkpoint.
    pub async fn latest(
        &self,
        tenant: TenantId,
    ) -> Result<Option<SignedCheckpoint>, CheckpointError> {
        match self {
            CheckpointStore::Sled(tree) => {
                match tree.scan_prefix(tenant.as_uuid().as_bytes()).next_back() {
                    Some(entry) => decode(&entry.map_err(store_err)?.1).map(Some),
                    None => Ok(None),
                }
            }
            CheckpointStore::JetStream(js) => {
                match js
                    .stream
                    .get_last_raw_message_by_subject(&subject(tenant))
                    .await
                {
                    Ok(message) => decode(&message.payload).map(Some),
                    Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
                    Err(e) => Err(store_err(e)),
                }
            }
        }
    }

    /// The newest checkpoint of every tenant that has one, by tenant id.
    pub async fn latest_all(&self) -> Result<Vec<SignedCheckpoint>, CheckpointError> {
        let tenants: Vec<TenantId> = match self {
            CheckpointStore::Sled(tree) => {
                let mut tenants = Vec::new();
                // Keys sort by tenant, so the last key of each tenant is found by
                // jumping past its prefix rather than reading its whole history.
                let mut cursor = tree.first().map_err(store_err)?;
                while let Some((key, _)) = cursor {
                    let id = tenant_of_key(&key)?;
                    tenants.push(id);
                    cursor = tree.get_gt(sled_key(id, u64::MAX)).map_err(store_err)?;
                }
                tenants
            }
            CheckpointStore::JetStream(js) => {
                let mut subjects = js
                    .stream
                    .info_with_subjects(format!("{CHECKPOINT_SUBJECT_PREFIX}.>"))
                    .await
                    .map_err(store_err)?;
                let mut tenants = Vec::new();
                while let Some((subject, _)) = subjects.try_next().await.map_err(store_err)? {
                    let id = subject
                        .rsplit('.')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| store_err(format!("foreign subject {subject}")))?;
                    tenants.push(id);
                }
                tenants.sort();
                tenants
            }
        };
        let mut out = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            if let Some(checkpoint) = self.latest(tenant).await? {
                out.push(checkpoint);
            }
        }
        Ok(out)
    }
}

fn tenant_of_key(key: &[u8]) -> Result<TenantId, CheckpointError> {
    let bytes: [u8; 16] = key
        .get(..16)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| store_err("corrupt checkpoint key"))?;
    Ok(TenantId(uuid::Uuid::from_bytes(bytes)))
}

/// The newest checkpoint of `tenant`, or of every tenant when `None`: what
/// `GET /tenants/{t}/checkpoints` and `rollcall replay verify` read back.
pub async fn latest_checkpoints(
    store: &CheckpointStore,
    tenant: Option<TenantId>,
) -> Result<Vec<SignedCheckpoint>, CheckpointError> {
    match tenant {
        Some(tenant) => Ok(store.latest(tenant).await?.into_iter().collect()),
        None => store.latest_all().await,
    }
}
