//! API errors: one JSON shape (`{"error": ..., "rule": ...}`) for every failure, including
//! malformed requests, so clients and the OpenAPI document see the same thing. Internal
//! errors are logged and answered without detail.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use medinfra_govern::{AuditError, RegistryError};
use medinfra_store::StoreError;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// The access rule that denied the request, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first")]
    Unauthorized,
    #[error("access denied")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many login attempts; slow down")]
    TooMany,
    #[error("the audit record could not be written, so the request was not carried out")]
    Audit(String),
    #[error("internal error")]
    Internal(String),
    #[error("the server is busy with other queries (or stopping); try again shortly")]
    Busy,
    /// This client (a signed-in user, or an address for the public) ran its queries'
    /// allowance for the minute.
    #[error("too many queries from this client; try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooMany | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Audit(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        };
        match &self {
            ApiError::Audit(e) => tracing::error!(error = %e, "audit append failed"),
            ApiError::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let rule = match &self {
            ApiError::Forbidden(r) => Some(r.to_string()),
            _ => None,
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.to_string(),
                rule,
            }),
        )
            .into_response();
        if let ApiError::RateLimited { retry_after } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after),
            );
        }
        response
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        ApiError::Audit(e.to_string())
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(_) => ApiError::NotFound(e.to_string()),
            RegistryError::Exists(_) | RegistryError::State(_) => ApiError::Conflict(e.to_string()),
            RegistryError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            RegistryError::BadCredentials => ApiError::Unauthorized,
            RegistryError::Db(_) | RegistryError::Secret(_) | RegistryError::Task => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchDataset(_) | StoreError::NoSuchVersion { .. } => {
                ApiError::NotFound(e.to_string())
            }
            StoreError::InvalidName(_) => ApiError::BadRequest(e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}
