//! Replay and compliance, as a library the CLI (`rollcall replay …`) and the HTTP
//! gateway both call:
//!
//! - [`verify`]: walk each tenant's hash chain and name the first thing wrong;
//!   with a [`SignedCheckpoint`] also catch truncation.
//! - [`checkpoint`]: Ed25519-signed tenant heads, their store and publisher.
//! - [`export`]: the audit trail as JSONL or CSV, streamed in constant memory.
//! - [`as_of`]: a tenant's team, a member's effective permissions and the holders
//!   of a permission at any past instant, sped up by [`snapshot`]s.
//! - [`review`] and [`diff`]: an access review at an instant, and what changed
//!   between two instants and who caused it.
//! - [`rebuild`]: the projections folded anew into a fresh directory.
//! - [`cli`]: the `rollcall replay …` subcommands; [`open`]: the log as `serve` opens it;
//!   [`identity`]: which log a data dir belongs to.

pub mod as_of;
pub mod checkpoint;
pub mod cli;
pub mod csv_out;
pub mod diff;
mod error;
pub mod export;
pub mod identity;
pub mod open;
pub mod rebuild;
pub mod review;
pub mod snapshot;
pub mod verify;

pub use as_of::{
    EffectiveAsOf, Holder, TeamHistory, effective_as_of, holders, holders_as_of, team_as_of,
};
pub use checkpoint::{
    CheckpointError, CheckpointPublisher, CheckpointSigner, CheckpointStore, SignedCheckpoint,
    latest_checkpoints, publish_checkpoints,
};

pub use diff::{AccessDiff, Cause, MemberDiff, PermissionChange, diff, diff_events};
pub use error::ReplayError;
pub use export::{AuditLine, ExportFilter, ExportFormat, ExportSummary, export, export_log};

pub use rebuild::{Rebuilt, rebuild};
pub use review::{AccessReview, ReviewMember, ReviewPermission, access_review, review_csv};
pub use snapshot::{SnapshotStore, TeamSnapshot};
pub use verify::{
    ChainVerifier, ConfirmedCheckpoint, TamperKind, Tampering, TenantChain, VerifyReport, verify,
    verify_log,
};
