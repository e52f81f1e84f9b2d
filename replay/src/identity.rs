//! Which log a data dir belongs to. The projections and the mailer's state in a
//! data dir are folds of one log; started on another log they would answer from
//! the wrong one (tenants listed that the log does not know, positions that mean
//! other events). So the data dir records its log in `log-identity.json` — the
//! backend, and for JetStream the stream's name and creation time, which tell a
//! stream apart from one deleted and created anew under the same name — and a
//! start on any other log is refused until the data dir is rebuilt from it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::open::LogLocation;

/// The file, in the data dir, naming the log the data dir was built from.
pub const IDENTITY_FILE: &str = "log-identity.json";

/// A log, as a data dir remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend")]
pub enum LogIdentity {
    /// The embedded log inside the data dir (`<data-dir>/log`).
    #[serde(rename = "embedded")]
    Embedded,
    /// A JetStream stream: its name and when the server created it.
    #[serde(rename = "jetstream")]
    JetStream { stream: String, created: String },
}

impl fmt::Display for LogIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogIdentity::Embedded => f.write_str("the embedded log"),
            LogIdentity::JetStream { stream, created } => {
                write!(f, "the JetStream stream {stream} created {created}")
            }
        }
    }
}

/// Why a data dir cannot be used with the log it was given.
#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(
        "the data dir {data_dir} was built from {recorded}, but this start uses {found}; its \
         projections would answer from the wrong log. Give this log a data dir of its own \
         (another --data-dir), or rebuild this one from it: stop `rollcall serve`, then run \
         `rollcall replay rebuild --data-dir {data_dir}` with the same --nats-url (or none) as \
         this start"
    )]
    Mismatch {
        data_dir: String,
        recorded: String,
        found: String,
    },
}

/// The log the data dir was built from: what its file says, or, for a data dir
/// older than the file, the embedded log when it holds one. `None`: no log yet.
pub fn recorded(data_dir: &Path) -> Result<Option<LogIdentity>, IdentityError> {
    let path = data_dir.join(IDENTITY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| IdentityError::File {
                path,
                message: format!("not a log identity: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(LogLocation::embedded_dir(data_dir)
                .exists()
                .then_some(LogIdentity::Embedded))
        }
        Err(e) => Err(IdentityError::File {
            path,
            message: e.to_string(),
        }),
    }
}

fn mismatch(data_dir: &Path, recorded: &LogIdentity, found: String) -> IdentityError {
    IdentityError::Mismatch {
        data_dir: data_dir.display().to_string(),
        recorded: recorded.to_string(),
        found,
    }
}

/// Checks, before any log is opened, that the data dir was not built from the
/// other backend: so a refused start creates no embedded log in a JetStream data
/// dir, and no stream for an embedded one.
pub fn check_backend(data_dir: &Path, nats: bool) -> Result<(), IdentityError> {
    match (recorded(data_dir)?, nats) {
        (Some(recorded @ LogIdentity::Embedded), true) => Err(mismatch(
            data_dir,
            &recorded,
            "the JetStream log at --nats-url".to_owned(),
        )),
        (Some(recorded @ LogIdentity::JetStream { .. }), false) => Err(mismatch(
            data_dir,
            &recorded,
            LogIdentity::Embedded.to_string(),
        )),
        _ => Ok(()),
    }
}

/// Refuses `found` when the data dir was built from another log, and records it
/// when the data dir was built from none yet.
pub fn claim(data_dir: &Path, found: &LogIdentity) -> Result<(), IdentityError> {
    match recorded(data_dir)? {
        Some(recorded) if &recorded == found => {
            // A data dir older than the file gets it now.
            if !data_dir.join(IDENTITY_FILE).exists() {
                record(data_dir, found)?;
            }
            Ok(())
        }
        Some(recorded) => Err(mismatch(data_dir, &recorded, found.to_string())),
        None => record(data_dir, found),
    }
}

/// Records `identity` as the data dir's log, replacing what was there (after a
/// rebuild from that log). Written aside and renamed, so it is whole or absent.
pub fn record(data_dir: &Path, identity: &LogIdentity) -> Result<(), IdentityError> {
    let path = data_dir.join(IDENTITY_FILE);
    let partial = data_dir.join(format!(".{IDENTITY_FILE}.partial"));
    let err = |e: std::io::Error| IdentityError::File {
        path: path.clone(),
        message: e.to_string(),
    };
    let mut text = serde_json::to_string_pretty(identity).map_err(|e| IdentityError::File {
        path: path.clone(),
        message: e.to_string(),
    })?;
    text.push('\n');
    std::fs::create_dir_all(data_dir).map_err(err)?;
    std::fs::write(&partial, text).map_err(err)?;
    std::fs::rename(&partial, &path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn stream(created: &str) -> LogIdentity {
        LogIdentity::JetStream {
            stream: "ROLLCALL".to_owned(),
            created: created.to_owned(),
        }
    }

    #[test]
    fn a_data_dir_keeps_the_first_log_it_was_started_on() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(recorded(&data).unwrap(), None);
        claim(&data, &stream("2026-12-02T10:00:00Z")).unwrap();
        claim(&data, &stream("2026-12-02T10:00:00Z")).unwrap();
        assert_eq!(
            recorded(&data).unwrap(),
            Some(stream("2026-12-02T10:00:00Z"))
        );
        // The same name, another stream: refused, naming both.
        let err = claim(&data, &stream("2026-12-03T10:00:00Z")).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("created 2026-12-02T10:00:00Z"),
            "{message}"
        );
        assert!(
            message.contains("created 2026-12-03T10:00:00Z"),
            "{message}"
        );
        assert!(message.contains("rollcall replay rebuild"), "{message}");
        assert!(check_backend(&data, false).is_err());
        assert!(check_backend(&data, true).is_ok());
        // A rebuild from the new stream records it.
        record(&data, &stream("2026-12-03T10:00:00Z")).unwrap();
        claim(&data, &stream("2026-12-03T10:00:00Z")).unwrap();
    }

    #[test]
    fn a_data_dir_from_before_the_file_with_an_embedded_log_is_embedded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(LogLocation::embedded_dir(dir.path())).unwrap();
        assert_eq!(recorded(dir.path()).unwrap(), Some(LogIdentity::Embedded));
        let err = check_backend(dir.path(), true).unwrap_err().to_string();
        assert!(err.contains("built from the embedded log"), "{err}");
        claim(dir.path(), &LogIdentity::Embedded).unwrap();
        assert!(dir.path().join(IDENTITY_FILE).exists());
    }
}
