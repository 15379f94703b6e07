//! Extractors whose rejections are [`ApiError`]s (JSON, documented), instead of axum's
//! plain-text ones.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        if holds_nul(&value) {
            return Err(ApiError::BadRequest(NUL_REFUSED.into()));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
    }
}

/// Text with U+0000 is refused at the edge, for every catalog alike: PostgreSQL's `text`
/// cannot hold it (SQLite's can), and no name, label or purpose needs it.
pub const NUL_REFUSED: &str = "text must not contain NUL (U+0000) characters";

fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A NUL in a path or query string arrives percent-encoded (a URI cannot hold the byte).
fn uri_holds_nul(parts: &Parts) -> bool {
    parts.uri.to_string().contains("%00")
}

pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if uri_holds_nul(parts) {
            return Err(ApiError::BadRequest(NUL_REFUSED.into()));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if uri_holds_nul(parts) {
            return Err(ApiError::BadRequest(NUL_REFUSED.into()));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}
