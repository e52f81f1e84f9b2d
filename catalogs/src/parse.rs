//! Parsing a catalog document from JSON text or a file.

use std::path::Path;

use rollcall_events::CatalogDoc;

use crate::error::CatalogParseError;

/// Parses a catalog document. Errors name the JSON path and the problem.
pub fn parse(json: &str) -> Result<CatalogDoc, CatalogParseError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let doc: CatalogDoc = serde_path_to_error::deserialize(&mut de).map_err(invalid)?;
    // Trailing garbage after the document is as much an error as a missing brace.
    de.end().map_err(|e| invalid_at(".".to_owned(), &e))?;
    Ok(doc)
}

/// Reads and parses a catalog document from a file.
pub fn load_file(path: impl AsRef<Path>) -> Result<CatalogDoc, CatalogParseError> {
    let path = path.as_ref();
    let json = std::fs::read_to_string(path).map_err(|source| CatalogParseError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse(&json)
}

fn invalid(e: serde_path_to_error::Error<serde_json::Error>) -> CatalogParseError {
    let path = e.path().to_string();
    invalid_at(path, e.inner())
}

fn invalid_at(path: String, e: &serde_json::Error) -> CatalogParseError {
    // serde_json appends the location to its message; it is kept in fields of its
    // own instead, so the message reads cleanly next to the path.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    CatalogParseError::Invalid {
        path,
        message,
        line: e.line(),
        column: e.column(),
    }
}
