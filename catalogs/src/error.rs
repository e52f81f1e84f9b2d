//! Why a catalog document could not be read.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogParseError {
    /// The JSON is malformed or does not have the catalog's shape. `path` is where
    /// in the document the problem is (`areas[2].actions[0].key`, or `.` for the
    /// top level), so a person editing a catalog by hand finds it at once.
    #[error("catalog is invalid at `{path}`: {message} (line {line}, column {column})")]
    Invalid {
        path: String,
        message: String,
        line: usize,
        column: usize,
    },
    #[error("cannot read catalog file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CatalogParseError {
    /// The JSON path of the problem, when the document was read but is invalid.
    pub fn path(&self) -> Option<&str> {
        match self {
            CatalogParseError::Invalid { path, .. } => Some(path),
            CatalogParseError::Io { .. } => None,
        }
    }
}
