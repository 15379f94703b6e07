//! Server-rendered forms cannot set headers, so a form carries the session's CSRF token as a
//! hidden `_csrf` field; this layer copies it into the `X-CSRF-Token` header, where the API's
//! caller extractor checks it against the session (constant time) exactly as for API calls.
//! Nothing is trusted here: a wrong or missing token is refused by that check.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use medinfra_server::CSRF_HEADER;

/// Largest form body accepted (SQL text and application protocols fit easily).
const MAX_FORM_BYTES: usize = 1 << 20;

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

pub async fn form_token_to_header(req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !is_form(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response(),
    };
    let fields = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).unwrap_or_default();
    // As the API's extractors do: PostgreSQL's text cannot hold U+0000, and no field needs it.
    if fields
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return (
            StatusCode::BAD_REQUEST,
            medinfra_server::extract::NUL_REFUSED,
        )
            .into_response();
    }
    if !parts.headers.contains_key(CSRF_HEADER)
        && let Some(v) = fields
            .into_iter()
            .find(|(k, _)| k == "_csrf")
            .and_then(|(_, t)| HeaderValue::from_str(&t).ok())
    {
        parts.headers.insert(CSRF_HEADER, v);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
