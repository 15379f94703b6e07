//! One module per area of the UI. Handlers take a [`crate::ctx::Ctx`] (who is asking, in which
//! language), get their data from the API's handlers or `medinfra-research`, and render a
//! template.

pub mod admin;
pub mod applications;
pub mod audit;
pub mod catalog;
pub mod home;
pub mod projects;
pub mod releases;
pub mod runs;
pub mod signin;
pub mod workspace;

use axum::extract::State;
use medinfra_server::extract::{ApiPath, ApiQuery};

use crate::ctx::Web;

/// The API's state for calling its handlers.
pub(crate) fn api(web: &Web) -> State<medinfra_server::AppState> {
    State(web.app.clone())
}

pub(crate) fn path<T>(v: T) -> ApiPath<T> {
    ApiPath(v)
}

pub(crate) fn query<T>(v: T) -> ApiQuery<T> {
    ApiQuery(v)
}

/// A redirect after a successful form post (303: the browser follows with GET).
pub(crate) fn see_other(to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response()
}
