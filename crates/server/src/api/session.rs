//! Sign-in (argon2id password → session cookie + CSRF token), sign-out, who am I, API tokens.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::iso_date;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub username: String,
    pub role: String,
    /// Send this in the `X-CSRF-Token` header with every state-changing request made with the
    /// session cookie.
    pub csrf_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationView {
    pub number: String,
    /// `TypeI` or `TypeII`.
    pub kind: String,
    #[schema(format = Date)]
    pub valid_from: String,
    #[schema(format = Date)]
    pub valid_to: String,
    pub revoked: bool,
    pub valid_today: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub project: String,
    pub tier: String,
    #[schema(format = Date)]
    pub expires: String,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub role: String,
    pub authorization: Option<AuthorizationView>,
    pub memberships: Vec<MembershipView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub label: String,
    /// Days the token lives (1-365, default 30).
    #[schema(minimum = 1, maximum = 365)]
    pub days: Option<i64>,
}

/// An API token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub username: String,
    pub label: String,
    pub created_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub revoked: bool,
    pub expired: bool,
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Operators manage everyone's tokens; everyone else their own.
fn manages_all(caller: &Caller) -> bool {
    medinfra_govern::can(
        &caller.actor,
        medinfra_govern::Action::Administer,
        &medinfra_govern::Resource::of(medinfra_model::Tier::Statistics),
        caller.today,
    )
    .allowed
}

/// The caller's API tokens (an operator's: everyone's).
#[utoipa::path(get, path = "/api/tokens", tag = "session",
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    caller.require_signed_in()?;
    let all = manages_all(&caller);
    let tokens = state
        .registry
        .tokens((!all).then_some(caller.actor.user.as_str()))
        .await?;
    state
        .record(
            &caller.actor.user,
            "list_tokens",
            if all {
                "every api token"
            } else {
                "own api tokens"
            },
            "allowed",
            format!("{} tokens", tokens.len()),
        )
        .await?;
    let now = medinfra_govern::now_unix();
    Ok(Json(
        tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                expires_at: rfc3339(t.expires_at),
                expired: t.expires_at <= now,
                username: t.username,
                label: t.label,
                created_at: t.created_at,
                revoked: t.revoked,
            })
            .collect(),
    ))
}

/// Revoke an API token (one's own; operators any): it stops working at the next request.
#[utoipa::path(post, path = "/api/tokens/{id}/revoke", tag = "session",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiPath(id): crate::extract::ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require_signed_in()?;
    let owner = state
        .registry
        .tokens(None)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(|t| t.username);
    let allowed = manages_all(&caller) || owner.as_deref() == Some(caller.actor.user.as_str());
    state
        .record(
            &caller.actor.user,
            "revoke_token",
            &format!("api token {id}"),
            if allowed { "allowed" } else { "denied" },
            if allowed {
                "rule token-owner-or-operator".into()
            } else {
                "rule token-owner-or-operator (not theirs)".into()
            },
        )
        .await?;
    // Someone else's token and no token at all look the same.
    if !allowed {
        return Err(ApiError::NotFound("no such token".into()));
    }
    state.registry.revoke_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub label: String,
    /// Shown once; send as `Authorization: Bearer <token>`.
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// Sign in.
#[utoipa::path(post, path = "/api/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "signed in; sets the session cookie", body = LoginResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 423, description = "account locked", body = ErrorBody),
        (status = 429, description = "too many attempts from this address", body = ErrorBody),
        (status = 500, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, session) = state
        .sign_in(peer.ip(), &req.username, &req.password, "")
        .await?;
    let cookie = state.session_cookie(&session.token);
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok((
        headers,
        Json(LoginResponse {
            username: user.username,
            role: user.role.as_str().into(),
            csrf_token: session.csrf,
        }),
    ))
}

/// Sign out (ends the session of the cookie).
#[utoipa::path(delete, path = "/api/session", tag = "session",
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_signed_in()?;
    state
        .record(
            &caller.actor.user,
            "logout",
            "session",
            "allowed",
            String::new(),
        )
        .await?;
    if let Some(id) = caller.session {
        state.registry.end_session(id).await?;
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("medinfra_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The caller: role, the organization's authorization, project memberships.
#[utoipa::path(get, path = "/api/session", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    state
        .record(
            &caller.actor.user,
            "read_self",
            "session",
            "allowed",
            String::new(),
        )
        .await?;
    let a = &caller.actor;
    Ok(Json(Me {
        username: a.user.clone(),
        role: a.role.as_str().into(),
        authorization: a.authorization.as_ref().map(|g| AuthorizationView {
            number: g.number.clone(),
            kind: format!("{:?}", g.kind),
            valid_from: iso_date(g.valid_from),
            valid_to: iso_date(g.valid_to),
            revoked: g.revoked,
            valid_today: g.valid_on(caller.today),
        }),
        memberships: a
            .memberships
            .iter()
            .map(|m| MembershipView {
                project: m.project.clone(),
                tier: m.tier.as_str().into(),
                expires: iso_date(m.expires),
                active: m.active,
            })
            .collect(),
    }))
}

/// Create an API token for the caller (shown once, stored as SHA-256).
#[utoipa::path(post, path = "/api/tokens", tag = "session", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    caller.require_signed_in()?;
    if req.label.is_empty() || req.label.len() > 100 {
        return Err(ApiError::BadRequest(
            "label: must be 1-100 characters".into(),
        ));
    }
    state
        .record(
            &caller.actor.user,
            "create_token",
            "api token",
            "allowed",
            String::new(),
        )
        .await?;
    let (token, expires_at) = state
        .registry
        .create_token_for(
            &caller.actor.user,
            &req.label,
            req.days.unwrap_or(medinfra_govern::TOKEN_DAYS),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            label: req.label,
            token,
            expires_at: rfc3339(expires_at),
        }),
    ))
}
