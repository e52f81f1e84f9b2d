//! The sled layout of the projections: one tree, named with its schema version,
//! holding each tenant's team header, each member, one audit entry per event, the
//! quarantine, and the checkpoint — written together in one atomic batch per
//! applied batch of events, so a crash never applies an event twice or skips one.
//!
//! Keys (each a one-byte kind, then big-endian ids and positions):
//! `t` tenant → team header; `m` tenant user → member; `a` tenant position →
//! audit entry; `q` position → quarantined record; `~checkpoint`, `~schema`.

use rollcall_events::{TenantId, UserId};
use sha2::{Digest, Sha256};

use crate::audit::StoredAudit;
use crate::error::ProjectionError;
use crate::stored::{SCHEMA_VERSION, StoredMember, StoredTeam, StoredVocabulary, decode};

/// The tree of this layout. An older layout lives in a tree of another name and
/// is dropped once the projections are rebuilt from the log.
pub const PROJECTIONS_TREE: &str = "projections.v2";
/// Trees of earlier layouts, dropped on open.
pub const OLD_TREES: [&str; 1] = ["projections.v1"];

const TEAM: u8 = b't';
const VOCABULARY: u8 = b'v';
const MEMBER: u8 = b'm';
const AUDIT: u8 = b'a';
const QUARANTINE: u8 = b'q';
const CHECKPOINT: &[u8] = b"~checkpoint";
const SCHEMA: &[u8] = b"~schema";

pub(crate) fn team_key(tenant: TenantId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(TEAM);
    key.extend_from_slice(tenant.0.as_bytes());
    key
}

/// The tenant's catalog and roles, written only when they change (not with
/// every team header).
pub(crate) fn vocabulary_key(tenant: TenantId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(VOCABULARY);
    key.extend_from_slice(tenant.0.as_bytes());
    key
}

pub(crate) fn member_key(tenant: TenantId, user: UserId) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(MEMBER);
    key.extend_from_slice(tenant.0.as_bytes());
    key.extend_from_slice(user.0.as_bytes());
    key
}

pub(crate) fn audit_key(tenant: TenantId, position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(25);
    key.push(AUDIT);
    key.extend_from_slice(tenant.0.as_bytes());
    key.extend_from_slice(&position.to_be_bytes());
    key
}

pub(crate) fn quarantine_key(position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(QUARANTINE);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// One batch of writes, committed with the checkpoint.
#[derive(Default)]
pub(crate) struct Batch {
    inner: sled::Batch,
    pub records: usize,
}

impl Batch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.inner.insert(key, value);
        self.records += 1;
    }
}

/// The opened store.
#[derive(Clone)]
pub(crate) struct Store {
    tree: sled::Tree,
}

fn corrupt(key: &[u8], message: impl ToString) -> ProjectionError {
    ProjectionError::Corrupt {
        tree: PROJECTIONS_TREE,
        key: hex::encode(key),
        message: message.to_string(),
    }
}

/// What [`Store::open`] found.
pub(crate) enum Opened {
    /// A store of this schema (possibly empty, then new).
    Current(Store),
    /// A store of another schema, or the tree of an older layout: emptied, to be
    /// rebuilt from the log.
    Reset(Store),
}

impl Store {
    /// Opens the tree; a store written under another schema version (or an older
    /// layout's tree) is cleared so the projector rebuilds it from the log.
    pub fn open(db: &sled::Db) -> Result<Opened, ProjectionError> {
        let mut reset = false;
        for old in OLD_TREES {
            if db.tree_names().iter().any(|n| n.as_ref() == old.as_bytes()) {
                db.drop_tree(old)?;
                reset = true;
            }
        }
        let tree = db.open_tree(PROJECTIONS_TREE)?;
        let version = tree
            .get(SCHEMA)?
            .map(|v| <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes));
        match version {
            Some(Ok(v)) if v == SCHEMA_VERSION => {}
            None if tree.is_empty() => {
                tree.insert(SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
            }
            _ => {
                tree.clear()?;
                tree.insert(SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                reset = true;
            }
        }
        let store = Store { tree };
        Ok(if reset {
            Opened::Reset(store)
        } else {
            Opened::Current(store)
        })
    }

    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        Ok(self
            .tree
            .get(CHECKPOINT)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Applies `batch` and moves the checkpoint to `position`, atomically.
    pub fn commit(&self, mut batch: Batch, position: u64) -> Result<(), ProjectionError> {
        batch.inner.insert(CHECKPOINT, &position.to_be_bytes());
        self.tree.apply_batch(batch.inner)?;
        Ok(())
    }

    pub fn audit(
        &self,
        tenant: TenantId,
        position: u64,
    ) -> Result<Option<StoredAudit>, ProjectionError> {
        let key = audit_key(tenant, position);
        match self.tree.get(&key)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(|e| corrupt(&key, e)),
        }
    }

    /// The tenant's audit entries from `from` on, in position order.
    pub fn audits(
        &self,
        tenant: TenantId,
        from: u64,
    ) -> impl Iterator<Item = Result<(u64, StoredAudit), ProjectionError>> {
        let start = audit_key(tenant, from);
        let end = audit_key(tenant, u64::MAX);
        self.tree.range(start..=end).map(|kv| {
            let (key, value) = kv?;
            let position = key
                .get(17..25)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt(&key, "an audit key without a position"))?;
            let entry = decode(&value).map_err(|e| corrupt(&key, e))?;
            Ok((position, entry))
        })
    }

    /// Every audit entry: (tenant, position, entry), in key order.
    pub fn all_audits(
        &self,
    ) -> impl Iterator<Item = Result<(TenantId, u64, StoredAudit), ProjectionError>> {
        self.tree.scan_prefix([AUDIT]).map(|kv| {
            let (key, value) = kv?;
            let tenant = key
                .get(1..17)
                .and_then(|b| uuid::Uuid::from_slice(b).ok())
                .map(TenantId)
                .ok_or_else(|| corrupt(&key, "an audit key without a tenant"))?;
            let position = key
                .get(17..25)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt(&key, "an audit key without a position"))?;
            let entry = decode(&value).map_err(|e| corrupt(&key, e))?;
            Ok((tenant, position, entry))
        })
    }

    /// One tenant's team header.
    pub fn team(&self, tenant: TenantId) -> Result<Option<StoredTeam>, ProjectionError> {
        let key = team_key(tenant);
        match self.tree.get(&key)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(|e| corrupt(&key, e)),
        }
    }

    /// One tenant's vocabulary record.
    pub fn vocabulary(
        &self,
        tenant: TenantId,
    ) -> Result<Option<StoredVocabulary>, ProjectionError> {
        let key = vocabulary_key(tenant);
        match self.tree.get(&key)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(|e| corrupt(&key, e)),
        }
    }

    /// Every team header.
    pub fn teams(&self) -> impl Iterator<Item = Result<StoredTeam, ProjectionError>> {
        self.tree.scan_prefix([TEAM]).map(|kv| {
            let (key, value) = kv?;
            decode(&value).map_err(|e| corrupt(&key, e))
        })
    }

    /// A tenant's stored members.
    pub fn members(
        &self,
        tenant: TenantId,
    ) -> impl Iterator<Item = Result<StoredMember, ProjectionError>> {
        let mut prefix = vec![MEMBER];
        prefix.extend_from_slice(tenant.0.as_bytes());
        self.tree.scan_prefix(prefix).map(|kv| {
            let (key, value) = kv?;
            decode(&value).map_err(|e| corrupt(&key, e))
        })
    }

    /// Quarantined records, in log order (stored as JSON).
    pub fn quarantined<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, ProjectionError> {
        self.tree
            .scan_prefix([QUARANTINE])
            .map(|kv| {
                let (key, value) = kv?;
                serde_json::from_slice(&value).map_err(|e| corrupt(&key, e))
            })
            .collect()
    }

    /// SHA-256 over every record but the checkpoint, in key order, each part
    /// length-prefixed: a rebuild and a live instance at the same position agree.
    pub fn state_hash(&self) -> Result<String, ProjectionError> {
        let mut hasher = Sha256::new();
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            if k.as_ref() == CHECKPOINT {
                continue;
            }
            feed(&mut hasher, &k);
            feed(&mut hasher, &v);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Bytes the tree holds (keys and values), for the figures of the benches.
    pub fn stored_bytes(&self) -> u64 {
        self.tree
            .iter()
            .filter_map(Result::ok)
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    }

    pub fn flush(&self) -> Result<(), ProjectionError> {
        self.tree.flush()?;
        Ok(())
    }
}

fn feed(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}
