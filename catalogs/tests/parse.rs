//! Malformed catalog documents are rejected with the JSON path of the problem, so a
//! person editing a catalog by hand can find it.

use pretty_assertions::assert_eq;
use rollcall_catalogs::{CatalogParseError, load_file, parse};
use serde_json::{Value, json};

/// The smallest complete catalog; each test breaks one thing in it.
fn minimal() -> Value {
    json!({
        "key": "tiny",
        "label": "Tiny",
        "areas": [
            {"key": "notes", "label": "Notes", "actions": [
                {"key": "view", "label": "View"},
                {"key": "edit", "label": "Edit"}
            ]},
            {"key": "team", "label": "Team", "actions": [{"key": "manage", "label": "Manage"}]}
        ],
        "roles": [{"key": "admin", "label": "Admin", "grants": ["*"]}],
        "owner_roles": ["admin"],
        "team_permission": "team.manage",
        "plans": [{"key": "basic", "label": "Basic"}],
        "default_plan": "basic"
    })
}

/// Path and message of the error parsing `doc`.
fn error_of(doc: &Value) -> (String, String) {
    match parse(&doc.to_string()) {
        Ok(parsed) => panic!("expected an error, parsed {parsed:?}"),
        Err(CatalogParseError::Invalid { path, message, .. }) => (path, message),
        Err(other) => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn the_minimal_document_parses_and_fills_in_defaults() {
    let doc = parse(&minimal().to_string()).map_err(|e| e.to_string());
    let doc = doc.as_ref().map(|d| {
        (
            d.description.as_str(),
            d.default_role.clone(),
            d.multi_role,
            d.view_actions.clone(),
            d.invite_ttl_hours,
            d.invite_requires_mfa,
            d.profile_links.len(),
            d.requires.len(),
        )
    });
    assert_eq!(
        doc,
        Ok((
            "",
            None,
            false,
            vec!["view".to_owned(), "read".to_owned()],
            72,
            false,
            0,
            0
        ))
    );
}

#[test]
fn unknown_field_names_its_path() {
    let mut doc = minimal();
    doc["areas"][1]["actions"][0]["lable"] = json!("typo");
    let (path, message) = error_of(&doc);
    assert_eq!(path, "areas[1].actions[0].lable");
    assert!(message.starts_with("unknown field `lable`"), "{message}");
}

#[test]
fn unknown_top_level_field_names_the_field() {
    let mut doc = minimal();
    doc["default_roles"] = json!(["admin"]);
    let (path, message) = error_of(&doc);
    assert_eq!(path, "default_roles");
    assert!(
        message.starts_with("unknown field `default_roles`"),
        "{message}"
    );
}

#[test]
fn wrong_type_names_its_path() {
    let mut doc = minimal();
    doc["plans"][0]["max_offices"] = json!("one");
    let (path, message) = error_of(&doc);
    assert_eq!(path, "plans[0].max_offices");
    assert!(
        message.starts_with("invalid type: string \"one\", expected u32"),
        "{message}"
    );

    let mut doc = minimal();
    doc["multi_role"] = json!("yes");
    assert_eq!(error_of(&doc).0, "multi_role");
}

#[test]
fn unknown_scope_names_its_path() {
    let mut doc = minimal();
    doc["areas"][0]["scope"] = json!({"options": ["all", "mine"], "default": "all"});
    let (path, message) = error_of(&doc);
    assert_eq!(path, "areas[0].scope.options[1]");
    assert!(message.starts_with("unknown variant `mine`"), "{message}");
}

#[test]
fn missing_field_names_the_object_that_lacks_it() {
    let mut doc = minimal();
    if let Some(role) = doc["roles"][0].as_object_mut() {
        role.remove("grants");
    }
    assert_eq!(
        error_of(&doc),
        ("roles[0]".to_owned(), "missing field `grants`".to_owned())
    );

    let mut doc = minimal();
    if let Some(top) = doc.as_object_mut() {
        top.remove("team_permission");
    }
    assert_eq!(
        error_of(&doc),
        (".".to_owned(), "missing field `team_permission`".to_owned())
    );
}

#[test]
fn syntax_errors_and_trailing_input_are_rejected_with_a_location() {
    let broken = r#"{"key": "tiny", "label": }"#;
    match parse(broken) {
        Err(CatalogParseError::Invalid { line, column, .. }) => assert_eq!((line, column), (1, 26)),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let trailing = format!("{} {{}}", minimal());
    match parse(&trailing) {
        Err(CatalogParseError::Invalid { path, message, .. }) => {
            assert_eq!(
                (path.as_str(), message.as_str()),
                (".", "trailing characters")
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn the_error_message_reads_on_its_own() {
    let mut doc = minimal();
    doc["invite_ttl_hours"] = json!(-1);
    let err = parse(&doc.to_string()).err().map(|e| e.to_string());
    let text = err.unwrap_or_default();
    assert!(text.starts_with("catalog is invalid at `invite_ttl_hours`: invalid value: integer `-1`, expected u32 (line 1, column"), "{text}");
}

#[test]
fn load_file_reads_and_parses() {
    let dir = tempfile::tempdir().map_err(|e| e.to_string());
    let Ok(dir) = dir else {
        panic!("no temp dir: {dir:?}")
    };
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    let written = std::fs::write(&good, minimal().to_string())
        .and_then(|()| std::fs::write(&bad, "{\"key\": 3}"));
    assert!(written.is_ok(), "{written:?}");

    assert_eq!(
        load_file(&good).map(|d| d.key).ok(),
        Some("tiny".to_owned())
    );
    assert_eq!(
        load_file(&bad)
            .err()
            .and_then(|e| e.path().map(str::to_owned)),
        Some("key".to_owned())
    );
    match load_file(dir.path().join("absent.json")) {
        Err(e @ CatalogParseError::Io { .. }) => {
            assert_eq!(e.path(), None);
            assert!(e.to_string().contains("absent.json"), "{e}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn the_seed_files_on_disk_match_the_embedded_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in rollcall_catalogs::names() {
        let from_disk = load_file(dir.join(format!("{name}.json"))).map_err(|e| e.to_string());
        assert_eq!(from_disk.ok(), rollcall_catalogs::by_name(name), "{name}");
    }
}

#[test]
fn the_examples_in_the_format_docs_parse() {
    // The format page is what newcomers copy from; its examples must stay valid.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/catalog-format.md");
    let page = std::fs::read_to_string(&path).map_err(|e| e.to_string());
    let Ok(page) = page else {
        panic!("cannot read {}: {page:?}", path.display())
    };
    let whole_catalogs: Vec<&str> = page
        .split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("\n```").next())
        .filter(|block| block.contains("\"default_plan\""))
        .collect();
    assert_eq!(whole_catalogs.len(), 2, "the minimal and the full example");
    for example in whole_catalogs {
        let parsed = parse(example).map(|doc| doc.key);
        assert!(parsed.is_ok(), "{parsed:?} in\n{example}");
    }
}
