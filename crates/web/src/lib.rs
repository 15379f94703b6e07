//! The web UI of medinfra: server-rendered pages for every role, served by `medinfra serve` on
//! the API's port — sign-in, catalog (tiers, versions, schemas, lineage, manifest
//! verification, downloads of open data), applications and reviews, project workspaces (SQL,
//! paged results, SVG charts, saved results), output checking of release requests, pipeline
//! runs, the audit log and administration. Japanese and English.
//!
//! Pages are askama templates compiled into the binary; every asset is served from memory;
//! nothing is fetched at run time. Every page gets its data from the same handlers the API
//! runs (`medinfra_server::api`) or from `medinfra-research`, so one access function
//! (`medinfra_govern::can`) and one audit trail cover both. Forms carry the session's CSRF
//! token, checked by the API's own caller extractor.
//!
//! This crate must never decide access itself, never read data files or the catalog around
//! the handlers that check access, and never render a key, a password or a credential.

mod assets;
mod chart;
mod csrf;
mod ctx;
mod i18n;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};

use medinfra_server::AppState;

pub use ctx::{CSRF_COOKIE, WebConfig};
pub use i18n::{LANG_COOKIE, Lang};

use ctx::Web;

/// The UI's routes, on the API's shared state (merge into the API router, see
/// `medinfra_server::ServerConfig::extra_routes`).
pub fn routes(app: &AppState, config: WebConfig) -> Router {
    let web = Web {
        app: app.clone(),
        config: Arc::new(config),
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/assets/{name}", get(assets::serve))
        .route("/ui", get(pages::home::page))
        .route(
            "/ui/login",
            get(pages::signin::form).post(pages::signin::submit),
        )
        .route("/ui/logout", post(pages::signin::logout))
        .route("/ui/lang/{lang}", get(pages::signin::switch_language))
        .route("/ui/catalog", get(pages::catalog::list))
        .route("/ui/catalog/{name}", get(pages::catalog::dataset))
        .route(
            "/ui/applications",
            get(pages::applications::list).post(pages::applications::submit),
        )
        .route("/ui/applications/new", get(pages::applications::new_form))
        .route("/ui/applications/{id}", get(pages::applications::detail))
        .route(
            "/ui/applications/{id}/review",
            post(pages::applications::review),
        )
        .route("/ui/projects", get(pages::projects::list))
        .route(
            "/ui/projects/{name}",
            get(pages::workspace::project_page).post(pages::workspace::project_query),
        )
        .route(
            "/ui/projects/{name}/results/{result}",
            get(pages::workspace::result_page),
        )
        .route(
            "/ui/sample",
            get(pages::workspace::sample_page).post(pages::workspace::sample_query),
        )
        .route(
            "/ui/projects/{name}/releases",
            post(pages::releases::request),
        )
        .route("/ui/releases", get(pages::releases::list))
        .route("/ui/releases/{id}", get(pages::releases::detail))
        .route("/ui/releases/{id}/review", post(pages::releases::review))
        .route(
            "/ui/csv/{dataset}/{version}/{table}",
            get(pages::releases::download_csv),
        )
        .route("/ui/runs", get(pages::runs::page))
        .route("/ui/runs/reports/{dir}/{file}", get(pages::runs::report))
        .route("/ui/audit", get(pages::audit::page))
        .route("/ui/admin", get(pages::admin::page))
        .route("/ui/admin/orgs", post(pages::admin::create_org))
        .route("/ui/admin/users", post(pages::admin::create_user))
        .route(
            "/ui/admin/authorizations",
            post(pages::admin::grant_authorization),
        )
        .route(
            "/ui/admin/authorizations/{number}/revoke",
            post(pages::admin::revoke_authorization),
        )
        .layer(middleware::from_fn(csrf::form_token_to_header))
        .with_state(web)
}
