//! The sled layout: tree names (each with its version, so a changed projection is
//! rebuilt side by side), key encodings, the writes reducers return, and the
//! commit that applies a batch of writes with the checkpoint atomically.

use rollcall_events::{Actor, EventId, TenantId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::ProjectionError;

/// The trees the projections own. The log may live in other trees of the same Db.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViewTree {
    /// Catalog views and member views (the team pages).
    TeamViews,
    /// Each tenant's `Team` state, so memory can be rebuilt on open without the log.
    TeamState,
    /// Audit entries by tenant ‖ position.
    Audit,
    /// Audit index by tenant ‖ target ‖ position.
    AuditByTarget,
    /// Audit index by tenant ‖ actor ‖ position.
    AuditByActor,
    /// Events that could not be decoded, by position.
    Quarantine,
}

impl ViewTree {
    /// Every view tree, in the order the state hash covers them.
    pub const ALL: [ViewTree; 6] = [
        ViewTree::TeamViews,
        ViewTree::TeamState,
        ViewTree::Audit,
        ViewTree::AuditByTarget,
        ViewTree::AuditByActor,
        ViewTree::Quarantine,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ViewTree::TeamViews => "team_views.v1",
            ViewTree::TeamState => "team_state.v1",
            ViewTree::Audit => "audit.v1",
            ViewTree::AuditByTarget => "audit_by_target.v1",
            ViewTree::AuditByActor => "audit_by_actor.v1",
            ViewTree::Quarantine => "quarantine.v1",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Holds only the projector's checkpoint; not part of the state hash.
pub const CHECKPOINTS_TREE: &str = "checkpoints.v1";
const CHECKPOINT_KEY: &[u8] = b"projector";

/// One change a reducer asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put {
        tree: ViewTree,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        tree: ViewTree,
        key: Vec<u8>,
    },
}

impl Write {
    pub(crate) fn put_json(tree: ViewTree, key: Vec<u8>, value: &impl Serialize) -> Write {
        // Views are plain data (strings, maps, numbers): serialising them cannot fail.
        let value = serde_json::to_vec(value).unwrap_or_default();
        Write::Put { tree, key, value }
    }
}

/// An event the projector could not decode and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub position: u64,
    pub tenant_id: TenantId,
    pub event_id: EventId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub error: String,
}

/// Key prefixes inside `team_views.v1` and `team_state.v1`.
pub(crate) mod prefix {
    /// Catalog view (team_views) / catalog document (team_state).
    pub const CATALOG: u8 = b'c';
    /// Member view (team_views) / member state (team_state).
    pub const MEMBER: u8 = b'm';
    /// Team header (team_state).
    pub const HEADER: u8 = b'h';
    /// Roles (team_state).
    pub const ROLES: u8 = b'r';
}

pub(crate) fn tenant_key(prefix: u8, tenant: TenantId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(prefix);
    key.extend_from_slice(tenant.0.as_bytes());
    key
}

pub(crate) fn member_key(prefix: u8, tenant: TenantId, user: UserId) -> Vec<u8> {
    let mut key = tenant_key(prefix, tenant);
    key.extend_from_slice(user.0.as_bytes());
    key
}

/// tenant ‖ position: audit entries sort by position within a tenant.
pub(crate) fn audit_key(tenant: TenantId, position: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(24);
    key.extend_from_slice(tenant.0.as_bytes());
    key.extend_from_slice(&position.to_be_bytes());
    key
}

/// tenant ‖ user ‖ position.
pub(crate) fn target_key(tenant: TenantId, user: UserId, position: u64) -> Vec<u8> {
    let mut key = target_prefix(tenant, user);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

pub(crate) fn target_prefix(tenant: TenantId, user: UserId) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(tenant.0.as_bytes());
    key.extend_from_slice(user.0.as_bytes());
    key
}

/// tenant ‖ actor ‖ position; the operator is a tag byte 0, a member tag 1 + id,
/// so the operator can never collide with a member id.
pub(crate) fn actor_key(tenant: TenantId, actor: Actor, position: u64) -> Vec<u8> {
    let mut key = actor_prefix(tenant, actor);
    key.extend_from_slice(&position.to_be_bytes());
    key
}

pub(crate) fn actor_prefix(tenant: TenantId, actor: Actor) -> Vec<u8> {
    let mut key = Vec::with_capacity(41);
    key.extend_from_slice(tenant.0.as_bytes());
    match actor {
        Actor::Operator => key.push(0),
        Actor::User(u) => {
            key.push(1);
            key.extend_from_slice(u.0.as_bytes());
        }
    }
    key
}

/// The trailing position of an index or audit key.
pub(crate) fn position_suffix(key: &[u8]) -> Option<u64> {
    let start = key.len().checked_sub(8)?;
    let bytes: [u8; 8] = key.get(start..)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The opened trees: the view trees in [`ViewTree::ALL`] order, then checkpoints.
#[derive(Clone)]
pub(crate) struct Store {
    trees: Vec<sled::Tree>,
}

impl Store {
    pub fn open(db: &sled::Db) -> Result<Store, ProjectionError> {
        let mut trees = ViewTree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()?;
        trees.push(db.open_tree(CHECKPOINTS_TREE)?);
        Ok(Store { trees })
    }

    pub fn tree(&self, tree: ViewTree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    fn checkpoints(&self) -> &sled::Tree {
        &self.trees[ViewTree::ALL.len()]
    }

    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        Ok(self
            .checkpoints()
            .get(CHECKPOINT_KEY)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Applies `writes` and moves the checkpoint to `position` in one transaction:
    /// either all of it is stored or none of it.
    pub fn commit(&self, writes: Vec<Write>, position: u64) -> Result<(), ProjectionError> {
        let mut batches: Vec<sled::Batch> =
            self.trees.iter().map(|_| sled::Batch::default()).collect();
        for write in writes {
            match write {
                Write::Put { tree, key, value } => batches[tree.index()].insert(key, value),
                Write::Delete { tree, key } => batches[tree.index()].remove(key),
            }
        }
        batches[ViewTree::ALL.len()].insert(CHECKPOINT_KEY, &position.to_be_bytes());
        self.trees
            .as_slice()
            .transaction(|trees| {
                for (tree, batch) in trees.iter().zip(&batches) {
                    tree.apply_batch(batch)?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => ProjectionError::Store(e),
                TransactionError::Abort(()) => {
                    ProjectionError::Store(sled::Error::Unsupported("transaction aborted".into()))
                }
            })
    }

    pub fn get_json<T: DeserializeOwned>(
        &self,
        tree: ViewTree,
        key: &[u8],
    ) -> Result<Option<T>, ProjectionError> {
        match self.tree(tree).get(key)? {
            None => Ok(None),
            Some(bytes) => decode(tree, key, &bytes).map(Some),
        }
    }

    /// Every value under `prefix`, in key order.
    pub fn scan_json<T: DeserializeOwned>(
        &self,
        tree: ViewTree,
        prefix: &[u8],
    ) -> Result<Vec<T>, ProjectionError> {
        self.tree(tree)
            .scan_prefix(prefix)
            .map(|kv| {
                let (k, v) = kv?;
                decode(tree, &k, &v)
            })
            .collect()
    }

    /// SHA-256 over every view tree, each as its name and its (key, value) pairs
    /// in order, every part length-prefixed so no two layouts hash alike.
    pub fn state_hash(&self) -> Result<String, ProjectionError> {
        let mut hasher = Sha256::new();
        for tree in ViewTree::ALL {
            feed(&mut hasher, tree.name().as_bytes());
            for kv in self.tree(tree).iter() {
                let (k, v) = kv?;
                feed(&mut hasher, &k);
                feed(&mut hasher, &v);
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }

    pub fn flush(&self) -> Result<(), ProjectionError> {
        if let Some(tree) = self.trees.first() {
            tree.flush()?;
        }
        Ok(())
    }
}

fn feed(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

pub(crate) fn decode<T: DeserializeOwned>(
    tree: ViewTree,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, ProjectionError> {
    serde_json::from_slice(bytes).map_err(|e| ProjectionError::Corrupt {
        tree: tree.name(),
        key: hex::encode(key),
        message: e.to_string(),
    })
}
