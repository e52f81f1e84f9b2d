//! Per-tenant snapshots of the Team, every N events, so an as-of answer starts
//! from the newest snapshot at or before the instant and folds only the rest.
//!
//! Kept in sled (`snapshots.v3`, key tenant ‖ tenant_seq) or in memory. What is
//! stored are the projections' own versioned records ([`StoredTeam`], [`StoredVocabulary`] and
//! [`StoredMember`], postcard-encoded), never the domain's structs, so the domain
//! may change freely. Snapshots are a cache: deleting the tree loses nothing, and
//! the tree of an older format is dropped on open.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rollcall_aggregates::{Member, Team};
use rollcall_events::TenantId;
use rollcall_projections::stored::{
    Instant, StoredMember, StoredTeam, StoredVocabulary, decode, encode,
};
use serde::{Deserialize, Serialize};

use crate::error::ReplayError;

/// The sled tree of stored snapshots.
pub const SNAPSHOT_TREE: &str = "snapshots.v3";
/// Trees of older snapshot formats, dropped on open.
const OLD_SNAPSHOT_TREES: [&str; 2] = ["snapshots.v1", "snapshots.v2"];
/// Default distance between two snapshots of a tenant, in events.
pub const DEFAULT_EVERY: u64 = 1_000;

/// The stored form of a Team after `tenant_seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSnapshot {
    pub tenant_seq: u64,
    /// `occurred_at` of the event at `tenant_seq`.
    pub occurred_at: Instant,
    /// The latest `occurred_at` of events 1..=tenant_seq. Usually the same as
    /// `occurred_at`; differs only when gateway clocks disagreed. A snapshot
    /// answers for instant `at` only when `through <= at`.
    pub through: Instant,
    pub team: StoredTeam,
    pub vocabulary: StoredVocabulary,
    pub members: Vec<StoredMember>,
}

impl TeamSnapshot {
    pub fn of(
        team: &Team,
        tenant: TenantId,
        occurred_at: DateTime<Utc>,
        through: DateTime<Utc>,
    ) -> Result<TeamSnapshot, ReplayError> {
        Ok(TeamSnapshot {
            tenant_seq: team.tenant_seq,
            occurred_at: occurred_at.into(),
            through: through.into(),
            team: StoredTeam::of(team, tenant),
            vocabulary: StoredVocabulary::of(team).map_err(snap_err)?,
            members: team
                .members
                .values()
                .map(|m| StoredMember::from(&**m))
                .collect(),
        })
    }

    pub fn into_team(self) -> Result<Team, ReplayError> {
        let members = self
            .members
            .into_iter()
            .map(|m| Member::try_from(m).map_err(snap_err))
            .collect::<Result<Vec<_>, _>>()?;
        self.team
            .into_team(self.vocabulary, members)
            .map_err(snap_err)
    }
}

/// A snapshot found for an instant.
#[derive(Debug, Clone)]
pub struct Found {
    pub team: Team,
    pub through: DateTime<Utc>,
}

/// In-memory snapshots: (tenant, tenant_seq) → (team, through).
type MemorySnapshots = BTreeMap<(TenantId, u64), (Team, DateTime<Utc>)>;

#[derive(Clone)]
enum Backend {
    Sled(sled::Tree),
    /// Teams kept as they are (no serialisation), keyed tenant, tenant_seq.
    Memory(Arc<Mutex<MemorySnapshots>>),
}

/// Where snapshots are kept, and how far apart.
#[derive(Clone)]
pub struct SnapshotStore {
    backend: Backend,
    every: u64,
}

impl std::fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.backend {
            Backend::Sled(_) => "sled",
            Backend::Memory(_) => "memory",
        };
        f.debug_struct("SnapshotStore")
            .field("backend", &kind)
            .field("every", &self.every)
            .finish()
    }
}

fn snap_err(e: impl std::fmt::Display) -> ReplayError {
    ReplayError::Snapshot(e.to_string())
}

fn key(tenant: TenantId, seq: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(tenant.as_uuid().as_bytes());
    key[16..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The `through` instant as a sortable number, stored ahead of the record so a
/// look-up can skip snapshots without decoding them. Nanoseconds fit an i64 until
/// 2262; past that the snapshot is simply never chosen.
fn through_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

impl SnapshotStore {
    /// Snapshots in `db`'s `snapshots.v3` tree, one every `every` events.
    pub fn open(db: &sled::Db, every: u64) -> Result<Self, ReplayError> {
        for old in OLD_SNAPSHOT_TREES {
            if db.tree_names().iter().any(|n| n.as_ref() == old.as_bytes()) {
                db.drop_tree(old).map_err(snap_err)?;
            }
        }
        Ok(SnapshotStore {
            backend: Backend::Sled(db.open_tree(SNAPSHOT_TREE).map_err(snap_err)?),
            every: every.max(1),
        })
    }

    /// Snapshots kept in memory, one every `every` events.
    pub fn in_memory(every: u64) -> Self {
        SnapshotStore {
            backend: Backend::Memory(Arc::default()),
            every: every.max(1),
        }
    }

    pub fn every(&self) -> u64 {
        self.every
    }

    /// Is a snapshot due after this tenant_seq?
    pub fn due(&self, tenant_seq: u64) -> bool {
        tenant_seq > 0 && tenant_seq.is_multiple_of(self.every)
    }

    pub fn save(
        &self,
        team: &Team,
        occurred_at: DateTime<Utc>,
        through: DateTime<Utc>,
    ) -> Result<(), ReplayError> {
        let Some(tenant) = team.tenant_id else {
            return Ok(());
        };
        match &self.backend {
            Backend::Sled(tree) => {
                let snapshot = TeamSnapshot::of(team, tenant, occurred_at, through)?;
                let mut value = through_nanos(through).to_be_bytes().to_vec();
                value.extend(encode(&snapshot).map_err(snap_err)?);
                tree.insert(key(tenant, team.tenant_seq), value)
                    .map_err(snap_err)?;
            }
            Backend::Memory(map) => {
                map.lock()
                    .map_err(|_| snap_err("snapshot map poisoned"))?
                    .insert((tenant, team.tenant_seq), (team.clone(), through));
            }
        }
        Ok(())
    }

    /// The tenant_seq of the tenant's newest snapshot (0 when none).
    pub fn newest_seq(&self, tenant: TenantId) -> Result<u64, ReplayError> {
        match &self.backend {
            Backend::Sled(tree) => {
                match tree.scan_prefix(tenant.as_uuid().as_bytes()).next_back() {
                    Some(entry) => {
                        let (k, _) = entry.map_err(snap_err)?;
                        let seq: [u8; 8] = k[16..].try_into().map_err(snap_err)?;
                        Ok(u64::from_be_bytes(seq))
                    }
                    None => Ok(0),
                }
            }
            Backend::Memory(map) => Ok(map
                .lock()
                .map_err(|_| snap_err("snapshot map poisoned"))?
                .range((tenant, 0)..=(tenant, u64::MAX))
                .next_back()
                .map_or(0, |((_, seq), _)| *seq)),
        }
    }

    /// The newest snapshot of `tenant` that describes the team at `at`: every
    /// event it folded occurred at or before `at`.
    pub fn at_or_before(
        &self,
        tenant: TenantId,
        at: DateTime<Utc>,
    ) -> Result<Option<Found>, ReplayError> {
        match &self.backend {
            Backend::Sled(tree) => {
                let at_nanos = through_nanos(at);
                for entry in tree.scan_prefix(tenant.as_uuid().as_bytes()).rev() {
                    let (_, value) = entry.map_err(snap_err)?;
                    let header: [u8; 8] = value
                        .get(..8)
                        .and_then(|h| h.try_into().ok())
                        .ok_or_else(|| snap_err("corrupt snapshot"))?;
                    if i64::from_be_bytes(header) > at_nanos {
                        continue;
                    }
                    let snapshot: TeamSnapshot = decode(&value[8..]).map_err(snap_err)?;
                    return Ok(Some(Found {
                        through: snapshot.through.time().map_err(snap_err)?,
                        team: snapshot.into_team()?,
                    }));
                }
                Ok(None)
            }
            Backend::Memory(map) => {
                let map = map.lock().map_err(|_| snap_err("snapshot map poisoned"))?;
                Ok(map
                    .range((tenant, 0)..=(tenant, u64::MAX))
                    .rev()
                    .find(|(_, (_, through))| *through <= at)
                    .map(|(_, (team, through))| Found {
                        team: team.clone(),
                        through: *through,
                    }))
            }
        }
    }
}
