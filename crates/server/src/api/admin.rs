//! Registry administration (the `Administer` action): organizations, users, government
//! authorizations. Reading the registry needs the same right: it lists people and permits.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use medinfra_govern::{Action, AuthorizationKind, NewUser, Resource, Role};
use medinfra_model::Tier;

use crate::AppState;
use crate::api::names::{AccountRole, Kind};
use crate::api::{iso_date, parse_date};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

const REGISTRY: Resource = Resource::of(Tier::Statistics);

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrg {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub role: String,
    pub organization: Option<String>,
    pub locked: bool,
    pub disabled: bool,
    pub created_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserRequest {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub username: String,
    pub role: AccountRole,
    pub organization: Option<String>,
    /// At least 12 characters; stored as an argon2id hash.
    #[schema(min_length = 12)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationRecord {
    pub organization: String,
    pub number: String,
    /// type_i or type_ii.
    pub kind: String,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub valid_to: String,
    pub revoked: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAuthorization {
    pub organization: String,
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub number: String,
    pub kind: Kind,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub valid_to: String,
}

/// Organizations.
#[utoipa::path(get, path = "/api/orgs", tag = "admin",
    responses((status = 200, body = Vec<OrgView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<OrgView>>, ApiError> {
    state
        .require(
            &caller,
            Action::Administer,
            &REGISTRY,
            "organizations (list)",
        )
        .await?;
    Ok(Json(
        state
            .registry
            .orgs()
            .await?
            .into_iter()
            .map(|o| OrgView {
                name: o.name,
                created_at: o.created_at,
            })
            .collect(),
    ))
}

/// Create an organization.
#[utoipa::path(post, path = "/api/orgs", tag = "admin", request_body = NewOrg,
    responses((status = 201, body = OrgView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewOrg>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .require(
            &caller,
            Action::Administer,
            &REGISTRY,
            "create organization",
        )
        .await?;
    let o = state.registry.create_org(&req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgView {
            name: o.name,
            created_at: o.created_at,
        }),
    ))
}

fn user_view(u: medinfra_govern::User) -> UserView {
    UserView {
        username: u.username,
        role: u.role.as_str().into(),
        organization: u.organization,
        locked: u.locked,
        disabled: u.disabled,
        created_at: u.created_at,
    }
}

/// Users.
#[utoipa::path(get, path = "/api/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    state
        .require(&caller, Action::Administer, &REGISTRY, "users (list)")
        .await?;
    Ok(Json(
        state
            .registry
            .users()
            .await?
            .into_iter()
            .map(user_view)
            .collect(),
    ))
}

/// Create a user.
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .require(&caller, Action::Administer, &REGISTRY, "create user")
        .await?;
    let role = Role::from(req.role);
    let u = state
        .registry
        .create_user(&NewUser {
            username: &req.username,
            role,
            organization: req.organization.as_deref(),
            password: &req.password,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(user_view(u))))
}

fn auth_view(a: medinfra_govern::Authorization) -> AuthorizationRecord {
    AuthorizationRecord {
        organization: a.organization,
        number: a.number,
        kind: a.kind.as_str().into(),
        valid_from: iso_date(a.valid_from),
        valid_to: iso_date(a.valid_to),
        revoked: a.revoked,
    }
}

/// Government authorizations.
#[utoipa::path(get, path = "/api/authorizations", tag = "admin",
    responses((status = 200, body = Vec<AuthorizationRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list_authorizations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AuthorizationRecord>>, ApiError> {
    state
        .require(
            &caller,
            Action::Administer,
            &REGISTRY,
            "authorizations (list)",
        )
        .await?;
    Ok(Json(
        state
            .registry
            .authorizations(None)
            .await?
            .into_iter()
            .map(auth_view)
            .collect(),
    ))
}

/// Record a government authorization of an organization.
#[utoipa::path(post, path = "/api/authorizations", tag = "admin", request_body = NewAuthorization,
    responses((status = 201, body = AuthorizationRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn grant_authorization(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewAuthorization>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .require(
            &caller,
            Action::Administer,
            &REGISTRY,
            "grant authorization",
        )
        .await?;
    let kind = AuthorizationKind::from(req.kind);
    let from = parse_date("valid_from", &req.valid_from)?;
    let to = parse_date("valid_to", &req.valid_to)?;
    let a = state
        .registry
        .grant_authorization(&req.organization, &req.number, kind, from, to)
        .await?;
    Ok((StatusCode::CREATED, Json(auth_view(a))))
}

/// Revoke a government authorization (access through it stops at once).
#[utoipa::path(post, path = "/api/authorizations/{number}/revoke", tag = "admin",
    params(("number" = String, Path)),
    responses((status = 204, description = "revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn revoke_authorization(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(number): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .require(
            &caller,
            Action::Administer,
            &REGISTRY,
            "revoke authorization",
        )
        .await?;
    state.registry.revoke_authorization(&number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordReset {
    /// At least 12 characters; stored as an argon2id hash.
    #[schema(min_length = 12)]
    pub password: String,
}

async fn administer(state: &AppState, caller: &Caller, what: &str) -> Result<(), ApiError> {
    state
        .require(caller, Action::Administer, &REGISTRY, what)
        .await
}

/// Disable a user: every session and token of theirs stops working at the next request.
#[utoipa::path(post, path = "/api/users/{name}/disable", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 204, description = "disabled"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    administer(&state, &caller, &format!("disable user {name}")).await?;
    state.registry.set_disabled(&name, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enable a disabled user again.
#[utoipa::path(post, path = "/api/users/{name}/enable", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 204, description = "enabled"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    administer(&state, &caller, &format!("enable user {name}")).await?;
    state.registry.set_disabled(&name, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's password (a reset by an operator; the user signs in with it).
#[utoipa::path(post, path = "/api/users/{name}/password", tag = "admin", request_body = PasswordReset,
    params(("name" = String, Path)),
    responses((status = 204, description = "set"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    administer(&state, &caller, &format!("reset password of {name}")).await?;
    state.registry.set_password(&name, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Close a project: its members lose access at their next request.
#[utoipa::path(post, path = "/api/projects/{name}/close", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 204, description = "closed"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn close_project(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    administer(&state, &caller, &format!("close project {name}")).await?;
    state.registry.close_project(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
