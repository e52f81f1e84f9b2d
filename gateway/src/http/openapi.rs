//! The API's routes and their OpenAPI document, from one list: each route is
//! mounted with its handler's `#[utoipa::path]` annotation, which is also its
//! entry in the document, so nothing can be mounted undocumented or documented
//! unmounted.

use std::sync::LazyLock;

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

static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| api().1);

/// The OpenAPI document served at `/openapi.json`.
pub fn document() -> &'static utoipa::openapi::OpenApi {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_its_components_and_every_command_its_outage_answer() {
        let json = serde_json::to_value(document()).expect("the document serialises");
        assert!(json["components"]["schemas"]["CommandAnswer"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
        assert!(json["components"]["responses"]["CommandUnavailable"].is_object());
        assert!(json["paths"]["/v1/tenants"]["post"]["responses"]["503"].is_object());
    }
}
