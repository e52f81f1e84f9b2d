//! Every seed catalog passes the domain core's full validation, and the rules the
//! articles state hold in the compiled form.

use rollcall_aggregates::Catalog;
use rollcall_events::Permission;

fn compiled(name: &str) -> Catalog {
    let doc = rollcall_catalogs::by_name(name).expect("seed exists");
    Catalog::compile(doc).unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

#[test]
fn every_seed_compiles() {
    for name in rollcall_catalogs::names() {
        compiled(name);
    }
}

#[test]
fn jetbuilt_project_permissions_require_view_projects() {
    let catalog = compiled("jetbuilt");
    for p in [
        "projects.all",
        "projects.control",
        "projects.engineer",
        "projects.share",
        "projects.edit",
        "costs.view",
        "report_pages.design",
    ] {
        assert_eq!(
            catalog.requires(&Permission::from(p)),
            &[Permission::from("projects.view")],
            "{p}"
        );
    }
}

#[test]
fn jetbuilt_lite_keeps_view_projects_on_so_its_always_on_project_permissions_hold() {
    let catalog = compiled("jetbuilt");
    let lite = catalog.plan("lite").expect("lite plan");
    assert!(lite.always_on.contains(&Permission::from("projects.view")));
    for p in &lite.always_on {
        for r in catalog.requires(p) {
            assert!(lite.always_on.contains(r), "{p} needs {r} on lite");
        }
    }
}
