//! The OpenAPI document, generated from the handlers' annotations (utoipa), served at
//! `/api/openapi.json`. No bundled Swagger UI: it would download assets at build time.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::error::ErrorBody;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::SESSION_COOKIE))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "medinfra API",
        description = "Catalog, registry, applications and projects, access checks and the audit log of a medinfra data directory. Sign in with POST /api/session (cookie + X-CSRF-Token on state-changing requests) or send an API token as a bearer token.",
        license(name = "Apache-2.0")
    ),
    paths(
        api::session::login, api::session::logout, api::session::me, api::session::create_token,
        api::session::list_tokens, api::session::revoke_token,
        api::admin::disable_user, api::admin::enable_user, api::admin::reset_password,
        api::admin::close_project,
        api::catalog::list, api::catalog::dataset, api::catalog::manifest, api::catalog::lineage,
        api::catalog::rows, api::catalog::download, api::catalog::check,
        api::admin::list_orgs, api::admin::create_org, api::admin::list_users, api::admin::create_user,
        api::admin::list_authorizations, api::admin::grant_authorization, api::admin::revoke_authorization,
        api::applications::list, api::applications::submit, api::applications::get_one,
        api::applications::revise, api::applications::review, api::applications::projects,
        api::applications::project,
        api::workspace::query, api::workspace::save, api::workspace::results,
        api::releases::request, api::releases::list, api::releases::get_one, api::releases::review,
        api::releases::get_budget, api::releases::set_budget,
        api::audit::entries, api::audit::verify,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    security((), ("bearer" = []), ("session" = [])),
)]
pub struct ApiDoc;

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".into())
}

pub async fn serve_openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
