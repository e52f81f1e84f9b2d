//! The domain core is pure: neither it nor the event vocabulary it builds on pulls
//! in a store, a message broker or an async runtime. Asked of cargo itself, so a
//! dependency added anywhere below `rollcall-aggregates` fails here.

use std::process::Command;

const FORBIDDEN: [&str; 5] = [
    "sled",
    "async-nats",
    "tokio",
    "futures",
    "pretty_assertions",
];

/// The names of every package in `package`'s normal (non-dev, non-build) tree.
fn normal_tree(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
        .args(["--format", "{p}", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_domain_core_and_the_vocabulary_depend_on_no_store_broker_or_runtime() {
    for package in ["rollcall-aggregates", "rollcall-events"] {
        let tree = normal_tree(package);
        assert!(
            tree.iter().any(|p| p == package),
            "cargo tree did not list {package}: {tree:?}"
        );
        let found: Vec<&String> = tree
            .iter()
            .filter(|p| FORBIDDEN.contains(&p.as_str()))
            .collect();
        assert!(found.is_empty(), "{package} depends on {found:?}");
    }
}
