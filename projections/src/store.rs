//! The sled layout: tree names (each with its version, so a changed projection is
//! rebuilt side by side), key encodings, the writes reducers return, and the
//! commit that applies a batch of writes with the checkpoint atomically.

use rollcall_events::{Actor, EventId, TenantId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ProjectionError;

/// The views the projections keep, each named with its version. The log may live
/// in other trees of the same Db.
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

/// A record the projector could not decode and skipped: an event of an unknown
/// type or shape (tenant, id and type known), or a record that is not an event
/// envelope at all (only its position known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<TenantId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<EventId>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
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

/// The one sled tree every view lives in, each view under its versioned name as
/// key prefix. One tree, because a sled batch on one tree is atomic and several
/// times cheaper than a transaction across trees, and the checkpoint must be
/// committed with the views.
pub const PROJECTIONS_TREE: &str = "projections.v1";

/// The opened store.
#[derive(Clone)]
pub(crate) struct Store {
    tree: sled::Tree,
}

fn full_key(view: &str, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(view.len() + 1 + key.len());
    full.extend_from_slice(view.as_bytes());
    full.push(0);
    full.extend_from_slice(key);
    full
}

/// Key/value pairs of one view, keys without the view's prefix.
pub(crate) type Entries =
    Box<dyn DoubleEndedIterator<Item = Result<(Vec<u8>, sled::IVec), ProjectionError>>>;

impl Store {
    pub fn open(db: &sled::Db) -> Result<Store, ProjectionError> {
        Ok(Store {
            tree: db.open_tree(PROJECTIONS_TREE)?,
        })
    }

    pub fn checkpoint(&self) -> Result<u64, ProjectionError> {
        Ok(self
            .tree
            .get(full_key(CHECKPOINTS_TREE, CHECKPOINT_KEY))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Applies `writes` and moves the checkpoint to `position` in one atomic
    /// batch: either all of it is stored or none of it.
    pub fn commit(&self, writes: Vec<Write>, position: u64) -> Result<(), ProjectionError> {
        let mut batch = sled::Batch::default();
        for write in writes {
            match write {
                Write::Put { tree, key, value } => batch.insert(full_key(tree.name(), &key), value),
                Write::Delete { tree, key } => batch.remove(full_key(tree.name(), &key)),
            }
        }
        batch.insert(
            full_key(CHECKPOINTS_TREE, CHECKPOINT_KEY),
            &position.to_be_bytes(),
        );
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    pub fn get(&self, view: ViewTree, key: &[u8]) -> Result<Option<sled::IVec>, ProjectionError> {
        Ok(self.tree.get(full_key(view.name(), key))?)
    }

    /// Entries of `view` whose key starts with `prefix`, in key order.
    pub fn scan(&self, view: ViewTree, prefix: &[u8]) -> Entries {
        let skip = view.name().len() + 1;
        Box::new(
            self.tree
                .scan_prefix(full_key(view.name(), prefix))
                .map(move |kv| {
                    let (k, v) = kv?;
                    Ok((k.get(skip..).unwrap_or_default().to_vec(), v))
                }),
        )
    }

    /// Entries of `view` with `start <= key <= end`, in key order.
    pub fn range(&self, view: ViewTree, start: &[u8], end: &[u8]) -> Entries {
        let skip = view.name().len() + 1;
        let range = full_key(view.name(), start)..=full_key(view.name(), end);
        Box::new(self.tree.range(range).map(move |kv| {
            let (k, v) = kv?;
            Ok((k.get(skip..).unwrap_or_default().to_vec(), v))
        }))
    }

    pub fn get_json<T: DeserializeOwned>(
        &self,
        tree: ViewTree,
        key: &[u8],
    ) -> Result<Option<T>, ProjectionError> {
        match self.get(tree, key)? {
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
        self.scan(tree, prefix)
            .map(|kv| {
                let (k, v) = kv?;
                decode(tree, &k, &v)
            })
            .collect()
    }

    /// SHA-256 over every view, each as its name and its (key, value) pairs in
    /// order, every part length-prefixed so no two layouts hash alike.
    pub fn state_hash(&self) -> Result<String, ProjectionError> {
        let mut hasher = Sha256::new();
        for tree in ViewTree::ALL {
            feed(&mut hasher, tree.name().as_bytes());
            for kv in self.scan(tree, &[]) {
                let (k, v) = kv?;
                feed(&mut hasher, &k);
                feed(&mut hasher, &v);
            }
        }
        Ok(hex::encode(hasher.finalize()))
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
