//! The permission catalogs of the four seed products, and the parser every catalog
//! document goes through.
//!
//! The seeds are JSON files in `catalogs/` embedded at build time, so a binary
//! carries them without a data directory. Parsing checks the document's shape only
//! (fields, types); whether its keys, roles and plans hang together is checked by
//! `Catalog::compile` in `rollcall-aggregates`.

mod error;
mod parse;
mod seeds;

pub use error::CatalogParseError;
pub use parse::{load_file, parse};
pub use seeds::{by_name, names, source};
