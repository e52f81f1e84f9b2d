//! The API's routes and their OpenAPI document, from one list: each route is
//! mounted with its handler's `#[utoipa::path]` annotation, which is also its
//! entry in the document, so nothing can be mounted undocumented or documented
//! unmounted.

use std::sync::LazyLock;

use serde_json::{Value, json};

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::compliance::{
    self, ChainPoint, ChainVerification, CheckpointCheck, CheckpointList,
};
use crate::http::dto::*;
use crate::http::{commands, events, ops, queries};
use rollcall_projections::*;
use rollcall_replay::EffectiveAsOf;

/// What the document says besides its paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "Rollcall", description = "Team-and-permissions backend: commands, queries, the check."),
    components(schemas(
        CreateTenantRequest, OwnerRequest, PlanRequest, CreateRoleRequest, UpdateRoleRequest,
        InviteRequest, ReasonRequest, AcceptRequest, RolesRequest, ToggleRequest, ScopeRequest,
        OfficesRequest, NetworksRequest, ProfileRequest, DeactivateRequest, LoginRequest, ResourceRequest,
        CheckBody, CommandAnswer, Problem, Health, UserSummary, UserList, UserDetail,
        EffectivePermission, CheckAnswer, AuditEntry, AuditPage, CatalogAnswer, RoleAnswer,
        AccessDelta, EffectiveAsOf, CheckpointList, PlatformsAnswer, Membership,
        MembershipList, ChainVerification, ChainPoint, CheckpointCheck, StatusName, Consistency,
    )),
    modifiers(&Bearer),
)]
struct ApiDoc;

/// The `/v1` API, each route with its document (paths are in the annotations).
fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(commands::create_tenant))
        .routes(routes!(queries::catalog, commands::define_catalog))
        .routes(routes!(commands::change_plan))
        .routes(routes!(commands::create_role))
        .routes(routes!(commands::update_role, commands::delete_role))
        .routes(routes!(commands::invite))
        .routes(routes!(commands::resend_invitation))
        .routes(routes!(commands::cancel_invitation))
        .routes(routes!(commands::accept_invitation))
        .routes(routes!(queries::users))
        .routes(routes!(queries::user))
        .routes(routes!(commands::change_roles))
        .routes(routes!(commands::toggle_permission))
        .routes(routes!(commands::set_scope))
        .routes(routes!(commands::set_offices))
        .routes(routes!(commands::set_networks))
        .routes(routes!(commands::update_profile))
        .routes(routes!(commands::deactivate))
        .routes(routes!(commands::reactivate))
        .routes(routes!(commands::record_login))
        .routes(routes!(queries::platforms))
        .routes(routes!(queries::check))
        .routes(routes!(compliance::effective_permissions_as_of))
        .routes(routes!(queries::audit))
        .routes(routes!(compliance::access_review))
        .routes(routes!(compliance::access_diff))
        .routes(routes!(events::event_stream))
        .routes(routes!(compliance::checkpoints))
        .routes(routes!(compliance::verify))
        .routes(routes!(queries::memberships))
}

/// Health, metrics and this document, documented at the root (the router also
/// answers them under `/v1`).
pub(crate) fn ops() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
}

/// Every documented route, and the document.
pub(crate) fn api() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1())
        .merge(ops())
        .split_for_parts();
    CommandOutages.modify(&mut document);
    (router, document)
}

/// The document as served: utoipa's, with what it cannot say of values added
/// (`refine`), as JSON (utoipa's types cannot hold every schema keyword).
static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let mut document = serde_json::to_value(api().1).expect("the document serialises");
    refine(&mut document);
    document
});

/// The OpenAPI document served at `/openapi.json`.
pub fn document() -> &'static Value {
    &DOCUMENT
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("operator token or HS256 JWT")
                    .build(),
            ),
        );
    }
}

/// Every command (the operations taking an `Idempotency-Key`) may answer 503
/// while the log is down or when it did not confirm the append.
struct CommandOutages;

impl Modify for CommandOutages {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::content::ContentBuilder;
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Ref, ResponseBuilder};

        let answer = ResponseBuilder::new()
            .description(
                "`unavailable`: the event log cannot be reached, nothing was written. \
                 `outcome-unknown`: the log did not confirm the append, which may have been \
                 written; retry with the same Idempotency-Key, which never appends twice. \
                 Both carry `Retry-After` (seconds).",
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(0)),
                    )
                    .description(Some("seconds to wait before retrying"))
                    .build(),
            )
            .content(
                crate::problem::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .responses
            .insert("CommandUnavailable".to_owned(), answer.into());
        let answer = Ref::new("#/components/responses/CommandUnavailable");
        // What the gateway takes as a key (`commands::idempotency_key`): visible
        // ASCII, spaces inside, 1 to 255 characters once trimmed.
        let idempotency_key = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some("^[ -~]*[!-~][ -~]*$"))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.delete]
                .into_iter()
                .flatten()
            {
                let mut keyed = false;
                for parameter in operation.parameters.iter_mut().flatten() {
                    if parameter.name == "Idempotency-Key" {
                        parameter.schema = Some(idempotency_key.clone().into());
                        keyed = true;
                    }
                }
                if keyed {
                    operation
                        .responses
                        .responses
                        .insert("503".to_owned(), answer.clone().into());
                }
            }
        }
    }
}

/// A role key, as `rollcall_aggregates::catalog::valid_key` accepts it.
const ROLE_KEY_PATTERN: &str = "^[a-z0-9_-]{1,64}$";

/// No control character (C0, DEL, C1) and no bidirectional formatting character
/// (`limits::is_forbidden_char`), as the body of a character class.
const FORBIDDEN: &str =
    "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";

/// What the document says of a value beyond its type, from the limits the server
/// applies (`rollcall_aggregates::limits`): lengths, counts, the characters a text
/// may not hold, IP addresses, toggle states, the seed catalogs' names, the
/// `actor` filter and `Last-Event-ID`. A request the document allows is then
/// refused only for what no document can say: a name the tenant's catalog does
/// not know, a rule between two values, the state of the team, a forged token.
fn refine(doc: &mut Value) {
    use rollcall_aggregates::limits::*;
    // A text the server trims and requires: a visible character, none forbidden.
    let text = |max: usize| json!({"maxLength": max, "pattern": format!("^[^{FORBIDDEN}]*[^\\s{FORBIDDEN}][^{FORBIDDEN}]*$")});
    let string = |mut schema: Value| {
        schema["type"] = json!("string");
        schema
    };
    // A reason may break lines.
    let reason = json!({
        "maxLength": MAX_REASON_CHARS,
        "pattern": format!("^[^{}]*$", FORBIDDEN.replace("\\u0000-\\u001f", "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f")),
    });
    let ip = json!({"type": null, "anyOf": [
        {"type": "string", "format": "ipv4"},
        {"type": "string", "format": "ipv6"},
        {"type": "null"},
    ]});
    let schemas = &mut doc["components"]["schemas"];
    let mut set = |schema: &str, property: &str, refinement: &Value| {
        let target = &mut schemas[schema]["properties"][property];
        assert!(target.is_object(), "{schema}.{property} is in the document");
        merge(target, refinement);
    };
    for schema in [
        "CreateTenantRequest",
        "PlanRequest",
        "CreateRoleRequest",
        "UpdateRoleRequest",
        "InviteRequest",
        "ReasonRequest",
        "RolesRequest",
        "ToggleRequest",
        "ScopeRequest",
        "OfficesRequest",
        "NetworksRequest",
        "ProfileRequest",
        "DeactivateRequest",
    ] {
        set(schema, "reason", &reason);
    }
    set("CreateTenantRequest", "name", &text(MAX_TENANT_NAME_CHARS));
    for schema in ["OwnerRequest", "InviteRequest", "ProfileRequest"] {
        set(schema, "display_name", &text(MAX_NAME_CHARS));
    }
    for schema in ["CreateRoleRequest", "UpdateRoleRequest"] {
        set(schema, "label", &text(MAX_NAME_CHARS));
        set(schema, "grants", &json!({"maxItems": MAX_ROLE_GRANTS}));
    }
    set(
        "CreateRoleRequest",
        "key",
        &json!({"pattern": ROLE_KEY_PATTERN}),
    );
    set(
        "CreateTenantRequest",
        "catalog",
        &json!({"type": null, "anyOf": [
            {"type": "string", "enum": rollcall_catalogs::names()},
            {"type": "object"},
        ]}),
    );
    for schema in ["InviteRequest", "RolesRequest"] {
        set(schema, "roles", &json!({"maxItems": MAX_ROLES_PER_MEMBER}));
    }
    set(
        "InviteRequest",
        "permissions",
        &json!({
            "maxProperties": MAX_INVITE_OVERRIDES,
            "additionalProperties": {"$ref": "#/components/schemas/ToggleState"},
        }),
    );
    set(
        "OfficesRequest",
        "offices",
        &json!({"maxItems": MAX_OFFICES_PER_MEMBER, "items": string(text(MAX_OFFICE_CHARS))}),
    );
    set(
        "NetworksRequest",
        "cidrs",
        &json!({"maxItems": MAX_NETWORKS_PER_MEMBER}),
    );
    set(
        "ProfileRequest",
        "links",
        &json!({"maxProperties": MAX_PROFILE_LINKS}),
    );
    set("ResourceRequest", "office_id", &text(MAX_OFFICE_CHARS));
    for schema in ["CheckBody", "LoginRequest"] {
        set(schema, "source_ip", &ip);
    }

    let uuid = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
    let mut parameter = |path: &str, name: &str, schema: Value| {
        let parameters = doc["paths"][path]["get"]["parameters"]
            .as_array_mut()
            .expect("the operation has parameters");
        let parameter = parameters
            .iter_mut()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has the parameter {name}"));
        parameter["schema"] = schema;
    };
    parameter(
        "/v1/tenants/{t}/audit",
        "actor",
        json!({"type": "string", "pattern": format!("^(operator|{uuid})$")}),
    );
    parameter(
        "/v1/tenants/{t}/audit",
        "limit",
        json!({"type": "integer", "minimum": 1, "maximum": rollcall_projections::MAX_AUDIT_LIMIT}),
    );
    // `next_cursor` is a position; empty is no cursor.
    parameter(
        "/v1/tenants/{t}/audit",
        "cursor",
        json!({"type": "string", "pattern": "^[0-9]{0,19}$"}),
    );
    // A position as the stream's `id` field wrote it: decimal digits, fewer
    // than u64's twenty.
    parameter(
        "/v1/tenants/{t}/events",
        "Last-Event-ID",
        json!({"type": "string", "pattern": "^[0-9]{1,19}$"}),
    );
}

/// Sets `refinement`'s keys on `target`; a `null` removes the key.
fn merge(target: &mut Value, refinement: &Value) {
    let (Some(target), Some(refinement)) = (target.as_object_mut(), refinement.as_object()) else {
        panic!("a schema and its refinement are objects");
    };
    for (key, value) in refinement {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented role-key pattern accepts exactly the keys the catalog
    /// does: every ASCII character alone, characters beyond ASCII, the lengths
    /// at the bound, and a trailing line break (which `$` must not excuse).
    #[test]
    fn the_documented_role_key_pattern_is_the_catalogs_rule() {
        let pattern = regex::Regex::new(ROLE_KEY_PATTERN).expect("the pattern compiles");
        let mut samples: Vec<String> = (0u8..=0x7f).map(|b| char::from(b).to_string()).collect();
        samples.extend(["é", "ß", "\u{212a}", "ı", "١"].map(str::to_owned));
        samples.extend([
            String::new(),
            "a".repeat(64),
            "a".repeat(65),
            "sales-manager_2".to_owned(),
            "admin\n".to_owned(),
            "Admin".to_owned(),
            "a b".to_owned(),
        ]);
        for sample in &samples {
            assert_eq!(
                pattern.is_match(sample),
                rollcall_aggregates::catalog::valid_key(sample),
                "{sample:?}"
            );
        }
    }

    /// The character class the document forbids is the server's own rule,
    /// `limits::is_forbidden_char`, for every character of the Basic
    /// Multilingual Plane (the rule names none beyond it).
    #[test]
    fn the_documented_forbidden_characters_are_the_servers() {
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for part in FORBIDDEN.split("\\u").filter(|part| !part.is_empty()) {
            let (hex, rest) = part.split_at(4);
            let code = u32::from_str_radix(hex, 16).expect("four hex digits");
            match ranges.last_mut() {
                // The end of a range `start-end`.
                Some((_, end)) if *end == u32::MAX => *end = code,
                _ => ranges.push((code, if rest == "-" { u32::MAX } else { code })),
            }
        }
        for code in 0..=0xffff_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let documented = ranges
                .iter()
                .any(|&(start, end)| (start..=end).contains(&code));
            assert_eq!(
                documented,
                rollcall_aggregates::limits::is_forbidden_char(c),
                "U+{code:04X}"
            );
        }
    }

    #[test]
    fn the_document_has_its_components_and_every_command_its_outage_answer() {
        let json = document();
        assert!(json["components"]["schemas"]["CommandAnswer"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
        assert!(json["components"]["responses"]["CommandUnavailable"].is_object());
        assert!(json["paths"]["/v1/tenants"]["post"]["responses"]["503"].is_object());
    }
}
