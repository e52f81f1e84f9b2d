//! The four seed catalogs, embedded in the binary.

use rollcall_events::CatalogDoc;

/// Name and JSON text of each seed, in the order of their help articles.
const SEEDS: [(&str, &str); 4] = [
    ("jtek", include_str!("../jtek.json")),
    ("jetbuilt", include_str!("../jetbuilt.json")),
    ("jobtracker", include_str!("../jobtracker.json")),
    ("jethub", include_str!("../jethub.json")),
];

const NAMES: [&str; 4] = [SEEDS[0].0, SEEDS[1].0, SEEDS[2].0, SEEDS[3].0];

/// The seed catalogs' names (`jtek`, `jetbuilt`, `jobtracker`, `jethub`).
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// The JSON text of a seed catalog, exactly as shipped.
pub fn source(name: &str) -> Option<&'static str> {
    SEEDS
        .iter()
        .find(|(seed, _)| *seed == name)
        .map(|(_, json)| *json)
}

/// A seed catalog by name; `None` for a name that is not a seed.
///
/// The embedded files are parsed on each call (they are small); the tests of this
/// crate prove every one of them parses, so `None` only ever means "no such seed".
pub fn by_name(name: &str) -> Option<CatalogDoc> {
    source(name).and_then(|json| crate::parse(json).ok())
}
