//! The sled layout of the projections: one tree, named with its schema version,
//! holding each tenant's team header, each member, an audit entry per event, the
//! quarantine, and the checkpoint — written together in one atomic batch per
//! applied batch of events, so a crash never applies an event twice or skips one.
//!
//! Keys (each a one-byte kind, then big-endian ids and positions):
//! `t` tenant → team header; `m` tenant user → member; `a` tenant position →
//! a run of the tenant's audit entries from that position on (an [`AuditChunk`]);
//! `q` position → quarantined record; `~checkpoint`, `~schema`.

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

/// A chunk of audit entries is closed once it holds this many bytes: a batch
/// that brings a tenant many events (catching up) writes a few records for them,
/// not one each; a live batch of one event writes one. Reading one entry decodes
/// only its own bytes.
pub(crate) const AUDIT_CHUNK_BYTES: usize = 4096;

/// Consecutive audit entries of one tenant, stored under the first one's
/// position: each entry its position (8 bytes, big-endian), its length (4 bytes,
/// big-endian) and its encoding.
#[derive(Default)]
pub(crate) struct AuditChunk {
    first: Option<u64>,
    bytes: Vec<u8>,
}

impl AuditChunk {
    pub fn push(&mut self, position: u64, entry: &[u8]) -> Result<(), ProjectionError> {
        let len = u32::try_from(entry.len())
            .map_err(|_| ProjectionError::Encode(format!("audit entry at {position} too long")))?;
        self.first.get_or_insert(position);
        self.bytes.extend_from_slice(&position.to_be_bytes());
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(entry);
        Ok(())
    }

    pub fn is_full(&self) -> bool {
        self.bytes.len() >= AUDIT_CHUNK_BYTES
    }

    /// The record to store, if it holds any entry.
    pub fn record(self, tenant: TenantId) -> Option<(Vec<u8>, Vec<u8>)> {
        Some((audit_key(tenant, self.first?), self.bytes))
    }

    /// The entries of a stored chunk: (position, encoded entry), in order.
    fn entries<'a>(
        key: &[u8],
        mut bytes: &'a [u8],
    ) -> Result<Vec<(u64, &'a [u8])>, ProjectionError> {
        let mut entries = Vec::new();
        while !bytes.is_empty() {
            let (position, rest) = bytes
                .split_first_chunk::<8>()
                .ok_or_else(|| corrupt(key, "an audit chunk cut in a position"))?;
            let (len, rest) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| corrupt(key, "an audit chunk cut in a length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            if rest.len() < len {
                return Err(corrupt(key, "an audit chunk cut in an entry"));
            }
            let (entry, rest) = rest.split_at(len);
            entries.push((u64::from_be_bytes(*position), entry));
            bytes = rest;
        }
        Ok(entries)
    }

    /// The decoded entries of a stored chunk at or after `from`.
    fn decoded(
        key: &[u8],
        bytes: &[u8],
        from: u64,
    ) -> Result<Vec<(u64, StoredAudit)>, ProjectionError> {
        AuditChunk::entries(key, bytes)?
            .into_iter()
            .filter(|(position, _)| *position >= from)
            .map(|(position, entry)| Ok((position, decode(entry).map_err(|e| corrupt(key, e))?)))
            .collect()
    }
}

/// The tenant of an audit chunk's key.
fn audit_tenant(key: &[u8]) -> Result<TenantId, ProjectionError> {
    key.get(1..17)
        .and_then(|b| uuid::Uuid::from_slice(b).ok())
        .map(TenantId)
        .ok_or_else(|| corrupt(key, "an audit key without a tenant"))
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

    /// The key of the chunk holding the tenant's entry at `position`, if any.
    fn audit_chunk_at(
        &self,
        tenant: TenantId,
        position: u64,
    ) -> Result<Option<sled::IVec>, ProjectionError> {
        Ok(self
            .tree
            .range(audit_key(tenant, 0)..=audit_key(tenant, position))
            .next_back()
            .transpose()?
            .map(|(key, _)| key))
    }

    pub fn audit(
        &self,
        tenant: TenantId,
        position: u64,
    ) -> Result<Option<StoredAudit>, ProjectionError> {
        let Some(key) = self.audit_chunk_at(tenant, position)? else {
            return Ok(None);
        };
        let Some(bytes) = self.tree.get(&key)? else {
            return Ok(None);
        };
        let found = AuditChunk::entries(&key, &bytes)?
            .into_iter()
            .find(|(at, _)| *at == position);
        match found {
            Some((_, entry)) => decode(entry).map(Some).map_err(|e| corrupt(&key, e)),
            None => Ok(None),
        }
    }

    /// The tenant's audit entries from `from` on, in position order.
    pub fn audits(
        &self,
        tenant: TenantId,
        from: u64,
    ) -> impl Iterator<Item = Result<(u64, StoredAudit), ProjectionError>> {
        // From the chunk holding `from`, when one does.
        let start = match self.audit_chunk_at(tenant, from) {
            Ok(Some(key)) => Ok(key.to_vec()),
            Ok(None) => Ok(audit_key(tenant, from)),
            Err(e) => Err(e),
        };
        let (chunks, failed) = match start {
            Ok(start) => (
                Some(self.tree.range(start..=audit_key(tenant, u64::MAX))),
                None,
            ),
            Err(e) => (None, Some(Err(e))),
        };
        failed
            .into_iter()
            .chain(chunks.into_iter().flatten().flat_map(move |kv| match kv {
                Ok((key, bytes)) => match AuditChunk::decoded(&key, &bytes, from) {
                    Ok(entries) => entries.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                },
                Err(e) => vec![Err(e.into())],
            }))
    }

    /// Every audit entry: (tenant, position, entry), in key order.
    pub fn all_audits(
        &self,
    ) -> impl Iterator<Item = Result<(TenantId, u64, StoredAudit), ProjectionError>> {
        self.tree.scan_prefix([AUDIT]).flat_map(|kv| {
            let entries = kv.map_err(ProjectionError::from).and_then(|(key, bytes)| {
                let tenant = audit_tenant(&key)?;
                AuditChunk::decoded(&key, &bytes, 0).map(|entries| (tenant, entries))
            });
            match entries {
                Ok((tenant, entries)) => entries
                    .into_iter()
                    .map(|(position, entry)| Ok((tenant, position, entry)))
                    .collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
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
    /// length-prefixed, and each audit entry as a record of its own (its key the
    /// tenant and its position): a rebuild and a live instance at the same
    /// position agree, however their batches ran the entries into chunks.
    pub fn state_hash(&self) -> Result<String, ProjectionError> {
        let mut hasher = Sha256::new();
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            if k.as_ref() == CHECKPOINT {
                continue;
            }
            if k.first() == Some(&AUDIT) {
                let tenant = audit_tenant(&k)?;
                for (position, entry) in AuditChunk::entries(&k, &v)? {
                    feed(&mut hasher, &audit_key(tenant, position));
                    feed(&mut hasher, entry);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(position: u64, len: usize) -> Vec<u8> {
        (0..len).map(|i| (position as usize + i) as u8).collect()
    }

    #[test]
    fn a_chunk_gives_back_its_entries_in_order_and_closes_past_its_size() {
        let tenant = TenantId::from_u128(7);
        let mut chunk = AuditChunk::default();
        let mut n = 0;
        while !chunk.is_full() {
            n += 1;
            chunk.push(10 + n, &entry(10 + n, 300)).expect("pushed");
        }
        // Each entry takes 12 bytes besides its own: closed by the one that
        // took it past its size.
        let n = n as usize;
        assert!((n - 1) * 312 < AUDIT_CHUNK_BYTES && n * 312 >= AUDIT_CHUNK_BYTES);
        let (key, value) = chunk.record(tenant).expect("a record");
        assert_eq!(
            key,
            audit_key(tenant, 11),
            "stored under its first position"
        );
        let entries = AuditChunk::entries(&key, &value).expect("entries");
        assert_eq!(entries.len(), n);
        for (i, (position, bytes)) in entries.into_iter().enumerate() {
            assert_eq!(position, 11 + i as u64);
            assert_eq!(bytes, entry(position, 300));
        }
        assert_eq!(
            AuditChunk::default().record(tenant),
            None,
            "an empty chunk is not stored"
        );
    }

    #[test]
    fn a_cut_chunk_is_reported_corrupt_not_read_short() {
        let tenant = TenantId::from_u128(7);
        let mut chunk = AuditChunk::default();
        chunk.push(1, &entry(1, 40)).expect("pushed");
        chunk.push(2, &entry(2, 40)).expect("pushed");
        let (key, value) = chunk.record(tenant).expect("a record");
        for cut in [value.len() - 1, value.len() - 40, 52 + 4, 52 + 10] {
            let error = AuditChunk::entries(&key, &value[..cut]).expect_err("cut");
            assert!(
                matches!(error, ProjectionError::Corrupt { .. }),
                "cut at {cut}: {error}"
            );
        }
    }
}
