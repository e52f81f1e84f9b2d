//! The OpenAPI document, generated from the handlers' annotations and the
//! request/answer types, so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::compliance::{
    self, ChainPoint, ChainVerification, CheckpointCheck, CheckpointList, EffectiveAsOf,
};
use crate::http::dto::*;
use crate::http::{commands, events, ops, queries};
use rollcall_projections::*;

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
    modifiers(&Bearer),
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
