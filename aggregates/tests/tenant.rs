//! Specifications of tenant creation, catalog redefinition and plan changes.

use rollcall_aggregates::testing::*;
use rollcall_aggregates::{CatalogError, Command, DomainError};
use rollcall_events::catalog::RoleDoc;
use rollcall_events::*;

fn create(catalog: rollcall_events::CatalogDoc, plan: Option<&str>) -> Command {
    Command::CreateTenant {
        tenant_id: TENANT,
        name: " Acme ".into(),
        catalog,
        plan: plan.map(str::to_owned),
        owner_id: OWNER,
        owner_email: " Owner@Acme.TEST".into(),
        owner_display_name: "Olive Owner".into(),
    }
}

#[test]
fn the_operator_creates_a_tenant_whose_owner_is_the_first_admin() {
    let team = given([])
        .when(create(catalogs::small(), None))
        .by(Actor::Operator)
        .then(tenant_created(catalogs::small()));
    assert_eq!(team.tenant_id, Some(TENANT));
    assert_eq!(team.active_admins(), vec![OWNER]);
    assert_eq!(team.plan, "pro");
    assert_eq!(team.catalog_version, 1);
}

#[test]
fn a_tenant_may_start_on_a_named_plan() {
    let Event::TenantCreated(mut e) = tenant_created(catalogs::small()) else {
        unreachable!()
    };
    e.plan = "lite".into();
    given([])
        .when(create(catalogs::small(), Some("lite")))
        .by(Actor::Operator)
        .then(Event::TenantCreated(e));
}

#[test]
fn only_the_operator_creates_tenants() {
    given([])
        .when(create(catalogs::small(), None))
        .by(Actor::User(OWNER))
        .then_err(DomainError::OperatorOnly {
            action: "create a tenant",
        });
}

#[test]
fn a_tenant_is_created_once() {
    given([tenant_created(catalogs::small())])
        .when(create(catalogs::small(), None))
        .by(Actor::Operator)
        .then_err(DomainError::TenantExists { tenant_id: TENANT });
}

#[test]
fn a_tenant_needs_a_valid_catalog() {
    let mut doc = catalogs::small();
    doc.roles[2].grants.push(Permission::from("contacts.fly"));
    let err = DomainError::InvalidCatalog(CatalogError::RoleGrantsUnknown {
        role: "user".into(),
        permission: "contacts.fly".into(),
    });
    assert_eq!(
        err.to_string(),
        "invalid catalog: role `user` grants unknown permission `contacts.fly`"
    );
    given([])
        .when(create(doc, None))
        .by(Actor::Operator)
        .then_err(err);
}

#[test]
fn a_tenant_needs_a_known_plan_and_a_valid_owner() {
    given([])
        .when(create(catalogs::small(), Some("gold")))
        .by(Actor::Operator)
        .then_err(DomainError::UnknownPlan {
            plan: "gold".into(),
        });
    let mut cmd = create(catalogs::small(), None);
    if let Command::CreateTenant { owner_email, .. } = &mut cmd {
        *owner_email = "not-an-email".into();
    }
    given([])
        .when(cmd)
        .by(Actor::Operator)
        .then_err(DomainError::InvalidEmail {
            email: "not-an-email".into(),
        });
}

#[test]
fn every_other_command_needs_a_tenant() {
    given([])
        .when(Command::ChangePlan {
            plan: "lite".into(),
        })
        .by(Actor::Operator)
        .then_err(DomainError::TenantNotFound);
    given([])
        .when(Command::RecordLogin {
            user_id: OWNER,
            source_ip: None,
        })
        .then_err(DomainError::TenantNotFound);
}

#[test]
fn only_the_operator_redefines_the_catalog() {
    let mut doc = catalogs::small();
    doc.areas[0].label = "People".into();
    // Not even the owner: the catalog is the product's permission model.
    given([tenant_created(catalogs::small())])
        .when(Command::DefineCatalog {
            catalog: doc.clone(),
        })
        .then_err(DomainError::OperatorOnly {
            action: "replace the catalog",
        });
    let team = given([tenant_created(catalogs::small())])
        .when(Command::DefineCatalog {
            catalog: doc.clone(),
        })
        .by(Actor::Operator)
        .then(Event::CatalogDefined(CatalogDefined {
            version: 2,
            catalog: doc,
        }));
    assert_eq!(team.catalog_version, 2);
    assert_eq!(
        team.catalog()
            .map(|c| c.area("contacts").map(|a| a.label.clone())),
        Some(Some("People".to_owned()))
    );
}

#[test]
fn a_redefinition_keeps_the_key_and_must_change_something() {
    let mut doc = catalogs::small();
    doc.key = "other".into();
    given([tenant_created(catalogs::small())])
        .when(Command::DefineCatalog { catalog: doc })
        .by(Actor::Operator)
        .then_err(DomainError::CatalogKeyChanged {
            from: "small".into(),
            to: "other".into(),
        });
    given([tenant_created(catalogs::small())])
        .when(Command::DefineCatalog {
            catalog: catalogs::small(),
        })
        .by(Actor::Operator)
        .then_err(DomainError::Unchanged { what: "catalog" });
}

#[test]
fn a_redefinition_may_not_drop_a_role_in_use() {
    let mut doc = catalogs::small();
    doc.roles.retain(|r| r.key.as_str() != "viewer");
    given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(2), &["viewer"]))
        .when(Command::DefineCatalog { catalog: doc })
        .by(Actor::Operator)
        .then_err(DomainError::RoleInUse {
            role: "viewer".into(),
            members: 1,
        });
}

#[test]
fn a_redefinition_may_not_leave_the_tenant_without_an_admin() {
    let mut doc = catalogs::small();
    doc.roles.push(RoleDoc {
        key: "boss".into(),
        label: "Boss".into(),
        description: String::new(),
        grants: vec!["*".into()],
        except: vec![],
    });
    doc.roles[0].grants = vec!["contacts.*".into()];
    doc.owner_roles = vec!["boss".into()];
    given([tenant_created(catalogs::small())])
        .when(Command::DefineCatalog { catalog: doc })
        .by(Actor::Operator)
        .then_err(DomainError::LastActiveAdmin {
            admins: vec![OWNER],
        });
}

#[test]
fn the_plan_changes_with_the_billing_permission_not_the_team_permission() {
    // MANAGER holds everything but billing, team management included.
    let manager = || {
        given([tenant_created(catalogs::small())])
            .and_by(Actor::Operator, joined(user(4), &["manager"]))
    };
    manager()
        .when(Command::ChangePlan {
            plan: "lite".into(),
        })
        .by(Actor::User(user(4)))
        .then_err(DomainError::PermissionRequired {
            actor: Actor::User(user(4)),
            permission: "billing.manage".into(),
            action: "change the plan",
        });
    // A billing-only member may, when the change gains nobody more than it holds:
    // lite turns `contacts.view` on for everyone, which it holds too.
    let billing = given([tenant_created(catalogs::small())])
        .and_by(Actor::Operator, joined(user(4), &["manager"]))
        .and_by(
            Actor::Operator,
            [Event::RoleCreated(RoleCreated {
                role: "payer".into(),
                label: "Payer".into(),
                grants: vec!["billing.manage".into(), "contacts.view".into()],
            })],
        )
        .and_by(Actor::Operator, joined(user(5), &["payer"]));
    billing
        .when(Command::ChangePlan {
            plan: "lite".into(),
        })
        .by(Actor::User(user(5)))
        .result()
        .expect("the billing member changes the plan");
    // A catalog without a billing permission leaves plans to the operator.
    let mut doc = catalogs::small();
    doc.billing_permission = None;
    given([tenant_created(doc)])
        .when(Command::ChangePlan {
            plan: "lite".into(),
        })
        .then_err(DomainError::OperatorOnly {
            action: "change the plan",
        });
}

#[test]
fn a_plan_change_gives_what_the_plans_define_on_the_billing_permission_alone() {
    // Back to pro, `billing.view` (which lite withholds) returns for the owner.
    // The billing member does not hold it, but the plans are the catalog's, and
    // the authority to switch between them is the billing permission.
    let team = given([tenant_created(catalogs::small())])
        .and_by(
            Actor::Operator,
            [
                Event::PlanChanged(PlanChanged {
                    from: "pro".into(),
                    to: "lite".into(),
                }),
                Event::RoleCreated(RoleCreated {
                    role: "payer".into(),
                    label: "Payer".into(),
                    grants: vec!["billing.manage".into()],
                }),
            ],
        )
        .and_by(Actor::Operator, joined(user(5), &["payer"]));
    team.when(Command::ChangePlan { plan: "pro".into() })
        .by(Actor::User(user(5)))
        .then(Event::PlanChanged(PlanChanged {
            from: "lite".into(),
            to: "pro".into(),
        }));
}

#[test]
fn an_admin_changes_the_plan() {
    let team = given([tenant_created(catalogs::small())])
        .when(Command::ChangePlan {
            plan: "lite".into(),
        })
        .then(Event::PlanChanged(PlanChanged {
            from: "pro".into(),
            to: "lite".into(),
        }));
    assert_eq!(team.plan, "lite");
}

#[test]
fn a_plan_change_needs_a_known_different_plan() {
    given([tenant_created(catalogs::small())])
        .when(Command::ChangePlan {
            plan: "gold".into(),
        })
        .then_err(DomainError::UnknownPlan {
            plan: "gold".into(),
        });
    given([tenant_created(catalogs::small())])
        .when(Command::ChangePlan { plan: "pro".into() })
        .then_err(DomainError::Unchanged { what: "plan" });
}

#[test]
fn a_plan_change_respects_the_office_limit() {
    given([
        tenant_created(catalogs::small()),
        Event::OfficesChanged(OfficesChanged {
            user_id: OWNER,
            from: vec![],
            to: vec!["east".into(), "west".into()],
        }),
    ])
    .when(Command::ChangePlan {
        plan: "lite".into(),
    })
    .then_err(DomainError::TooManyOffices {
        plan: "lite".into(),
        max: 1,
        requested: 2,
    });
}

#[test]
fn command_names_are_stable() {
    assert_eq!(
        Command::ChangePlan { plan: "x".into() }.name(),
        "change_plan"
    );
    assert_eq!(
        Command::RecordLogin {
            user_id: OWNER,
            source_ip: None
        }
        .name(),
        "record_login"
    );
}
