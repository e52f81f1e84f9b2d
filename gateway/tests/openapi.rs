//! The OpenAPI document and the router agree — every mounted API route is
//! documented and every documented operation is mounted — and the document is
//! pinned by a snapshot.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::Value;

/// What the router mounts besides the API: the pages a browser opens.
const PAGES: [&str; 7] = [
    "/",
    "/accept",
    "/console",
    "/console/",
    "/console/console.css",
    "/console/console.js",
    "/console/icon.svg",
];

/// Documented at the root and answered under `/v1` as well.
const ALSO_UNDER_V1: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn document(h: &Harness) -> Value {
    h.get("/openapi.json", OPERATOR)
        .await
        .expect(StatusCode::OK)
        .body
}

/// The paths the router matches. axum lists no routes, but its `Debug` output
/// names every path it mounted.
fn mounted_paths(h: &Harness) -> BTreeSet<String> {
    let debug = format!("{:?}", h.app);
    let paths: BTreeSet<String> = debug
        .split('"')
        .filter(|s| s.starts_with('/') && !s.starts_with("/{*"))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.contains("/v1/tenants") && paths.contains("/healthz"),
        "the router's Debug output no longer names its paths: {debug}"
    );
    paths
}

/// A request path for a documented one, its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{t}", "01900000-0000-7000-8000-0000000000aa")
        .replace("{u}", "01900000-0000-7000-8000-0000000000bb")
        .replace("{id}", "01900000-0000-7000-8000-0000000000cc")
        .replace("{role}", "admin")
        .replace("{perm}", "contacts.view")
        .replace("{area}", "contacts")
}

#[tokio::test]
async fn every_mounted_route_is_documented_and_every_documented_path_mounted() {
    let h = Harness::embedded();
    let doc = document(&h).await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let mut expected = documented.clone();
    expected.extend(PAGES.iter().map(|p| p.to_string()));
    expected.extend(ALSO_UNDER_V1.iter().map(|p| format!("/v1{p}")));
    assert_eq!(mounted_paths(&h), expected);
}

#[tokio::test]
async fn every_documented_operation_is_answered_and_no_other_method() {
    let h = Harness::embedded();
    let doc = document(&h).await;
    let unrouted = h.send(Method::GET, "/v1/no-such-route", None, None).await;
    assert_eq!(unrouted.status, StatusCode::NOT_FOUND);
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let uri = concrete(path);
        for method in METHODS {
            let answer = h
                .send(
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                    &uri,
                    None,
                    None,
                )
                .await;
            if item[method].is_object() {
                assert_ne!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not mounted"
                );
                assert_ne!(
                    (answer.status, &answer.body),
                    (unrouted.status, &unrouted.body),
                    "{method} {path} is documented but falls through to no route"
                );
            } else {
                assert_eq!(
                    answer.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is answered but not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_is_stable() {
    let h = Harness::embedded();
    let doc = h
        .get("/openapi.json", OPERATOR)
        .await
        .expect(StatusCode::OK);
    insta::assert_json_snapshot!("openapi", doc.body);
}

/// Every `$ref` of the document names something the document holds (a fuzzer
/// skips what it cannot resolve).
#[tokio::test]
async fn every_reference_resolves() {
    fn refs<'a>(value: &'a serde_json::Value, found: &mut Vec<&'a str>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner.as_str()) {
                        ("$ref", Some(target)) => found.push(target),
                        _ => refs(inner, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| refs(i, found)),
            _ => {}
        }
    }
    let h = Harness::embedded();
    let doc = h
        .get("/openapi.json", OPERATOR)
        .await
        .expect(StatusCode::OK);
    let mut found = Vec::new();
    refs(&doc.body, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(
            doc.body.pointer(pointer).is_some(),
            "unresolvable: {target}"
        );
    }
}
