//! The installation's checkpoint key: an Ed25519 signing key kept in a file in the
//! data dir, readable by its owner only.

use std::fs;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use rollcall_events::TenantId;

use super::{CheckpointError, SignedCheckpoint};

/// Name of the key file inside the data dir.
pub const KEY_FILE: &str = "checkpoint.key";

/// Signs checkpoints. The secret never leaves this struct (no `Debug` of it).
pub struct CheckpointSigner {
    key: SigningKey,
    public_hex: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner")
            .field("public_key", &self.public_hex)
            .finish_non_exhaustive()
    }
}

impl CheckpointSigner {
    /// A signer over the given 32 secret bytes (tests, or a key kept elsewhere).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&secret);
        let public_hex = hex::encode(key.verifying_key().as_bytes());
        CheckpointSigner { key, public_hex }
    }

    /// Reads the key at `path` (64 hex characters); a missing file is
    /// [`CheckpointError::NoKey`]. Never creates one: what only reads (the CLI's
    /// `pubkey`, a gateway given a shared key file) must not invent a key.
    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CheckpointError::NoKey {
                path: path.display().to_string(),
            }),
            Err(e) => Err(CheckpointError::KeyFile {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, CheckpointError> {
        let secret: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::KeyFile {
                path: path.display().to_string(),
                message: "not 64 hex characters".to_owned(),
            })?;
        Ok(Self::from_secret(secret))
    }

    /// Reads the key at `path` (64 hex characters), or creates a fresh one there
    /// with mode 0600 when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, CheckpointError> {
        let key_error = |message: String| CheckpointError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        match fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                getrandom::getrandom(&mut secret)
                    .map_err(|e| key_error(format!("no randomness for a new key: {e}")))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    fs::create_dir_all(dir).map_err(|e| key_error(e.to_string()))?;
                }
                let mut file = create_private(path).map_err(|e| key_error(e.to_string()))?;
                file.write_all(hex::encode(secret).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| key_error(e.to_string()))?;
                Ok(Self::from_secret(secret))
            }
            Err(e) => Err(key_error(e.to_string())),
        }
    }

    /// [`load_or_create`](Self::load_or_create) at `<data_dir>/checkpoint.key`, the
    /// one place the CLI and the gateway both look.
    pub fn load_or_create_in(data_dir: &Path) -> Result<Self, CheckpointError> {
        Self::load_or_create(&data_dir.join(KEY_FILE))
    }

    /// Hex of the public key: what auditors pin to trust checkpoints.
    pub fn public_key_hex(&self) -> &str {
        &self.public_hex
    }

    pub fn sign(
        &self,
        tenant: TenantId,
        tenant_seq: u64,
        hash: &str,
        at: DateTime<Utc>,
    ) -> SignedCheckpoint {
        let message =
            SignedCheckpoint::signed_bytes(tenant, tenant_seq, hash, at, &self.public_hex);
        let signature = self.key.sign(&message);
        SignedCheckpoint {
            tenant_id: tenant,
            tenant_seq,
            hash: hash.to_owned(),
            signed_at: at,
            public_key: self.public_hex.clone(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// Creates the file new (never overwriting a key) and private from the first byte.
fn create_private(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}
