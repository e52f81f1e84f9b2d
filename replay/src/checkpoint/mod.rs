//! Signed checkpoints: a tenant's head (`tenant_seq`, `hash`) signed with the
//! installation's Ed25519 key at a moment. The hash chain shows that no event
//! *inside* the trail was touched; a checkpoint published elsewhere (a separate
//! JetStream stream, an auditor's copy) also shows the trail was not cut short
//! or rewritten wholesale after it was signed.

mod publisher;
mod signer;
mod store;

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rollcall_events::TenantId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use publisher::{CheckpointPublisher, publish_checkpoints};
pub use signer::{CheckpointSigner, KEY_FILE};
pub use store::{
    CHECKPOINT_STREAM, CHECKPOINT_SUBJECT_PREFIX, CHECKPOINT_TREE, CheckpointStore,
    latest_checkpoints,
};

/// Why a checkpoint or its key could not be used.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("the checkpoint's public key is not a valid Ed25519 key")]
    BadPublicKey,
    #[error("the checkpoint's signature is malformed")]
    BadSignature,
    #[error("the checkpoint for tenant {tenant} at sequence {tenant_seq} does not verify")]
    SignatureInvalid { tenant: TenantId, tenant_seq: u64 },
    #[error("the checkpoint was signed by key {found}, not by a trusted key ({trusted})")]
    UntrustedKey { trusted: String, found: String },
    #[error("no checkpoint key at {path}")]
    NoKey { path: String },
    #[error("the checkpoint is for tenant {checkpoint}, the verification for tenant {verifying}")]
    WrongTenant {
        checkpoint: TenantId,
        verifying: TenantId,
    },
    #[error("key file {path}: {message}")]
    KeyFile { path: String, message: String },
    #[error("checkpoint store: {0}")]
    Store(String),
}

/// One signed head. Every field but the signature is covered by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub tenant_id: TenantId,
    pub tenant_seq: u64,
    /// The hash of the tenant's event at `tenant_seq`.
    pub hash: String,
    pub signed_at: DateTime<Utc>,
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Hex of the 64-byte Ed25519 signature over [`SignedCheckpoint::signed_bytes`].
    pub signature: String,
}

impl SignedCheckpoint {
    /// The canonical byte string that is signed: a version tag and the fields,
    /// one per line, in a fixed order and fixed formats, so any implementation can
    /// rebuild it without a JSON library.
    pub fn signed_bytes(
        tenant: TenantId,
        tenant_seq: u64,
        hash: &str,
        signed_at: DateTime<Utc>,
        public_key: &str,
    ) -> Vec<u8> {
        format!(
            "rollcall-checkpoint-v1\ntenant_id={tenant}\ntenant_seq={tenant_seq}\nhash={hash}\nsigned_at={}\npublic_key={public_key}\n",
            signed_at.to_rfc3339_opts(SecondsFormat::Nanos, true)
        )
        .into_bytes()
    }

    /// Checks the signature against the key the checkpoint names. That proves the
    /// checkpoint is intact; whose key it is, [`verify_trusted`](Self::verify_trusted)
    /// decides.
    pub fn verify(&self) -> Result<(), CheckpointError> {
        let key_bytes: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::BadPublicKey)?;
        let key =
            VerifyingKey::from_bytes(&key_bytes).map_err(|_| CheckpointError::BadPublicKey)?;
        let sig_bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::BadSignature)?;
        let signature = Signature::from_bytes(&sig_bytes);
        let message = Self::signed_bytes(
            self.tenant_id,
            self.tenant_seq,
            &self.hash,
            self.signed_at,
            &self.public_key,
        );
        key.verify(&message, &signature)
            .map_err(|_| CheckpointError::SignatureInvalid {
                tenant: self.tenant_id,
                tenant_seq: self.tenant_seq,
            })
    }

    /// [`verify`](Self::verify), and the key is the one the verifier trusts (the
    /// installation's published key): anyone can sign a checkpoint with a key of
    /// their own.
    pub fn verify_trusted(&self, trusted_public_key: &str) -> Result<(), CheckpointError> {
        self.verify_trusted_by(&[trusted_public_key])
    }

    /// [`verify`](Self::verify), and the key is one of `trusted` (an installation's
    /// key and the key it rotated from, say).
    pub fn verify_trusted_by(&self, trusted: &[impl AsRef<str>]) -> Result<(), CheckpointError> {
        if !trusted
            .iter()
            .any(|key| self.public_key.eq_ignore_ascii_case(key.as_ref()))
        {
            return Err(CheckpointError::UntrustedKey {
                trusted: trusted
                    .iter()
                    .map(|k| k.as_ref())
                    .collect::<Vec<_>>()
                    .join(", "),
                found: self.public_key.clone(),
            });
        }
        self.verify()
    }
}
