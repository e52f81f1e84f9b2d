//! The OpenAPI document, generated from the handlers' annotations and the
//! request/answer types, so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::compliance::{
    self, ChainPoint, ChainVerification, CheckpointCheck, CheckpointList,
};
use crate::http::dto::*;
use crate::http::{commands, events, ops, queries};
use rollcall_projections::*;
use rollcall_replay::EffectiveAsOf;

#[derive(OpenApi)]
#[openapi(
    info(title = "Rollcall", description = "Team-and-permissions backend: commands, queries, the check."),
    paths(
        commands::create_tenant,
        queries::catalog,
        commands::define_catalog,
        commands::change_plan,
        commands::create_role,
        commands::update_role,
        commands::delete_role,
        commands::invite,
        commands::resend_invitation,
        commands::cancel_invitation,
        commands::accept_invitation,
        queries::users,
        queries::user,
        commands::change_roles,
        commands::toggle_permission,
        commands::set_scope,
        commands::set_offices,
        commands::set_networks,
        commands::update_profile,
        commands::deactivate,
        commands::reactivate,
        commands::record_login,
        queries::platforms,
        queries::check,
        compliance::effective_permissions_as_of,
        queries::audit,
        compliance::access_review,
        compliance::access_diff,
        events::event_stream,
        compliance::checkpoints,
        compliance::verify,
        queries::memberships,
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
    ),
    components(schemas(
        CreateTenantRequest, OwnerRequest, PlanRequest, CreateRoleRequest, UpdateRoleRequest,
        InviteRequest, ReasonRequest, AcceptRequest, RolesRequest, ToggleRequest, ScopeRequest,
        OfficesRequest, NetworksRequest, ProfileRequest, DeactivateRequest, LoginRequest, ResourceRequest,
        CheckBody, CommandAnswer, Problem, Health, UserSummary, UserList, UserDetail,
        EffectivePermission, CheckAnswer, AuditEntry, AuditPage, CatalogAnswer, RoleAnswer,
        AccessDelta, EffectiveAsOf, CheckpointList, PlatformsAnswer, Membership,
        MembershipList, ChainVerification, ChainPoint, CheckpointCheck,
    )),
    modifiers(&Bearer, &CommandOutages),
)]
pub struct ApiDoc;

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
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.put, &mut item.delete]
                .into_iter()
                .flatten()
            {
                let keyed = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.name == "Idempotency-Key");
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
    fn the_document_builds_with_every_route() {
        let doc = ApiDoc::openapi();
        assert_eq!(doc.paths.paths.len(), 34);
        let json = serde_json::to_value(&doc).unwrap_or_default();
        assert!(json["components"]["schemas"]["CommandAnswer"].is_object());
        assert!(json["components"]["securitySchemes"]["bearer"].is_object());
    }
}
