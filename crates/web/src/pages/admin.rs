//! Administration (operators): organizations, users, government authorizations, and the
//! metadata of the keys (never key material). Changes go through the API's handlers.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use serde::Deserialize;

use medinfra_pseudo::keys::{KeyMeta, KeyStore};
use medinfra_server::api::admin::{self as api, AuthorizationRecord, OrgView, UserView};
use medinfra_server::extract::ApiJson;

use crate::ctx::{Ctx, PageResult, Web, WebError, render};

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage<'a> {
    ctx: &'a Ctx,
    orgs: Vec<OrgView>,
    users: Vec<UserView>,
    authorizations: Vec<AuthorizationRecord>,
    keys: Vec<KeyMeta>,
    message: Option<String>,
}

async fn admin_page(web: &Web, ctx: &Ctx, message: Option<String>) -> PageResult {
    let orgs = api::list_orgs(super::api(web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let users = api::list_users(super::api(web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    let authorizations = api::list_authorizations(super::api(web), ctx.caller.clone())
        .await
        .map_err(|e| ctx.fail(e))?
        .0;
    // Metadata only: KeyStore::list reads the key files' descriptions, never returns the
    // material. Listing it needs the same decision as the rest of this page (made above).
    let keys = KeyStore::open(&web.config.key_dir)
        .and_then(|k| k.list())
        .unwrap_or_default();
    render(
        ctx,
        &AdminPage {
            ctx,
            orgs,
            users,
            authorizations,
            keys,
            message,
        },
    )
}

pub async fn page(State(web): State<Web>, ctx: Ctx) -> PageResult {
    admin_page(&web, &ctx, None).await
}

/// A rejected form shows the page again with the reason; anything else is an error page.
async fn after(web: &Web, ctx: &Ctx, result: Result<(), medinfra_server::ApiError>) -> PageResult {
    match result {
        Ok(()) => Ok(super::see_other("/ui/admin")),
        Err(medinfra_server::ApiError::BadRequest(m) | medinfra_server::ApiError::Conflict(m)) => {
            admin_page(web, ctx, Some(m)).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

fn json<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    v: serde_json::Value,
) -> Result<T, crate::ctx::PageError> {
    serde_json::from_value(v).map_err(|e| ctx.fail(WebError::Bad(e.to_string())))
}

#[derive(Deserialize)]
pub struct OrgForm {
    name: String,
}

pub async fn create_org(State(web): State<Web>, ctx: Ctx, Form(f): Form<OrgForm>) -> PageResult {
    let req = json(&ctx, serde_json::json!({ "name": f.name }))?;
    let r = api::create_org(super::api(&web), ctx.caller.clone(), ApiJson(req))
        .await
        .map(|_| ());
    after(&web, &ctx, r).await
}

#[derive(Deserialize)]
pub struct UserForm {
    username: String,
    role: String,
    #[serde(default)]
    organization: String,
    password: String,
}

pub async fn create_user(State(web): State<Web>, ctx: Ctx, Form(f): Form<UserForm>) -> PageResult {
    let org = (!f.organization.trim().is_empty()).then(|| f.organization.trim().to_string());
    let req = json(
        &ctx,
        serde_json::json!({ "username": f.username, "role": f.role, "organization": org, "password": f.password }),
    )?;
    let r = api::create_user(super::api(&web), ctx.caller.clone(), ApiJson(req))
        .await
        .map(|_| ());
    after(&web, &ctx, r).await
}

#[derive(Deserialize)]
pub struct AuthorizationForm {
    organization: String,
    number: String,
    kind: String,
    valid_from: String,
    valid_to: String,
}

pub async fn grant_authorization(
    State(web): State<Web>,
    ctx: Ctx,
    Form(f): Form<AuthorizationForm>,
) -> PageResult {
    let req = json(
        &ctx,
        serde_json::json!({
            "organization": f.organization, "number": f.number, "kind": f.kind,
            "valid_from": f.valid_from, "valid_to": f.valid_to,
        }),
    )?;
    let r = api::grant_authorization(super::api(&web), ctx.caller.clone(), ApiJson(req))
        .await
        .map(|_| ());
    after(&web, &ctx, r).await
}

pub async fn revoke_authorization(
    State(web): State<Web>,
    ctx: Ctx,
    Path(number): Path<String>,
) -> PageResult {
    let r = api::revoke_authorization(super::api(&web), ctx.caller.clone(), super::path(number))
        .await
        .map(|_| ());
    after(&web, &ctx, r).await
}
